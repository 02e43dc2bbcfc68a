#include "va-primary/audit.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace mpic::va_primary {
namespace {

v1::ValidateResponse SampleResponse() {
  v1::ValidateResponse r;
  r.set_request_id("0123456789abcdef0123456789abcdef");
  r.set_decision(v1::CORROBORATED);
  r.set_quorum("2/3");
  r.set_policy("BR 3.2.2.9 phase 2026-03-15 (min 3 remotes, ≤1 non-corroborating, ≥2 RIRs)");
  r.set_phase("2026-03-15");
  r.set_enforced(true);
  v1::PerspectiveResult* p = r.mutable_primary();
  p->mutable_perspective()->set_name("nyc");
  p->set_status(v1::ANSWERED);
  p->set_corroborates(true);
  p->mutable_dcv()->set_valid(true);
  p->mutable_dcv()->mutable_evidence()->add_txt_values("line\nbreak \"quoted\"");
  const struct {
    const char* name;
    v1::PerspectiveStatus status;
    bool corroborates;
  } remotes[] = {
      {"fra", v1::ANSWERED, true}, {"syd", v1::ANSWERED, true}, {"sao", v1::CANCELLED, false}};
  for (const auto& remote : remotes) {
    v1::PerspectiveResult* x = r.add_remotes();
    x->mutable_perspective()->set_name(remote.name);
    x->set_status(remote.status);
    x->set_corroborates(remote.corroborates);
    x->set_latency_ms(12.5);
    if (remote.status == v1::CANCELLED) x->set_error("still running: cancelled");
  }
  return r;
}

AuditInfo SampleInfo() {
  AuditInfo info;
  info.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1773576000123));
  info.identifier = "www.example.com";
  info.method = "dns-01";
  info.checks = {"dcv", "caa"};
  info.attempt = 1;
  info.reason = "quorum met";
  return info;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(AuditTest, Rfc3339) {
  EXPECT_EQ(
      Rfc3339Utc(std::chrono::system_clock::time_point(std::chrono::milliseconds(1773576000123))),
      "2026-03-15T12:00:00.123Z");
}

