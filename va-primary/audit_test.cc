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

TEST_F(AuditLogTest, AppendsDurableLines) {
  const std::string path = dir_ + "/audit.jsonl";
  {
    auto log = AuditLog::Open(path);
    ASSERT_TRUE(log.has_value()) << log.error().detail;
    EXPECT_TRUE(AppendAndWait(**log, "{\"n\":1}").has_value());
    EXPECT_EQ(ReadLines(path), std::vector<std::string>{"{\"n\":1}"});  // there before Close
  }
  auto log = AuditLog::Open(path);  // appends, never truncates
  ASSERT_TRUE(log.has_value());
  EXPECT_TRUE(AppendAndWait(**log, "{\"n\":2}").has_value());
  EXPECT_EQ(ReadLines(path), (std::vector<std::string>{"{\"n\":1}", "{\"n\":2}"}));
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
