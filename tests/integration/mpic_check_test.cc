// `mpic check` as a user runs it (the one test of the command): the real binary against the
// real DNS lab, one JSON object on one line of stdout, exit 0 for any verdict (a timeout too)
// and 2 for bad usage.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "checks/dns_account01.h"
#include "checks/key_authorization.h"
#include "lab/dnslab.h"
#include "tests/integration/command.h"

namespace mpic::testing {
namespace {

using lab::DnsLab;

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kAccount = "https://ca.example/acme/acct/77";
const std::string kKeyAuthorization =
    "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

class MpicCheckTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto lab = DnsLab::Start();
    ASSERT_TRUE(lab) << lab.error();
    lab_ = lab->release();
    auto st = lab_->Set("secure.lab.", "_acme-challenge.cli.secure.lab.", "TXT",
                        {"\"" + checks::Dns01TxtValue(kKeyAuthorization) + "\""});
    ASSERT_TRUE(st.has_value()) << st.error();
    // dns-persist-01 and dns-account-01 (issue 16).
    st = lab_->Set("secure.lab.", "_validation-persist.cli.secure.lab.", "TXT",
                   {"\"ca.example; accounturi=" + std::string(kAccount) + "; policy=wildcard\""});
    ASSERT_TRUE(st.has_value()) << st.error();
    st = lab_->Set("secure.lab.",
                   checks::DnsAccountLabel(kAccount) + "._acme-challenge.cli.secure.lab.", "TXT",
                   {"\"" + checks::Dns01TxtValue(kKeyAuthorization) + "\""});
    ASSERT_TRUE(st.has_value()) << st.error();
  }
  static void TearDownTestSuite() {
    delete lab_;
    lab_ = nullptr;
  }

  CommandResult Check(std::vector<std::string> args) {
    args.insert(args.end(), {"--root-hints", lab_->root_hints_file(), "--trust-anchor",
                             lab_->trust_anchor_file()});
    return CheckRaw(std::move(args));
  }
  // Without the lab's root hints and trust anchor.
  static CommandResult CheckRaw(std::vector<std::string> args) {
    std::vector<std::string> argv = {BinDir() + "/mpic", "check"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, 30s);
  }

  static DnsLab* lab_;
};

DnsLab* MpicCheckTest::lab_ = nullptr;

TEST_F(MpicCheckTest, Dns01ValidWithEvidence) {
  auto r = Check({"--method", "dns-01", "--identifier", "cli.secure.lab", "--key-authorization",
                  kKeyAuthorization});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["method"], "dns-01");
  EXPECT_EQ(j["identifier"], "cli.secure.lab");
  EXPECT_EQ(j["outcome"], "valid");
  ASSERT_EQ(j["evidence"]["txt_values"].size(), 1u);
  EXPECT_EQ(j["evidence"]["txt_values"][0], checks::Dns01TxtValue(kKeyAuthorization));
  EXPECT_TRUE(j["problem"].is_null());
  ASSERT_EQ(j["evidence"]["dns"].size(), 1u);
  EXPECT_EQ(j["evidence"]["dns"][0]["dnssec"], "secure");
  EXPECT_TRUE(j["duration_ms"].is_number());
  EXPECT_EQ(r.out.back(), '\n');
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "exactly one line";
}

