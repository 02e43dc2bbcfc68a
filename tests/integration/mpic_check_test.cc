// `mpic check` as a user runs it: the real binary against the real DNS lab, one JSON object
// on stdout, exit 0 for any verdict and 2 for bad usage.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "checks/dns_account01.h"
#include "checks/key_authorization.h"
#include "tests/dnslab/dnslab.h"
#include "tests/integration/command.h"

namespace mpic::testing {
namespace {

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
    std::vector<std::string> argv = {BinDir() + "/mpic", "check"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--root-hints", lab_->root_hints_file(), "--trust-anchor",
                             lab_->trust_anchor_file()});
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
  EXPECT_TRUE(j.contains("duration_ms"));
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

}  // namespace
}  // namespace mpic::testing
