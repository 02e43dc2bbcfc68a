#include "proto/json_writer.h"

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "mpic/v1/config.pb.h"
#include "mpic/v1/primary.pb.h"

namespace mpic::proto {
namespace {

// What protobuf's own printer makes of `message` with the audit log's options.
nlohmann::json Reference(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string json;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(message, &json, options).ok());
  return nlohmann::json::parse(json);
}

nlohmann::json Ours(const google::protobuf::Message& message) {
  std::string json;
  auto st = AppendProtoJson(message, &json);
  EXPECT_TRUE(st.has_value()) << st.error().detail;
  return nlohmann::json::parse(json);
}

v1::ValidateResponse Populated() {
  v1::ValidateResponse r;
  r.set_request_id("abc");
  r.set_decision(v1::NOT_CORROBORATED);
  r.mutable_problem()->set_detail("quorum \"not\" met\n\ttab \\ backslash \x01 control");
  r.set_quorum("1/3");
  auto* p = r.mutable_primary();
  p->mutable_perspective()->set_name("us-east-iad-1");
  p->mutable_perspective()->set_rir(v1::ARIN);
  p->mutable_perspective()->mutable_location()->set_latitude(39.0438);
  p->mutable_perspective()->mutable_location()->set_longitude(-77.4874);
  p->set_status(v1::ANSWERED);
  p->set_latency_ms(0.1 + 0.2);  // not exactly representable: shortest round trip matters
  auto* dcv = p->mutable_dcv();
  dcv->set_valid(true);
  dcv->mutable_evidence()->add_txt_values("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x94\x92");
  dcv->mutable_evidence()->add_addresses_resolved("192.0.2.1");
  auto* lookup = dcv->mutable_evidence()->add_lookups();
  lookup->set_name("example.com.");
  lookup->set_elapsed_ms(1e-7);
  auto* remote = r.add_remotes();
  remote->set_status(v1::TIMED_OUT);
  remote->set_error("deadline");
  remote->set_latency_ms(1e300);
  r.add_remotes();  // all defaults
  return r;
}

TEST(JsonWriterTest, MatchesProtobufPrinterOnAPopulatedResponse) {
  auto r = Populated();
  EXPECT_EQ(Ours(r), Reference(r));
}

TEST(JsonWriterTest, MatchesProtobufPrinterOnAnEmptyResponse) {
  v1::ValidateResponse empty;
  EXPECT_EQ(Ours(empty), Reference(empty));
}

TEST(JsonWriterTest, MatchesProtobufPrinterOnAConfigWithOneofAndRepeatedScalars) {
  v1::PrimaryConfig config;
  config.mutable_resolver()->mutable_stub()->set_server("127.0.0.1:53");
  config.mutable_lab()->add_allow_cidrs("127.0.0.0/8");
  config.mutable_lab()->add_allow_cidrs("10.0.0.0/8");
  config.set_remote_timeout_ms(4294967295u);
  EXPECT_EQ(Ours(config), Reference(config));
}

TEST(JsonWriterTest, InvalidUtf8IsReplacedSoTheOutputStaysJson) {
  std::string out;
  AppendJsonString("ok \xff \xc0\xaf \xed\xa0\x80 end\xe2\x82", &out);
  auto parsed = nlohmann::json::parse(out);  // throws on invalid UTF-8
  const std::string replacement = "\xEF\xBF\xBD";
  EXPECT_EQ(parsed.get<std::string>(), "ok " + replacement + " " + replacement + replacement + " " +
                                           replacement + replacement + replacement + " end" +
                                           replacement + replacement);
}

TEST(JsonWriterTest, EscapesBetweenPlainRunsKeepEveryByteInOrder) {
  std::string out;
  AppendJsonString(std::string("a\"b\\c\nd\re\tf\x01g\x7fh\0i caf\xc3\xa9", 23), &out);
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u007fh\\u0000i caf\xc3\xa9\"");
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(),
            std::string("a\"b\\c\nd\re\tf\x01g\x7fh\0i caf\xc3\xa9", 23));
  for (const char* edge : {"", "\"", "plain", "\x1f"}) {
    out.clear();
    AppendJsonString(edge, &out);
    EXPECT_TRUE(nlohmann::json::accept(out)) << out;
    EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), edge);
  }
}

TEST(JsonWriterTest, Utf8BoundariesAreKeptExactly) {
  // The smallest and largest sequence of each length, and the last code points before the
  // surrogates and after them: all valid, all passed through unchanged.
  for (std::string valid : {"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
                            "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"}) {
    std::string out;
    AppendJsonString(valid, &out);
    EXPECT_EQ(out, "\"" + valid + "\"");
  }
  // Above U+10FFFF, overlong 3- and 4-byte forms, a lone continuation byte, 0xF5..0xFF.
  for (std::string invalid : {"\xf4\x90\x80\x80", "\xe0\x9f\xbf", "\xf0\x8f\xbf\xbf", "\x80",
                              "\xf5\x80\x80\x80", "\xff"}) {
    std::string out;
    AppendJsonString(invalid, &out);
    EXPECT_EQ(out.find(invalid), std::string::npos) << out;
    EXPECT_TRUE(nlohmann::json::accept(out)) << out;
  }
}

TEST(JsonWriterTest, NonFiniteDoublesAreProto3Strings) {
  std::string out;
  AppendJsonDouble(std::numeric_limits<double>::quiet_NaN(), &out);
  out += ",";
  AppendJsonDouble(-std::numeric_limits<double>::infinity(), &out);
  EXPECT_EQ(out, "\"NaN\",\"-Infinity\"");
}

}  // namespace
}  // namespace mpic::proto