TEST_F(MpicCheckTest, Dns01WrongKeyAuthorizationIsUnauthorizedButExitsZero) {
  auto r = Check({"--method", "dns-01", "--identifier", "cli.secure.lab", "--key-authorization",
                  "wrong.key-authorization"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["outcome"], "invalid");
  EXPECT_EQ(j["problem"]["type"], "urn:ietf:params:acme:error:unauthorized");
  EXPECT_FALSE(j["problem"]["detail"].get<std::string>().empty());
}

TEST_F(MpicCheckTest, CaaClimbsToTheApex) {
  // secure.lab. carries CAA 0 issue "ca.example"; names below climb to it (RFC 8659 §3).
  auto allowed = Check({"--method", "caa", "--identifier", "cli.secure.lab", "--caa-issuer",
                        "ca.example"});
  ASSERT_EQ(allowed.exit_code, 0) << allowed.err;
  auto a = json::parse(allowed.out);
  EXPECT_EQ(a["outcome"], "valid");
  EXPECT_EQ(a["evidence"]["caa_name"], "secure.lab.");
  auto denied = Check({"--method", "caa", "--identifier", "cli.secure.lab", "--caa-issuer",
                       "other-ca.example"});
  ASSERT_EQ(denied.exit_code, 0) << denied.err;
  auto d = json::parse(denied.out);
  EXPECT_EQ(d["outcome"], "invalid");
  EXPECT_EQ(d["problem"]["type"], "urn:ietf:params:acme:error:caa");
}

TEST_F(MpicCheckTest, CaaForAWildcardWithAccountUri) {
  auto r = Check({"--method", "caa", "--identifier", "*.deep.secure.lab", "--caa-issuer",
                  "ca.example", "--validation-method", "dns-01", "--account-uri",
                  "https://ca.example/acct/1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["method"], "caa");
  EXPECT_EQ(j["outcome"], "valid") << r.out;
  EXPECT_EQ(j["evidence"]["caa_name"], "secure.lab.");
}

TEST_F(MpicCheckTest, TimeoutIsAVerdict) {
  // dead.lab.'s server never answers: the deadline ends the check, with a dns problem.
  auto r = Check({"--method", "dns-01", "--identifier", "cli.dead.lab", "--key-authorization",
                  kKeyAuthorization, "--timeout-ms", "800"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["outcome"], "invalid");
  EXPECT_EQ(j["problem"]["type"], "urn:ietf:params:acme:error:dns");
}

TEST_F(MpicCheckTest, BogusZoneFailsClosedWithADnsProblem) {
  auto r = Check({"--method", "dns-01", "--identifier", "www.bogus.lab", "--key-authorization",
                  kKeyAuthorization});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["outcome"], "invalid");
  EXPECT_EQ(j["problem"]["type"], "urn:ietf:params:acme:error:dns");
}

TEST_F(MpicCheckTest, MalformedIdentifierIsAMalformedVerdictNotACrash) {
  // What the CA would hand on to the ACME client: a problem document, exit 0.
  auto r = Check({"--method", "dns-01", "--identifier", "bad..name", "--key-authorization",
                  kKeyAuthorization});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["outcome"], "invalid");
  EXPECT_EQ(j["problem"]["type"], "urn:ietf:params:acme:error:malformed");
}

TEST_F(MpicCheckTest, DnsPersist01ValidWithEvidence) {
  auto r = Check({"--method", "dns-persist-01", "--identifier", "*.cli.secure.lab", "--caa-issuer",
                  "ca.example", "--account-uri", kAccount});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["method"], "dns-persist-01");
  EXPECT_EQ(j["outcome"], "valid") << r.out;
  EXPECT_EQ(j["evidence"]["persist_accounturi"], kAccount);
  EXPECT_EQ(j["evidence"]["dns"][0]["name"], "_validation-persist.cli.secure.lab.");
  EXPECT_EQ(j["evidence"]["dns"][0]["dnssec"], "secure");

  // From the parent's record (policy=wildcard) for a name below it.
  r = Check({"--method", "dns-persist-01", "--identifier", "www.cli.secure.lab", "--caa-issuer",
             "ca.example", "--account-uri", kAccount, "--persist-domain", "cli.secure.lab"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["outcome"], "valid") << r.out;

  r = Check({"--method", "dns-persist-01", "--identifier", "cli.secure.lab", "--caa-issuer",
             "ca.example", "--account-uri", "https://ca.example/acme/acct/78"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = json::parse(r.out);
  EXPECT_EQ(j["outcome"], "invalid");
  EXPECT_EQ(j["problem"]["type"], "urn:ietf:params:acme:error:unauthorized");
  EXPECT_EQ(j["evidence"]["persist_records"][0]["verdict"], "unauthorized");
}

TEST_F(MpicCheckTest, DnsAccount01ValidAtTheAccountLabel) {
  auto r = Check({"--method", "dns-account-01", "--identifier", "cli.secure.lab", "--account-uri",
                  kAccount, "--key-authorization", kKeyAuthorization});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["method"], "dns-account-01");
  EXPECT_EQ(j["outcome"], "valid") << r.out;
  EXPECT_EQ(j["evidence"]["dns"][0]["name"],
            checks::DnsAccountLabel(kAccount) + "._acme-challenge.cli.secure.lab.");
}

TEST_F(MpicCheckTest, BadUsageExitsTwoWithAMessage) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--method", "smtp-01", "--identifier", "cli.secure.lab"},
           {"--method", "caa", "--identifier", "cli.secure.lab"},  // no --caa-issuer
           {"--method", "dns-persist-01", "--identifier", "cli.secure.lab", "--account-uri",
            "u"},  // no --caa-issuer
           {"--method", "dns-persist-01", "--identifier", "cli.secure.lab", "--caa-issuer",
            "ca.example"},  // no --account-uri
           {"--method", "dns-persist-01", "--identifier", "cli.secure.lab", "--caa-issuer",
            "ca.example", "--account-uri", "u", "--key-authorization", "x.y"},
           {"--method", "dns-persist-01", "--identifier", "cli.secure.lab", "--caa-issuer",
            "ca.example", "--account-uri", "u", "--account-hash-prefix", "https://h/"},
           {"--method", "dns-account-01", "--identifier", "cli.secure.lab", "--key-authorization",
            "x.y"},  // no --account-uri
           {"--method", "dns-01", "--identifier", "cli.secure.lab", "--key-authorization", "x.y",
            "--persist-domain", "secure.lab"},
           {"--method", "dns-01", "--identifier", "cli.secure.lab", "--key-authorization", "x.y",
            "--require-ad"},  // --require-ad without --stub
       }) {
    auto r = Check(args);
    EXPECT_EQ(r.exit_code, 2) << args[1] << " " << args[3] << ": " << r.out;
    EXPECT_FALSE(r.err.empty());
  }
}

