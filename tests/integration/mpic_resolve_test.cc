// `mpic resolve` as a user runs it: the real binary against the real DNS lab.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lab/dnslab.h"
#include "tests/integration/command.h"

namespace mpic::testing {
namespace {

using lab::DnsLab;

using namespace std::chrono_literals;
using nlohmann::json;

class MpicResolveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto lab = DnsLab::Start();
    ASSERT_TRUE(lab) << lab.error();
    lab_ = lab->release();
  }
  static void TearDownTestSuite() {
    delete lab_;
    lab_ = nullptr;
  }

  CommandResult Resolve(std::vector<std::string> args) {
    std::vector<std::string> argv = {BinDir() + "/mpic", "resolve"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--root-hints", lab_->root_hints_file(), "--trust-anchor",
                             lab_->trust_anchor_file()});
    return RunCommand(argv, 20s);
  }

  static DnsLab* lab_;
};

DnsLab* MpicResolveTest::lab_ = nullptr;

TEST_F(MpicResolveTest, SecureAnswerAsJson) {
  auto r = Resolve({"www.secure.lab", "A"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["name"], "www.secure.lab.");
  EXPECT_EQ(j["type"], "A");
  EXPECT_EQ(j["rcode"], "NOERROR");
  EXPECT_EQ(j["dnssec"], "secure");
  EXPECT_TRUE(j["why_bogus"].is_null());
  EXPECT_EQ(j["cname_chain"], json::array());
  ASSERT_EQ(j["answers"].size(), 1u);
  EXPECT_EQ(j["answers"][0], "www.secure.lab. 60 IN A " + lab_->block() + ".200");
}

TEST_F(MpicResolveTest, CnameChainAndTxt) {
  auto r = Resolve({"chain1.secure.lab", "A"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["cname_chain"].size(), 3u);
  auto txt = Resolve({"txt.secure.lab", "txt"});
  ASSERT_EQ(txt.exit_code, 0) << txt.err;
  EXPECT_EQ(json::parse(txt.out)["answers"][0], "txt.secure.lab. 60 IN TXT \"part1\" \"part2\"");
}

TEST_F(MpicResolveTest, BogusCompletesWithReason) {
  auto r = Resolve({"www.expired.lab", "A"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["dnssec"], "bogus");
  ASSERT_TRUE(j["why_bogus"].is_string());
  EXPECT_NE(j["why_bogus"].get<std::string>().find("expired"), std::string::npos);
}

TEST_F(MpicResolveTest, NxdomainAndInsecure) {
  auto nx = Resolve({"nonexistent.secure.lab", "A"});
  ASSERT_EQ(nx.exit_code, 0) << nx.err;
  EXPECT_EQ(json::parse(nx.out)["rcode"], "NXDOMAIN");
  auto insecure = Resolve({"www.insecure.lab", "A"});
  ASSERT_EQ(insecure.exit_code, 0);
  EXPECT_EQ(json::parse(insecure.out)["dnssec"], "insecure");
}

TEST_F(MpicResolveTest, TimeoutExitsOne) {
  auto r = Resolve({"www.dead.lab", "A", "--timeout-ms", "800"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(r.err.empty());
  EXPECT_EQ(json::parse(r.out)["timed_out"], true);
}

TEST_F(MpicResolveTest, BadInputExitsTwoWithMessage) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"a..b", "A"},
           {std::string(64, 'a') + ".lab", "A"},
           {"www.secure.lab", "NOTATYPE"},
           {"www.secure.lab"},
           {"www.secure.lab", "A", "--unknown-flag"},
           {"www.secure.lab", "A", "--timeout-ms", "0"},
       }) {
    auto r = Resolve(args);
    EXPECT_EQ(r.exit_code, 2) << args[0];
    EXPECT_NE(r.err.find("mpic resolve:"), std::string::npos);
    EXPECT_TRUE(r.out.empty());
  }
  // A trust anchor that does not parse: a clear error, not a crash.
  auto bad = RunCommand({BinDir() + "/mpic", "resolve", "www.secure.lab", "A", "--root-hints",
                         lab_->root_hints_file(), "--trust-anchor", "/dev/null/nope"},
                        10s);
  EXPECT_EQ(bad.exit_code, 2);
}

TEST_F(MpicResolveTest, StubMode) {
  auto r = RunCommand({BinDir() + "/mpic", "resolve", "www.secure.lab", "A", "--stub",
                       lab_->server("secure")},
                      10s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["dnssec"], "insecure");  // an authoritative server never sets AD
  EXPECT_EQ(j["server"], lab_->server("secure") + ":53");
  auto strict = RunCommand({BinDir() + "/mpic", "resolve", "www.secure.lab", "A", "--stub",
                            lab_->server("secure"), "--require-ad"},
                           10s);
  ASSERT_EQ(strict.exit_code, 0);
  EXPECT_NE(json::parse(strict.out)["error"].get<std::string>().find("AD bit"),
            std::string::npos);
}

}  // namespace
}  // namespace mpic::testing