TEST(AuditTest, RecordIsOneParseableLineWithEveryPerspective) {
  auto line = FormatAuditRecord(SampleInfo(), SampleResponse());
  ASSERT_TRUE(line.has_value()) << line.error().detail;
  EXPECT_EQ(line->find('\n'), std::string::npos);
  auto j = nlohmann::json::parse(*line);
  EXPECT_EQ(j["time"], "2026-03-15T12:00:00.123Z");
  EXPECT_EQ(j["request_id"], "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(j["identifier"], "www.example.com");
  EXPECT_EQ(j["method"], "dns-01");
  EXPECT_EQ(j["attempt"], 1);
  EXPECT_EQ(j["decision"], "CORROBORATED");
  EXPECT_EQ(j["quorum"], "2/3");
  EXPECT_EQ(j["phase"], "2026-03-15");
  EXPECT_EQ(j["enforced"], true);
  EXPECT_EQ(j["checks"], (nlohmann::json{"dcv", "caa"}));
  const auto& response = j["response"];
  EXPECT_EQ(response["primary"]["status"], "ANSWERED");
  EXPECT_EQ(response["primary"]["dcv"]["evidence"]["txt_values"][0], "line\nbreak \"quoted\"");
  ASSERT_EQ(response["remotes"].size(), 3u);
  EXPECT_EQ(response["remotes"][2]["perspective"]["name"], "sao");
  EXPECT_EQ(response["remotes"][2]["status"], "CANCELLED");
  EXPECT_EQ(response["remotes"][2]["corroborates"], false);  // explicit, not omitted
  EXPECT_EQ(response["remotes"][0]["latency_ms"], 12.5);
  EXPECT_FALSE(j.contains("trace_id"));  // none given
}

TEST(AuditTest, TraceIdFollowsTheRequestId) {
  AuditInfo info = SampleInfo();
  info.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  auto line = FormatAuditRecord(info, SampleResponse());
  ASSERT_TRUE(line.has_value()) << line.error().detail;
  auto j = nlohmann::ordered_json::parse(*line);
  EXPECT_EQ(j["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  auto it = j.begin();
  ASSERT_EQ((++it).key(), "request_id");
  EXPECT_EQ((++it).key(), "trace_id");
}

class AuditLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/va-primary-audit-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

Status AppendAndWait(AuditLog& log, std::string line) {
  std::promise<Status> done;
  auto future = done.get_future();
  log.Append(std::move(line), [&done](Status s) { done.set_value(std::move(s)); });
  EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  return future.get();
}

// `record` (a one-line object) as the writer stores it after a record hashing to `prev`.
std::string Chained(std::string_view record, std::string_view prev) {
  std::string line(record.substr(0, record.size() - 1));
  if (line.size() > 1) line += ',';
  return line + "\"prev_sha256\":\"" + std::string(prev) + "\"}";
}

AuditVerifyOptions Anchors(std::string prev, std::string head) {
  AuditVerifyOptions options;
  options.expect_prev = std::move(prev);
  options.expect_head = std::move(head);
  return options;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const auto& line : lines) out << line << '\n';
}

TEST_F(AuditLogTest, AppendsDurableChainedLines) {
  const std::string path = dir_ + "/audit.jsonl";
  const std::string first = Chained("{\"n\":1}", kAuditGenesis);
  {
    auto log = AuditLog::Open(path);
    ASSERT_TRUE(log.has_value()) << log.error().detail;
    EXPECT_TRUE(AppendAndWait(**log, "{\"n\":1}").has_value());
    EXPECT_EQ(ReadLines(path), std::vector<std::string>{first});  // there before Close
  }
  auto log = AuditLog::Open(path);  // appends, never truncates, and the chain continues
  ASSERT_TRUE(log.has_value());
  EXPECT_TRUE(AppendAndWait(**log, "{}").has_value());
  const std::string second = Chained("{}", AuditLineHash(first));
  EXPECT_EQ(second, "{\"prev_sha256\":\"" + AuditLineHash(first) + "\"}");
  EXPECT_EQ(ReadLines(path), (std::vector<std::string>{first, second}));
}

TEST(AuditChain, LineHashIsSha256OfTheBytes) {
  // FIPS 180-2 example "abc".
  EXPECT_EQ(AuditLineHash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(AuditLogTest, RejectsLinesThatAreNotOneObject) {
  auto log = AuditLog::Open(dir_ + "/a.jsonl");
  ASSERT_TRUE(log.has_value());
  EXPECT_FALSE(AppendAndWait(**log, "[1]").has_value());
  EXPECT_FALSE(AppendAndWait(**log, "{\n}").has_value());
  EXPECT_FALSE(AppendAndWait(**log, "").has_value());
}

// Writes n records {"n":1}..{"n":n} through an AuditLog; returns the stored lines.
std::vector<std::string> WriteRecords(const std::string& path, int n,
                                      AuditLogOptions options = {}) {
  auto log = AuditLog::Open(path, options);
  EXPECT_TRUE(log.has_value()) << log.error().detail;
  if (!log) return {};
  for (int i = 1; i <= n; ++i) {
    EXPECT_TRUE(AppendAndWait(**log, "{\"n\":" + std::to_string(i) + "}").has_value());
  }
  (*log)->Close();
  return ReadLines(path);
}

TEST_F(AuditLogTest, VerifierAcceptsAnIntactChain) {
  const std::string path = dir_ + "/audit.jsonl";
  auto lines = WriteRecords(path, 5);
  ASSERT_EQ(lines.size(), 5u);
  auto report = VerifyAuditChain({path});
  ASSERT_TRUE(report.has_value()) << report.error().detail;
  EXPECT_TRUE(report->intact) << report->problem;
  EXPECT_EQ(report->records, 5u);
  EXPECT_EQ(report->first_prev, kAuditGenesis);
  EXPECT_EQ(report->head, AuditLineHash(lines.back()));
  // Anchored at both ends.
  auto anchored = VerifyAuditChain({path}, Anchors(std::string(kAuditGenesis), report->head));
  ASSERT_TRUE(anchored.has_value());
  EXPECT_TRUE(anchored->intact) << anchored->problem;
}

TEST_F(AuditLogTest, VerifierFindsAChangedRecord) {
  const std::string path = dir_ + "/audit.jsonl";
  auto lines = WriteRecords(path, 5);
  ASSERT_EQ(lines.size(), 5u);
  // Record 3 says something else; still valid JSON with its original prev_sha256.
  lines[2].replace(lines[2].find("\"n\":3"), 5, "\"n\":9");
  WriteLines(path, lines);
  auto report = VerifyAuditChain({path});
  ASSERT_TRUE(report.has_value());
  EXPECT_FALSE(report->intact);
  EXPECT_NE(
      report->problem.find(path + ":4: does not chain to the record before it (" + path + ":3)"),
      std::string::npos)
      << report->problem;
}

TEST_F(AuditLogTest, VerifierFindsARemovedRecord) {
  const std::string path = dir_ + "/audit.jsonl";
  auto lines = WriteRecords(path, 5);
  ASSERT_EQ(lines.size(), 5u);
  lines.erase(lines.begin() + 2);
  WriteLines(path, lines);
  auto report = VerifyAuditChain({path});
  ASSERT_TRUE(report.has_value());
  EXPECT_FALSE(report->intact);
  EXPECT_NE(report->problem.find(path + ":3: does not chain"), std::string::npos)
      << report->problem;
}

TEST_F(AuditLogTest, VerifierFindsReorderedRecords) {
  const std::string path = dir_ + "/audit.jsonl";
  auto lines = WriteRecords(path, 5);
  ASSERT_EQ(lines.size(), 5u);
  std::swap(lines[1], lines[2]);
  WriteLines(path, lines);
  auto report = VerifyAuditChain({path});
  ASSERT_TRUE(report.has_value());
  EXPECT_FALSE(report->intact);
  EXPECT_NE(report->problem.find(path + ":2: does not chain"), std::string::npos)
      << report->problem;
}

TEST_F(AuditLogTest, VerifierNeedsAnchorsForTheEnds) {
  const std::string path = dir_ + "/audit.jsonl";
  auto lines = WriteRecords(path, 4);
  ASSERT_EQ(lines.size(), 4u);
  const std::string head = AuditLineHash(lines.back());
  // The first record removed: only an anchored start (genesis) shows it.
  WriteLines(path, {lines.begin() + 1, lines.end()});
  auto unanchored = VerifyAuditChain({path});
  ASSERT_TRUE(unanchored.has_value());
  EXPECT_TRUE(unanchored->intact);
  EXPECT_NE(unanchored->first_prev, kAuditGenesis);
  auto from_genesis = VerifyAuditChain({path}, Anchors(std::string(kAuditGenesis), ""));
  ASSERT_TRUE(from_genesis.has_value());
  EXPECT_FALSE(from_genesis->intact);
  EXPECT_NE(from_genesis->problem.find(path + ":1: the first record chains from"),
            std::string::npos)
      << from_genesis->problem;
  // The last record changed (or removed): only a known head shows it.
  lines.back().replace(lines.back().find("\"n\":4"), 5, "\"n\":7");
  WriteLines(path, lines);
  auto with_head = VerifyAuditChain({path}, Anchors("", head));
  ASSERT_TRUE(with_head.has_value());
  EXPECT_FALSE(with_head->intact);
  EXPECT_NE(with_head->problem.find(path + ":4: the last record hashes to"), std::string::npos)
      << with_head->problem;
  WriteLines(path, {lines.begin(), lines.end() - 1});
  auto removed_last = VerifyAuditChain({path}, Anchors("", head));
  ASSERT_TRUE(removed_last.has_value());
  EXPECT_FALSE(removed_last->intact);
}

TEST_F(AuditLogTest, VerifierFindsTornAndForeignLines) {
  const std::string path = dir_ + "/audit.jsonl";
  auto lines = WriteRecords(path, 3);
  ASSERT_EQ(lines.size(), 3u);
  WriteLines(path, {lines[0], "{\"n\":2}", lines[2]});  // no chain field
  auto foreign = VerifyAuditChain({path});
  ASSERT_TRUE(foreign.has_value());
  EXPECT_FALSE(foreign->intact);
  EXPECT_NE(foreign->problem.find(path + ":2: no prev_sha256"), std::string::npos)
      << foreign->problem;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << lines[0] << '\n' << lines[1].substr(0, 10);  // cut short, no '\n'
  }
  auto torn = VerifyAuditChain({path});
  ASSERT_TRUE(torn.has_value());
  EXPECT_FALSE(torn->intact);
  EXPECT_NE(torn->problem.find(path + ":2: the last record has no end of line"), std::string::npos)
      << torn->problem;
  EXPECT_FALSE(VerifyAuditChain({dir_ + "/missing.jsonl"}).has_value());
}

TEST_F(AuditLogTest, ReopenAfterACutLineEndsItAndChainsOverIt) {
  const std::string path = dir_ + "/audit.jsonl";
  auto lines = WriteRecords(path, 2);
  ASSERT_EQ(lines.size(), 2u);
  {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << "{\"n\":3,\"cut";  // a crash in the middle of a write
  }
  auto after = WriteRecords(path, 1);
  ASSERT_EQ(after.size(), 4u);
  EXPECT_EQ(after[2], "{\"n\":3,\"cut");
  EXPECT_EQ(after[3], Chained("{\"n\":1}", AuditLineHash("{\"n\":3,\"cut")));
  auto report = VerifyAuditChain({path});
  ASSERT_TRUE(report.has_value());
  EXPECT_FALSE(report->intact);  // the torn record is reported, not hidden
  EXPECT_NE(report->problem.find(path + ":3: not a JSON object"), std::string::npos)
      << report->problem;
}

TEST_F(AuditLogTest, RotatesBetweenRecordsAndChainsAcrossFiles) {
  const std::string path = dir_ + "/audit.jsonl";
  // Each record is 106 bytes with its chain field and newline: three fit in 320 bytes.
  constexpr uint64_t kMax = 320;
  const std::string padding(10, 'x');
  {
    auto log = AuditLog::Open(path, {.max_bytes = kMax, .non_production = {}});
    ASSERT_TRUE(log.has_value()) << log.error().detail;
    for (int i = 1; i <= 10; ++i) {
      ASSERT_TRUE(
          AppendAndWait(**log, "{\"n\":" + std::to_string(i % 10) + ",\"p\":\"" + padding + "\"}"));
    }
  }
  std::vector<std::string> files;
  for (int i = 1; i <= 3; ++i) files.push_back(path + "." + std::to_string(i));
  files.push_back(path);
  EXPECT_FALSE(std::ifstream(path + ".4").good());
  size_t total = 0;
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary | std::ios::ate);
    ASSERT_TRUE(in.good()) << file;
    EXPECT_LE(static_cast<uint64_t>(in.tellg()), kMax) << file;
    for (const std::string& line : ReadLines(file)) {
      EXPECT_TRUE(nlohmann::json::accept(line)) << file << ": " << line;  // never split
      ++total;
    }
  }
  EXPECT_EQ(total, 10u);
  auto report = VerifyAuditChain(files, Anchors(std::string(kAuditGenesis), ""));
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->intact) << report->problem;
  EXPECT_EQ(report->records, 10u);
  // Files given out of order, or one missing, break the chain at a file boundary.
  auto swapped = VerifyAuditChain({files[1], files[0], files[2], files[3]});
  ASSERT_TRUE(swapped.has_value());
  EXPECT_FALSE(swapped->intact);
  EXPECT_NE(swapped->problem.find(files[0] + ":1: does not chain"), std::string::npos)
      << swapped->problem;
  auto gap = VerifyAuditChain({files[0], files[2], files[3]});
  ASSERT_TRUE(gap.has_value());
  EXPECT_FALSE(gap->intact);

  // A restart after a rotation left the current file empty: the chain continues from the
  // newest rotated file, which gets the next number.
  ASSERT_EQ(std::rename(path.c_str(), (path + ".4").c_str()), 0);
  files.insert(files.end() - 1, path + ".4");
  auto log = AuditLog::Open(path, {.max_bytes = kMax, .non_production = {}});
  ASSERT_TRUE(log.has_value());
  ASSERT_TRUE(AppendAndWait(**log, "{\"n\":11}"));
  (*log)->Close();
  auto continued = VerifyAuditChain(files, Anchors(std::string(kAuditGenesis), ""));
  ASSERT_TRUE(continued.has_value());
  EXPECT_TRUE(continued->intact) << continued->problem;
  EXPECT_EQ(continued->records, 11u);
}

