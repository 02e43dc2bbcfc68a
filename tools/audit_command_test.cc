// `mpic audit verify`: exit codes and what it prints, on logs written by AuditLog.
#include "tools/audit_command.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <vector>

#include "va-primary/audit.h"

namespace mpic::tools {
namespace {

struct AuditRun {
  int code = -1;
  std::string out;
  std::string err;
};

AuditRun Audit(std::vector<std::string> args) {
  args.insert(args.begin(), {"mpic", "audit"});
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  std::ostringstream out, err;
  AuditRun r;
  r.code = RunAudit(static_cast<int>(argv.size()), argv.data(), 2, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

class AuditCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mpic-audit-command-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/audit.jsonl";
    auto log = va_primary::AuditLog::Open(path_, {.max_bytes = 200, .non_production = {}});
    ASSERT_TRUE(log.has_value()) << log.error().detail;
    for (int i = 1; i <= 4; ++i) {
      std::promise<Status> done;
      (*log)->Append("{\"n\":" + std::to_string(i) + "}",
                     [&done](Status s) { done.set_value(std::move(s)); });
      ASSERT_TRUE(done.get_future().get().has_value());
    }
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  std::vector<std::string> Lines(const std::string& file) {
    std::ifstream in(file);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
  void Write(const std::string& file, const std::vector<std::string>& lines) {
    std::ofstream out(file, std::ios::trunc);
    for (const auto& line : lines) out << line << '\n';
  }

  std::string dir_;
  std::string path_;
};

TEST_F(AuditCommandTest, IntactChainAcrossRotatedFiles) {
  // Two records of 89 bytes per 200-byte file: audit.jsonl.1 and audit.jsonl.
  ASSERT_EQ(Lines(path_ + ".1").size(), 2u);
  ASSERT_EQ(Lines(path_).size(), 2u);
  AuditRun r = Audit({"verify", "--prev", "genesis", path_ + ".1", path_});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("intact: 4 record(s) in 2 file(s), from genesis, head " +
                       va_primary::AuditLineHash(Lines(path_).back())),
            std::string::npos)
      << r.out;
  // Anchoring the head too.
  AuditRun head = Audit(
      {"verify", "--head", va_primary::AuditLineHash(Lines(path_).back()), path_ + ".1", path_});
  EXPECT_EQ(head.code, 0) << head.out << head.err;
}

TEST_F(AuditCommandTest, ChangedRecordIsNamed) {
  auto lines = Lines(path_ + ".1");
  lines[0].replace(lines[0].find("\"n\":1"), 5, "\"n\":5");
  Write(path_ + ".1", lines);
  AuditRun r = Audit({"verify", path_ + ".1", path_});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("BROKEN: " + path_ + ".1:2: does not chain to the record before it (" +
                       path_ + ".1:1)"),
            std::string::npos)
      << r.out;
}

TEST_F(AuditCommandTest, RemovedRecordIsNamed) {
  auto lines = Lines(path_ + ".1");
  Write(path_ + ".1", {lines[0]});
  AuditRun r = Audit({"verify", path_ + ".1", path_});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("BROKEN: " + path_ + ":1: does not chain"), std::string::npos) << r.out;
}

TEST_F(AuditCommandTest, ReorderedRecordsAndFilesAreNamed) {
  auto lines = Lines(path_);
  Write(path_, {lines[1], lines[0]});
  AuditRun r = Audit({"verify", path_ + ".1", path_});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("BROKEN: " + path_ + ":1: does not chain"), std::string::npos) << r.out;
  Write(path_, lines);
  AuditRun files = Audit({"verify", path_, path_ + ".1"});
  EXPECT_EQ(files.code, 1);
  EXPECT_NE(files.out.find("BROKEN: " + path_ + ".1:1: does not chain"), std::string::npos)
      << files.out;
  // Without the older file, only an anchor shows that the log does not start at genesis.
  AuditRun tail = Audit({"verify", path_});
  EXPECT_EQ(tail.code, 0) << tail.out;
  EXPECT_NE(tail.out.find("note: the first record continues an earlier log"), std::string::npos);
  AuditRun anchored = Audit({"verify", "--prev", "genesis", path_});
  EXPECT_EQ(anchored.code, 1);
}

TEST_F(AuditCommandTest, UsageErrors) {
  EXPECT_EQ(Audit({}).code, 2);
  EXPECT_EQ(Audit({"verfy", path_}).code, 2);
  EXPECT_EQ(Audit({"verify"}).code, 2);
  EXPECT_EQ(Audit({"verify", "--prev", "zz", path_}).code, 2);
  AuditRun missing = Audit({"verify", dir_ + "/nope.jsonl"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("nope.jsonl"), std::string::npos) << missing.err;
  AuditRun help = Audit({"verify", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("usage: mpic audit verify"), std::string::npos);
}

}  // namespace
}  // namespace mpic::tools