TEST_F(MpicCheckTest, EveryUsageErrorExitsTwoWithNothingOnStdout) {
  const std::string ka = kKeyAuthorization;
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"--identifier", "x.secure.lab", "--key-authorization", ka},
      {"--method", "dns-02", "--identifier", "x.secure.lab"},
      {"--method", "dns-01", "--key-authorization", ka},
      {"--method", "dns-01", "--identifier", "x.secure.lab"},
      {"--method", "http-01", "--identifier", "x.secure.lab", "--key-authorization", ka},
      {"--method", "caa", "--identifier", "x.secure.lab"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka, "--token",
       "abc"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka,
       "--caa-issuer", "ca.example"},
      {"--method", "http-01", "--identifier", "x.secure.lab", "--token", "t", "--wildcard",
       "--key-authorization", ka},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka,
       "--http-port", "8080"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka,
       "--lab-allow", "not-a-cidr"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka,
       "--lab-allow", "127.0.0.0/8", "--http-port", "0"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka,
       "--timeout-ms", "0"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka, "--stub",
       "127.0.0.1", "--root-hints", "/nonexistent"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka,
       "--root-hints", "/nonexistent/root.hints"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka,
       "--no-such-flag"},
      {"--method", "dns-01", "--identifier", "x.secure.lab", "--key-authorization", ka,
       "positional"},
  };
  for (const auto& args : cases) {
    std::string shown;
    for (const auto& a : args) shown += " " + a;
    auto r = CheckRaw(args);
    EXPECT_EQ(r.exit_code, 2) << "mpic check" << shown << "\n" << r.err;
    EXPECT_TRUE(r.out.empty()) << shown << ": " << r.out;
    EXPECT_NE(r.err.find("mpic check: "), std::string::npos) << shown << ": " << r.err;
  }
}

TEST_F(MpicCheckTest, HelpExitsZero) {
  auto r = CheckRaw({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("usage: mpic check"), std::string::npos);
}

}  // namespace
}  // namespace mpic::testing
