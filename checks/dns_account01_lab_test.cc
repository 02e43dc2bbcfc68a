// dns-account-01 (draft-ietf-acme-dns-account-label; BR §3.2.2.4.21) against the real DNS lab.
// The lab environment is registered by dns_persist01_lab_test.cc (one lab per binary).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "checks/dns_account01.h"
#include "checks/testing/check_lab.h"
#include "checks/key_authorization.h"

namespace mpic::checks {
namespace {

using namespace std::chrono_literals;
using testing::LabEnv;
using testing::MakeRequest;
using testing::ProblemName;
using testing::RunOnLab;

constexpr const char* kAccount = "https://ca.example/acme/acct/4711";
constexpr const char* kOtherAccount = "https://ca.example/acme/acct/4712";
const std::string kExpected = Dns01TxtValue(testing::kKeyAuthorization);

void Set(std::string_view zone, std::string_view name, std::string_view type,
         std::vector<std::string> rdata) {
  auto st = LabEnv::lab()->Set(zone, name, type, std::move(rdata));
  ASSERT_TRUE(st.has_value()) << st.error();
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// "_<label>._acme-challenge.<base>."
std::string NameFor(std::string_view account, std::string_view base) {
  return DnsAccountLabel(account) + "._acme-challenge." + std::string(base) + ".";
}

CheckRequest Account(std::string identifier, std::string account = kAccount) {
  CheckRequest r = MakeRequest(Method::kDnsAccount01, std::move(identifier));
  r.account_uri = std::move(account);
  r.caa_validation_method = "dns-account-01";
  return r;
}

TEST(DnsAccount01Lab, RecordAtTheAccountLabelIsValid) {
  Set("secure.lab.", NameFor(kAccount, "a1.secure.lab"), "TXT", {Quoted(kExpected)});
  CheckResult r = RunOnLab(Account("a1.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.method, Method::kDnsAccount01);
  ASSERT_EQ(r.evidence.lookups.size(), 1u);
  EXPECT_EQ(r.evidence.lookups[0].name, NameFor(kAccount, "a1.secure.lab"));
  EXPECT_EQ(r.evidence.lookups[0].dnssec, "secure");
  EXPECT_EQ(r.evidence.txt_values, std::vector<std::string>{kExpected});
  EXPECT_EQ(ToJson(r)["method"], "dns-account-01");
}

TEST(DnsAccount01Lab, OtherAccountsAndPlainDns01RecordsDoNotCount) {
  // Two accounts validate the same name side by side, each at its own label.
  Set("secure.lab.", NameFor(kOtherAccount, "a2.secure.lab"), "TXT", {Quoted(kExpected)});
  Set("secure.lab.", "_acme-challenge.a2.secure.lab.", "TXT", {Quoted(kExpected)});
  CheckResult r = RunOnLab(Account("a2.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump();
  EXPECT_EQ(r.evidence.lookups.at(0).rcode, "NXDOMAIN");
  r = RunOnLab(Account("a2.secure.lab", kOtherAccount));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
}

TEST(DnsAccount01Lab, WrongDigestIsUnauthorized) {
  Set("secure.lab.", NameFor(kAccount, "a3.secure.lab"), "TXT",
      {Quoted("stale"), Quoted(kExpected + "x")});
  CheckResult r = RunOnLab(Account("a3.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump();
  EXPECT_NE(r.problem->detail.find("2 values seen"), std::string::npos) << r.problem->detail;
}

TEST(DnsAccount01Lab, WildcardIsValidatedAtTheBaseName) {
  Set("secure.lab.", NameFor(kAccount, "a4.secure.lab"), "TXT", {Quoted(kExpected)});
  CheckResult r = RunOnLab(Account("*.a4.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.identifier, "*.a4.secure.lab");
}

// The applicant delegates the account's challenge name to a zone its ACME client may write,
// and keeps the credentials for the main zone off the web server.
TEST(DnsAccount01Lab, CnameDelegationToAnotherZoneIsFollowed) {
  Set("insecure.lab.", "a5-acme.insecure.lab.", "TXT", {Quoted(kExpected)});
  Set("secure.lab.", NameFor(kAccount, "a5.secure.lab"), "CNAME", {"a5-acme.insecure.lab."});
  CheckResult r = RunOnLab(Account("a5.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.evidence.lookups.at(0).cname_chain,
            std::vector<std::string>{NameFor(kAccount, "a5.secure.lab")});
  EXPECT_EQ(r.evidence.lookups.at(0).dnssec, "insecure");
}

TEST(DnsAccount01Lab, BogusAndExpiredSignaturesAreDnsProblems) {
  Set("bogus.lab.", "a6-target.bogus.lab.", "TXT", {Quoted(kExpected)});
  Set("secure.lab.", NameFor(kAccount, "a6.secure.lab"), "CNAME", {"a6-target.bogus.lab."});
  CheckResult r = RunOnLab(Account("a6.secure.lab"));
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
  EXPECT_TRUE(r.evidence.txt_values.empty());
  Set("expired.lab.", NameFor(kAccount, "a6e.expired.lab"), "TXT", {Quoted(kExpected)});
  r = RunOnLab(Account("a6e.expired.lab"));
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
}

TEST(DnsAccount01Lab, BadInputFailsBeforeAnyQuery) {
  std::vector<CheckRequest> bad;
  bad.push_back(Account("a7.secure.lab", ""));
  bad.push_back(Account("a7.secure.lab"));
  bad.back().key_authorization = "not a key authorization";
  for (const char* id : {"", "1.2.3.4", "_x.secure.lab", "*.*.secure.lab"}) {
    bad.push_back(Account(id));
  }
  for (auto& req : bad) {
    std::string id = req.identifier;
    CheckResult r = RunOnLab(std::move(req));
    EXPECT_FALSE(r.valid) << id;
    EXPECT_TRUE(ProblemName(r) == "malformed" || ProblemName(r) == "rejectedIdentifier")
        << id << ": " << ToJson(r).dump();
    EXPECT_TRUE(r.evidence.lookups.empty()) << id;
  }
}

}  // namespace
}  // namespace mpic::checks
