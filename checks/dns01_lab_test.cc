// DNS-01 (RFC 8555 §8.4) against the real DNS lab: NSD servers on loopback, DNSSEC-signed
// zones, libunbound recursing from the lab's own root. Every test uses its own names, so the
// tests share one lab.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "checks/key_authorization.h"
#include "checks/testing/check_lab.h"

namespace mpic::checks {
namespace {

using namespace std::chrono_literals;
using testing::LabEnv;
using testing::MakeRequest;
using testing::ProblemName;
using testing::RunOnLab;

[[maybe_unused]] ::testing::Environment* const kLab = LabEnv::Register();

const std::string kExpected = Dns01TxtValue(testing::kKeyAuthorization);

void Set(std::string_view zone, std::string_view name, std::string_view type,
         std::vector<std::string> rdata) {
  auto st = LabEnv::lab()->Set(zone, name, type, std::move(rdata));
  ASSERT_TRUE(st.has_value()) << st.error();
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

TEST(Dns01Lab, CorrectValueIsValid) {
  Set("secure.lab.", "_acme-challenge.d1.secure.lab.", "TXT", {Quoted(kExpected)});
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "d1.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.method, Method::kDns01);
  EXPECT_EQ(r.identifier, "d1.secure.lab");
  EXPECT_EQ(r.evidence.txt_values, std::vector<std::string>{kExpected});
  ASSERT_EQ(r.evidence.lookups.size(), 1u);
  EXPECT_EQ(r.evidence.lookups[0].name, "_acme-challenge.d1.secure.lab.");
  EXPECT_EQ(r.evidence.lookups[0].type, "TXT");
  EXPECT_EQ(r.evidence.lookups[0].dnssec, "secure");
  EXPECT_EQ(r.evidence.lookups[0].rcode, "NOERROR");
}

// The Open MPIC API's key_authorization_hash: the TXT value is the digest's base64url form.
TEST(Dns01Lab, DigestInsteadOfKeyAuthorization) {
  Set("secure.lab.", "_acme-challenge.d1h.secure.lab.", "TXT", {Quoted(kExpected)});
  CheckRequest request = MakeRequest(Method::kDns01, "d1h.secure.lab");
  request.key_authorization.clear();
  request.key_authorization_sha256 = Sha256(testing::kKeyAuthorization);
  CheckResult r = RunOnLab(request);
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  request.key_authorization_sha256 = Sha256("another.key-authorization");
  CheckResult wrong = RunOnLab(request);
  EXPECT_FALSE(wrong.valid);
  EXPECT_EQ(ProblemName(wrong), "unauthorized") << ToJson(wrong).dump();
}

TEST(Dns01Lab, WildcardIsValidatedAtTheBaseName) {
  Set("secure.lab.", "_acme-challenge.d1w.secure.lab.", "TXT", {Quoted(kExpected)});
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "*.d1w.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.identifier, "*.d1w.secure.lab");
}

TEST(Dns01Lab, UpperCaseIdentifierIsNormalized) {
  Set("secure.lab.", "_acme-challenge.d1u.secure.lab.", "TXT", {Quoted(kExpected)});
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "D1U.Secure.LAB"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
}

TEST(Dns01Lab, WrongValuesAreInvalidAndAllListed) {
  Set("secure.lab.", "_acme-challenge.d2.secure.lab.", "TXT",
      {Quoted("wrong-one"), Quoted("wrong-two")});
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "d2.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump();
  EXPECT_NE(r.problem->detail.find("2 values seen"), std::string::npos) << r.problem->detail;
  std::vector<std::string> seen = r.evidence.txt_values;
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"wrong-one", "wrong-two"}));
}

TEST(Dns01Lab, AnyMatchingRecordPasses) {
  Set("secure.lab.", "_acme-challenge.d2b.secure.lab.", "TXT",
      {Quoted("stale-value"), Quoted(kExpected)});
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "d2b.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.evidence.txt_values.size(), 2u);
}