// Issue 15, defect 6: a lab primary's records say so, inside the hashed line.
TEST_F(AuditLogTest, NonProductionRecordsSaySoAndStillChain) {
  const std::string path = dir_ + "/audit.jsonl";
  AuditLogOptions options;
  options.non_production = {"lab mode: special-purpose ranges allowed (127.0.0.0/8)"};
  auto lines = WriteRecords(path, 3, options);
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& line : lines) {
    const auto record = nlohmann::json::parse(line);
    EXPECT_EQ(record.at("non_production"), true) << line;
    EXPECT_EQ(record.at("non_production_reasons").at(0),
              "lab mode: special-purpose ranges allowed (127.0.0.0/8)");
  }
  EXPECT_EQ(lines[0].find("{\"n\":1,\"non_production\":true,"), 0u) << lines[0];
  auto report = VerifyAuditChain({path});
  ASSERT_TRUE(report.has_value()) << report.error().detail;
  EXPECT_TRUE(report->intact) << report->problem;
  EXPECT_EQ(report->records, 3u);
  // Production: no such field.
  const std::string plain = dir_ + "/plain.jsonl";
  auto production = WriteRecords(plain, 1);
  ASSERT_EQ(production.size(), 1u);
  EXPECT_EQ(production[0].find("non_production"), std::string::npos);
}

