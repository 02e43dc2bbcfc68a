// CAA (RFC 8659, RFC 8657, RFC 9495) against the real DNS lab. The lab's secure.lab. apex carries
// `0 issue "ca.example"`; insecure.lab., lab. and the root carry no CAA.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "checks/testing/check_lab.h"

namespace mpic::checks {
namespace {

using namespace std::chrono_literals;
using testing::LabEnv;
using testing::MakeRequest;
using testing::ProblemName;
using testing::RunOnLab;

void Set(std::string_view zone, std::string_view name, std::string_view type,
         std::vector<std::string> rdata) {
  auto st = LabEnv::lab()->Set(zone, name, type, std::move(rdata));
  ASSERT_TRUE(st.has_value()) << st.error();
}

std::vector<std::string> LookupNames(const CheckResult& r) {
  std::vector<std::string> out;
  for (const auto& l : r.evidence.lookups) out.push_back(l.name);
  return out;
}

CheckRequest Caa(std::string identifier, std::chrono::milliseconds timeout = 5s) {
  return MakeRequest(Method::kCaa, std::move(identifier), timeout);
}

TEST(CaaLab, NoCaaAnywhereIsValid) {
  CheckResult r = RunOnLab(Caa("x.y.insecure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.method, Method::kCaa);
  EXPECT_TRUE(r.evidence.caa_name.empty());
  // Every level up to and including the TLD, never the root (RFC 8659 §3).
  EXPECT_EQ(LookupNames(r), (std::vector<std::string>{"x.y.insecure.lab.", "y.insecure.lab.",
                                                      "insecure.lab.", "lab."}));
  for (const auto& l : r.evidence.lookups) EXPECT_EQ(l.type, "CAA");
}

TEST(CaaLab, ApexRecordFoundFromDeepName) {
  CheckResult r = RunOnLab(Caa("a.b.c.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.evidence.caa_name, "secure.lab.");
  ASSERT_EQ(r.evidence.caa_records.size(), 1u);
  EXPECT_NE(r.evidence.caa_records[0].find("CAA 0 issue \"ca.example\""), std::string::npos)
      << r.evidence.caa_records[0];
  // The climb stopped at the first name with records: lab. was not needed.
  EXPECT_EQ(LookupNames(r), (std::vector<std::string>{"a.b.c.secure.lab.", "b.c.secure.lab.",
                                                      "c.secure.lab.", "secure.lab."}));
  EXPECT_EQ(r.evidence.lookups.back().dnssec, "secure");
}

TEST(CaaLab, ApexRecordForbidsAnotherIssuer) {
  auto req = Caa("a.b.secure.lab");
  req.caa_issuer_domains = {"other-ca.example"};
  CheckResult r = RunOnLab(req);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "caa") << ToJson(r).dump();
  EXPECT_EQ(r.evidence.caa_name, "secure.lab.");
  EXPECT_NE(r.problem->detail.find("secure.lab"), std::string::npos) << r.problem->detail;
}

TEST(CaaLab, LowerRecordsShadowTheApex) {
  Set("secure.lab.", "c2.secure.lab.", "CAA", {"0 issue \";\""});
  CheckResult r = RunOnLab(Caa("x.c2.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "caa") << ToJson(r).dump();
  EXPECT_EQ(r.evidence.caa_name, "c2.secure.lab.");
}

TEST(CaaLab, IssuewildGovernsWildcards) {
  Set("secure.lab.", "c3.secure.lab.", "CAA",
      {"0 issue \"ca.example\"", "0 issuewild \"other-ca.example\""});
  CheckResult wild = RunOnLab(Caa("*.c3.secure.lab"));
  EXPECT_FALSE(wild.valid);
  EXPECT_EQ(ProblemName(wild), "caa") << ToJson(wild).dump();
  EXPECT_EQ(wild.evidence.caa_name, "c3.secure.lab.");

  auto flagged = Caa("c3.secure.lab");
  flagged.wildcard = true;
  EXPECT_EQ(ProblemName(RunOnLab(flagged)), "caa");

  CheckResult plain = RunOnLab(Caa("c3.secure.lab"));
  EXPECT_TRUE(plain.valid) << ToJson(plain).dump();

  Set("secure.lab.", "c3b.secure.lab.", "CAA", {"0 issue \";\"", "0 issuewild \"ca.example\""});
  EXPECT_TRUE(RunOnLab(Caa("*.c3b.secure.lab")).valid);
  EXPECT_EQ(ProblemName(RunOnLab(Caa("c3b.secure.lab"))), "caa");
}

TEST(CaaLab, CriticalUnknownTagForbids) {
  Set("secure.lab.", "c4.secure.lab.", "CAA", {"128 tbs \"x\"", "0 issue \"ca.example\""});
  CheckResult r = RunOnLab(Caa("c4.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "caa") << ToJson(r).dump();
  EXPECT_NE(r.problem->detail.find("critical"), std::string::npos) << r.problem->detail;
  EXPECT_EQ(r.evidence.caa_records.size(), 2u);
}

TEST(CaaLab, AccountUriAndValidationMethods) {
  Set("secure.lab.", "c5.secure.lab.", "CAA",
      {"0 issue \"ca.example; accounturi=https://ca.example/acct/7; validationmethods=dns-01\""});
  auto req = Caa("c5.secure.lab");
  req.account_uri = "https://ca.example/acct/7";
  EXPECT_TRUE(RunOnLab(req).valid);

  req = Caa("c5.secure.lab");
  req.account_uri = "https://ca.example/acct/8";
  EXPECT_EQ(ProblemName(RunOnLab(req)), "caa");

  req = Caa("c5.secure.lab");
  req.account_uri = "https://ca.example/acct/7";
  req.caa_validation_method = "http-01";
  EXPECT_EQ(ProblemName(RunOnLab(req)), "caa");
}

// RFC 8659 §3: an alias's target RRset counts for the alias; without one the climb continues
// from the alias's own parent, not the target's.
TEST(CaaLab, CnameTargetRecordsCountForTheAlias) {
  Set("secure.lab.", "c6-target.secure.lab.", "CAA", {"0 issue \"other-ca.example\""});
  Set("insecure.lab.", "c6.insecure.lab.", "CNAME", {"c6-target.secure.lab."});
  CheckResult r = RunOnLab(Caa("c6.insecure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "caa") << ToJson(r).dump();
  EXPECT_EQ(r.evidence.caa_name, "c6.insecure.lab.");
  ASSERT_FALSE(r.evidence.lookups.empty());
  EXPECT_EQ(r.evidence.lookups[0].cname_chain, std::vector<std::string>{"c6.insecure.lab."});

  // www.secure.lab has no CAA of its own; secure.lab.'s apex record does not apply to the alias.
  Set("insecure.lab.", "c6b.insecure.lab.", "CNAME", {"www.secure.lab."});
  auto req = Caa("c6b.insecure.lab");
  req.caa_issuer_domains = {"other-ca.example"};
  CheckResult alias = RunOnLab(req);
  EXPECT_TRUE(alias.valid) << ToJson(alias).dump();
  EXPECT_EQ(LookupNames(alias),
            (std::vector<std::string>{"c6b.insecure.lab.", "insecure.lab.", "lab."}));
}

TEST(CaaLab, BogusZoneDenies) {
  CheckResult r = RunOnLab(Caa("x.bogus.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
  ASSERT_FALSE(r.evidence.lookups.empty());
  EXPECT_EQ(r.evidence.lookups[0].dnssec, "bogus");
  EXPECT_TRUE(r.evidence.caa_name.empty());
}

TEST(CaaLab, CnameIntoBogusDenies) {
  Set("secure.lab.", "c7.secure.lab.", "CNAME", {"www.bogus.lab."});
  CheckResult r = RunOnLab(Caa("c7.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
}

TEST(CaaLab, ExpiredZoneDenies) {
  CheckResult r = RunOnLab(Caa("www.expired.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
}

TEST(CaaLab, TimeoutDeniesWithinTheDeadline) {
  auto start = Clock::now();
  CheckResult r = RunOnLab(Caa("x.dead.lab", 1500ms));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
  EXPECT_NE(r.problem->detail.find("timed out"), std::string::npos) << r.problem->detail;
  EXPECT_LT(Clock::now() - start, 2500ms);
}

TEST(CaaLab, ServfailDenies) {
  // A lame delegation: the delegated server (secure.lab.'s NSD) is not authoritative for the
  // child and answers REFUSED, so the resolver has nowhere to go: SERVFAIL.
  const std::string lame = LabEnv::lab()->server("secure");
  Set("insecure.lab.", "lame.insecure.lab.", "NS", {"ns.lame.insecure.lab."});
  Set("insecure.lab.", "ns.lame.insecure.lab.", "A", {lame});
  CheckResult r = RunOnLab(Caa("x.lame.insecure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
  ASSERT_FALSE(r.evidence.lookups.empty());
  EXPECT_EQ(r.evidence.lookups[0].name, "x.lame.insecure.lab.");
  EXPECT_EQ(r.evidence.lookups[0].rcode, "SERVFAIL") << ToJson(r).dump();
}

// RFC 9495: for S/MIME only issuemail governs; issue/issuewild do not restrict it, and a
// critical tag this CA does not know still forbids everything (RFC 8659 §4.1).
TEST(CaaLab, IssuemailGovernsSmime) {
  CheckRequest smime = Caa("c8.secure.lab");
  smime.caa_smime = true;
  // Permit: issuemail names us, while issue names nobody.
  Set("secure.lab.", "c8.secure.lab.", "CAA", {"0 issue \";\"", "0 issuemail \"ca.example\""});
  CheckResult permit = RunOnLab(smime);
  EXPECT_TRUE(permit.valid) << ToJson(permit).dump();
  EXPECT_EQ(permit.evidence.caa_name, "c8.secure.lab.");
  EXPECT_EQ(ProblemName(RunOnLab(Caa("c8.secure.lab"))), "caa");  // the TLS view: issue ";"

  // Deny: issuemail names another CA (issue naming us does not help).
  Set("secure.lab.", "c8.secure.lab.", "CAA",
      {"0 issue \"ca.example\"", "0 issuemail \"other-ca.example\""});
  CheckResult deny = RunOnLab(smime);
  EXPECT_FALSE(deny.valid);
  EXPECT_EQ(ProblemName(deny), "caa") << ToJson(deny).dump();
  EXPECT_NE(deny.problem->detail.find("issuemail"), std::string::npos) << deny.problem->detail;
  EXPECT_TRUE(RunOnLab(Caa("c8.secure.lab")).valid);  // TLS: issue names us

  // No issuemail at all (the apex's issue only): no restriction for S/MIME.
  CheckRequest apex = Caa("x.c9.secure.lab");
  apex.caa_smime = true;
  apex.caa_issuer_domains = {"other-ca.example"};
  CheckResult unrestricted = RunOnLab(apex);
  EXPECT_TRUE(unrestricted.valid) << ToJson(unrestricted).dump();
  EXPECT_EQ(unrestricted.evidence.caa_name, "secure.lab.");

  // A critical unknown tag forbids S/MIME too; a critical issuemail is understood.
  Set("secure.lab.", "c8.secure.lab.", "CAA", {"128 tbs \"x\"", "0 issuemail \"ca.example\""});
  EXPECT_EQ(ProblemName(RunOnLab(smime)), "caa");
  Set("secure.lab.", "c8.secure.lab.", "CAA",
      {"128 issuemail \"other-ca.example\"", "0 issue \"ca.example\""});
  EXPECT_EQ(ProblemName(RunOnLab(smime)), "caa");
  EXPECT_TRUE(RunOnLab(Caa("c8.secure.lab")).valid);

  // Email addresses have no wildcard form.
  CheckRequest wild = Caa("*.c8.secure.lab");
  wild.caa_smime = true;
  CheckResult refused = RunOnLab(wild);
  EXPECT_EQ(ProblemName(refused), "malformed") << ToJson(refused).dump();
  EXPECT_TRUE(refused.evidence.lookups.empty());
}

TEST(CaaLab, IpAndBadIdentifiersAreRejected) {
  CheckResult ip = RunOnLab(Caa("192.0.2.1"));
  EXPECT_EQ(ProblemName(ip), "rejectedIdentifier") << ToJson(ip).dump();
  EXPECT_TRUE(ip.evidence.lookups.empty());
  CheckResult bad = RunOnLab(Caa("bad_name.secure.lab"));
  EXPECT_EQ(ProblemName(bad), "malformed");
  EXPECT_TRUE(bad.evidence.lookups.empty());
}

}  // namespace
}  // namespace mpic::checks