TEST(Dns01Lab, MultiStringRecordIsConcatenated) {
  Set("secure.lab.", "_acme-challenge.d3.secure.lab.", "TXT",
      {Quoted(kExpected.substr(0, 7)) + " " + Quoted(kExpected.substr(7, 20)) + " " +
       Quoted(kExpected.substr(27))});
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "d3.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.evidence.txt_values, std::vector<std::string>{kExpected});
}

TEST(Dns01Lab, CnameIntoInsecureZoneIsFollowed) {
  Set("insecure.lab.", "d4-target.insecure.lab.", "TXT", {Quoted(kExpected)});
  Set("secure.lab.", "_acme-challenge.d4.secure.lab.", "CNAME", {"d4-target.insecure.lab."});
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "d4.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  ASSERT_EQ(r.evidence.lookups.size(), 1u);
  EXPECT_EQ(r.evidence.lookups[0].cname_chain,
            std::vector<std::string>{"_acme-challenge.d4.secure.lab."});
  EXPECT_EQ(r.evidence.lookups[0].dnssec, "insecure");
}

TEST(Dns01Lab, CnameIntoSecureZoneIsFollowed) {
  Set("secure.lab.", "d5-target.secure.lab.", "TXT", {Quoted(kExpected)});
  Set("insecure.lab.", "_acme-challenge.d5.insecure.lab.", "CNAME", {"d5-target.secure.lab."});
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "d5.insecure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  ASSERT_EQ(r.evidence.lookups.size(), 1u);
  EXPECT_EQ(r.evidence.lookups[0].cname_chain,
            std::vector<std::string>{"_acme-challenge.d5.insecure.lab."});
}

TEST(Dns01Lab, CnameChainWithinSecureZone) {
  Set("secure.lab.", "d5c-2.secure.lab.", "TXT", {Quoted(kExpected)});
  Set("secure.lab.", "d5c-1.secure.lab.", "CNAME", {"d5c-2.secure.lab."});
  Set("secure.lab.", "_acme-challenge.d5c.secure.lab.", "CNAME", {"d5c-1.secure.lab."});
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "d5c.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  ASSERT_EQ(r.evidence.lookups.size(), 1u);
  EXPECT_EQ(r.evidence.lookups[0].cname_chain,
            (std::vector<std::string>{"_acme-challenge.d5c.secure.lab.", "d5c-1.secure.lab."}));
  EXPECT_EQ(r.evidence.lookups[0].dnssec, "secure");
}

TEST(Dns01Lab, CnameIntoBogusZoneIsDnsProblem) {
  Set("bogus.lab.", "d6-target.bogus.lab.", "TXT", {Quoted(kExpected)});
  Set("secure.lab.", "_acme-challenge.d6.secure.lab.", "CNAME", {"d6-target.bogus.lab."});
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "d6.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
  EXPECT_TRUE(r.evidence.txt_values.empty());  // bogus data is never data
  ASSERT_EQ(r.evidence.lookups.size(), 1u);
  EXPECT_EQ(r.evidence.lookups[0].dnssec, "bogus");
}

TEST(Dns01Lab, BogusZoneIsDnsProblem) {
  Set("bogus.lab.", "_acme-challenge.d6b.bogus.lab.", "TXT", {Quoted(kExpected)});
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "d6b.bogus.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
}

TEST(Dns01Lab, ExpiredSignaturesAreDnsProblem) {
  Set("expired.lab.", "_acme-challenge.d7.expired.lab.", "TXT", {Quoted(kExpected)});
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "d7.expired.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
  ASSERT_EQ(r.evidence.lookups.size(), 1u);
  EXPECT_EQ(r.evidence.lookups[0].dnssec, "bogus");
}

TEST(Dns01Lab, NxdomainIsUnauthorized) {
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "d8-nothing.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump();
  EXPECT_EQ(r.problem->detail, "No TXT record found at _acme-challenge.d8-nothing.secure.lab");
  ASSERT_EQ(r.evidence.lookups.size(), 1u);
  EXPECT_EQ(r.evidence.lookups[0].rcode, "NXDOMAIN");
  EXPECT_EQ(r.evidence.lookups[0].dnssec, "secure");  // proven by NSEC
}