TEST_F(AuditLogTest, RecordLargerThanTheLimitGetsAFileOfItsOwn) {
  const std::string path = dir_ + "/audit.jsonl";
  auto log = AuditLog::Open(path, {.max_bytes = 100, .non_production = {}});
  ASSERT_TRUE(log.has_value());
  ASSERT_TRUE(AppendAndWait(**log, "{\"n\":1}"));
  ASSERT_TRUE(AppendAndWait(**log, "{\"big\":\"" + std::string(300, 'y') + "\"}"));
  ASSERT_TRUE(AppendAndWait(**log, "{\"n\":3}"));
  (*log)->Close();
  EXPECT_EQ(ReadLines(path + ".1").size(), 1u);
  EXPECT_EQ(ReadLines(path + ".2").size(), 1u);
  EXPECT_EQ(ReadLines(path).size(), 1u);
  auto report = VerifyAuditChain({path + ".1", path + ".2", path});
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->intact) << report->problem;
}

TEST_F(AuditLogTest, ConcurrentAppendsAreWholeLines) {
  const std::string path = dir_ + "/audit.jsonl";
  auto log = AuditLog::Open(path);
  ASSERT_TRUE(log.has_value());
  constexpr int kThreads = 4, kPerThread = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        nlohmann::json j{{"t", t}, {"i", i}, {"pad", std::string(500, 'x')}};
        if (AppendAndWait(**log, j.dump())) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  (*log)->Close();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  auto lines = ReadLines(path);
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kPerThread));
  for (const auto& l : lines) EXPECT_TRUE(nlohmann::json::accept(l)) << l;
  auto report = VerifyAuditChain({path});  // one chain in the order written
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->intact) << report->problem;
}

TEST_F(AuditLogTest, WriteFailureIsReported) {
  auto log = AuditLog::Open("/dev/full");  // every write fails with ENOSPC
  ASSERT_TRUE(log.has_value()) << log.error().detail;
  Status s = AppendAndWait(**log, "{}");
  ASSERT_FALSE(s.has_value());
  EXPECT_NE(s.error().detail.find("write"), std::string::npos);
}

TEST_F(AuditLogTest, AppendAfterCloseFails) {
  auto log = AuditLog::Open(dir_ + "/a.jsonl");
  ASSERT_TRUE(log.has_value());
  (*log)->Close();
  EXPECT_FALSE(AppendAndWait(**log, "{}").has_value());
}

TEST_F(AuditLogTest, OpenFailure) {
  EXPECT_FALSE(AuditLog::Open(dir_ + "/missing/dir/a.jsonl").has_value());
}

}  // namespace
}  // namespace mpic::va_primary
