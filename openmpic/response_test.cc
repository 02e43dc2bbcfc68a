#include "openmpic/response.h"

#include <gtest/gtest.h>

#include "openmpic/testing/samples.h"

namespace mpic::openmpic {
namespace {

using json = nlohmann::json;

TEST(EncodeResponseTest, Http01Corroborated) {
  auto sample = testing::HttpSample(/*valid=*/true);
  json body = EncodeResponse(sample.request, sample.orchestration, sample.result);
  EXPECT_EQ(body["is_valid"], true);
  EXPECT_EQ(body["mpic_completed"], true);
  EXPECT_EQ(body["check_type"], "dcv");
  EXPECT_EQ(body["domain_or_ip_target"], "www.Example.com");
  EXPECT_EQ(body["trace_identifier"], "trace-1");
  EXPECT_TRUE(body["request_orchestration_parameters"].is_null());
  EXPECT_EQ(body["actual_orchestration_parameters"],
            (json{{"perspective_count", 4}, {"quorum_count", 3}, {"attempt_count", 1}}));
  EXPECT_TRUE(body["previous_attempt_results"].is_null());
  EXPECT_EQ(body["dcv_check_parameters"]["validation_method"], "acme-http-01");
  ASSERT_EQ(body["perspectives"].size(), 5u);  // the primary, then the remotes
  const json& primary = body["perspectives"][0];
  EXPECT_EQ(primary["perspective_code"], "primary");
  const json& check = primary["check_response"];
  EXPECT_EQ(check["check_type"], "dcv");
  EXPECT_EQ(check["check_passed"], true);
  EXPECT_EQ(check["check_completed"], true);
  EXPECT_EQ(check["timestamp_ns"], 1765000000123456789);
  EXPECT_TRUE(check["errors"].is_null());
  const json& details = check["details"];
  EXPECT_EQ(details["validation_method"], "acme-http-01");
  ASSERT_EQ(details["response_history"].size(), 1u);
  EXPECT_EQ(details["response_history"][0],
            (json{{"status_code", 302},
                  {"url", "http://www.example.com/.well-known/acme-challenge/tok"}}));
  EXPECT_EQ(details["response_url"], "http://www.example.com/final");
  EXPECT_EQ(details["response_status_code"], 200);
  EXPECT_EQ(details["resolved_ip"], "192.0.2.10");
  EXPECT_EQ(details["response_page"], "dG9rLnRodW1i");  // base64("tok.thumb")
  EXPECT_EQ(body["mpic"]["decision"], "corroborated");
  EXPECT_EQ(body["mpic"]["quorum"], "4/4");
}

TEST(EncodeResponseTest, FailuresAreNeverValid) {
  auto sample = testing::HttpSample(/*valid=*/false);
  json body = EncodeResponse(sample.request, sample.orchestration, sample.result);
  EXPECT_EQ(body["is_valid"], false);
  const json& remote = body["perspectives"][1]["check_response"];
  EXPECT_EQ(remote["check_passed"], false);
  EXPECT_EQ(remote["check_completed"], true);
  ASSERT_EQ(remote["errors"].size(), 1u);
  EXPECT_EQ(remote["errors"][0]["error_type"], "validation:acme-http-01");
  EXPECT_NE(remote["errors"][0]["error_message"].get<std::string>().find("unauthorized"),
            std::string::npos);
  // A timed-out perspective: not completed, with the reason.
  const json& late = body["perspectives"][4]["check_response"];
  EXPECT_EQ(late["check_completed"], false);
  EXPECT_EQ(late["check_passed"], false);
  EXPECT_EQ(late["errors"][0]["error_type"], "perspective:timed-out");
  EXPECT_TRUE(late["details"]["response_history"].is_null());
  // An unset decision (fault) is not valid either.
  sample.result.final.response.set_decision(v1::DECISION_UNSPECIFIED);
  body = EncodeResponse(sample.request, sample.orchestration, sample.result);
  EXPECT_EQ(body["is_valid"], false);
}

TEST(EncodeResponseTest, MpicCompletedCountsIncompletePerspectives) {
  auto sample = testing::HttpSample(/*valid=*/false);  // one remote timed out; quorum 3 of 4
  json body = EncodeResponse(sample.request, sample.orchestration, sample.result);
  EXPECT_EQ(body["mpic_completed"], true);
  sample.result.final.response.mutable_remotes(0)->set_status(v1::RPC_ERROR);
  body = EncodeResponse(sample.request, sample.orchestration, sample.result);
  EXPECT_EQ(body["mpic_completed"], false);  // two incomplete, one allowed
}

TEST(EncodeResponseTest, Dns01DetailsAndPreviousAttempts) {
  auto sample = testing::DnsSample();
  json body = EncodeResponse(sample.request, sample.orchestration, sample.result);
  EXPECT_EQ(body["actual_orchestration_parameters"]["attempt_count"], 2);
  ASSERT_TRUE(body["previous_attempt_results"].is_array());
  ASSERT_EQ(body["previous_attempt_results"].size(), 1u);
  EXPECT_EQ(body["previous_attempt_results"][0].size(), 5u);
  EXPECT_EQ(body["request_orchestration_parameters"],
            (json{{"perspective_count", 4},
                  {"quorum_count", nullptr},
                  {"max_attempts", 2},
                  {"cohort_for_single_attempt", nullptr}}));
  const json& details = body["perspectives"][1]["check_response"]["details"];
  EXPECT_EQ(details["validation_method"], "acme-dns-01");
  EXPECT_EQ(details["records_seen"], json::array({"abc"}));
  EXPECT_EQ(details["response_code"], 0);
  EXPECT_EQ(details["ad_flag"], true);
  EXPECT_EQ(details["found_at"], "_acme-challenge.example.com");
  EXPECT_EQ(details["cname_chain"], json::array({"alias.example.net"}));
}

TEST(EncodeResponseTest, CaaDetails) {
  auto sample = testing::CaaSample();
  json body = EncodeResponse(sample.request, sample.orchestration, sample.result);
  EXPECT_EQ(body["check_type"], "caa");
  EXPECT_TRUE(body.contains("caa_check_parameters"));
  EXPECT_FALSE(body.contains("dcv_check_parameters"));
  const json& found = body["perspectives"][0]["check_response"]["details"];
  EXPECT_EQ(found["caa_record_present"], true);
  EXPECT_EQ(found["found_at"], "example.com");
  EXPECT_EQ(found["records_seen"], json::array({"0 issue \"ca.example\""}));
  const json& none = body["perspectives"][1]["check_response"]["details"];
  EXPECT_EQ(none["caa_record_present"], false);
  EXPECT_TRUE(none["found_at"].is_null());
  EXPECT_EQ(none["records_seen"], json::array());
}

TEST(EncodeResponseTest, TlsAlpnCommonName) {
  v1::PerspectiveResult result;
  result.mutable_perspective()->set_name("eu-1");
  result.set_status(v1::ANSWERED);
  result.mutable_dcv()->set_method(v1::TLS_ALPN_01);
  result.mutable_dcv()->set_valid(true);
  result.mutable_dcv()->mutable_evidence()->add_cert_sans("example.com");
  json p = EncodePerspective(result, CheckType::kDcv, "acme-tls-alpn-01", 5);
  EXPECT_EQ(p["check_response"]["details"],
            (json{{"validation_method", "acme-tls-alpn-01"}, {"common_name", "example.com"}}));
  EXPECT_EQ(p["check_response"]["check_passed"], true);
}

TEST(EncodeResponseTest, RcodeNumbers) {
  EXPECT_EQ(RcodeNumber("NOERROR"), 0);
  EXPECT_EQ(RcodeNumber("SERVFAIL"), 2);
  EXPECT_EQ(RcodeNumber("NXDOMAIN"), 3);
  EXPECT_FALSE(RcodeNumber(""));
  EXPECT_FALSE(RcodeNumber("BOGUS"));
}

}  // namespace
}  // namespace mpic::openmpic