TEST(Dns01Lab, NoTxtAtExistingNameIsUnauthorized) {
  Set("secure.lab.", "_acme-challenge.d8b.secure.lab.", "A", {"192.0.2.1"});
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "d8b.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump();
  EXPECT_NE(r.problem->detail.find("No TXT record found"), std::string::npos);
}

// Many 255-octet strings: the answer exceeds UDP (TC, TCP retry) and is only compared.
TEST(Dns01Lab, OversizedTxtIsHandled) {
  std::string big;
  for (int i = 0; i < 60; ++i) big += (i ? " " : "") + Quoted(std::string(255, 'a' + i % 26));
  Set("secure.lab.", "_acme-challenge.d9.secure.lab.", "TXT", {big, Quoted(kExpected)});
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "d9.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump().substr(0, 2000);
  ASSERT_EQ(r.evidence.txt_values.size(), 2u);
  size_t longest = std::max(r.evidence.txt_values[0].size(), r.evidence.txt_values[1].size());
  EXPECT_EQ(longest, 60u * 255u);

  Set("secure.lab.", "_acme-challenge.d9b.secure.lab.", "TXT", {big});
  r = RunOnLab(MakeRequest(Method::kDns01, "d9b.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "unauthorized");
  EXPECT_LT(r.problem->detail.size(), 500u) << "the detail quotes a bounded prefix";
}

TEST(Dns01Lab, CnameLoopIsDnsProblem) {
  Set("secure.lab.", "_acme-challenge.d10.secure.lab.", "CNAME", {"loop1.secure.lab."});
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "d10.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
}

TEST(Dns01Lab, ServfailIsDnsProblem) {
  // A lame delegation: secure.lab.'s NSD is not authoritative for the child (REFUSED).
  Set("insecure.lab.", "lame-d.insecure.lab.", "NS", {"ns.lame-d.insecure.lab."});
  Set("insecure.lab.", "ns.lame-d.insecure.lab.", "A", {LabEnv::lab()->server("secure")});
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "x.lame-d.insecure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
  ASSERT_EQ(r.evidence.lookups.size(), 1u);
  EXPECT_EQ(r.evidence.lookups[0].rcode, "SERVFAIL");
}

TEST(Dns01Lab, DeadServerTimesOutWithinTheDeadline) {
  auto start = Clock::now();
  CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "d11.dead.lab", 1500ms));
  auto elapsed = Clock::now() - start;
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
  EXPECT_NE(r.problem->detail.find("timed out"), std::string::npos) << r.problem->detail;
  EXPECT_LT(elapsed, 2500ms);
  EXPECT_GE(r.duration, 1400ms);
}

TEST(Dns01Lab, BadInputFailsBeforeAnyQuery) {
  auto req = MakeRequest(Method::kDns01, "d12.secure.lab");
  req.key_authorization = "not a key authorization";
  CheckResult r = RunOnLab(req);
  EXPECT_EQ(ProblemName(r), "malformed");
  EXPECT_TRUE(r.evidence.lookups.empty());

  const std::string l60(60, 'a');
  const std::string too_long_with_prefix = l60 + "." + l60 + "." + l60 + "." + l60 + ".lab";
  for (const std::string& bad : std::vector<std::string>{
           "", "under_score.secure.lab", "-x.secure.lab", "lab", "1.2.3.4", "a..b.secure.lab",
           "*.*.secure.lab", std::string(250, 'a') + ".lab", too_long_with_prefix}) {
    r = RunOnLab(MakeRequest(Method::kDns01, bad));
    EXPECT_FALSE(r.valid) << bad;
    EXPECT_TRUE(ProblemName(r) == "malformed" || ProblemName(r) == "rejectedIdentifier")
        << bad << ": " << ToJson(r).dump();
    EXPECT_TRUE(r.evidence.lookups.empty()) << bad;
  }
}

}  // namespace
}  // namespace mpic::checks
