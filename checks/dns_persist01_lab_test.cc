// dns-persist-01 (draft-ietf-acme-dns-persist; BR §3.2.2.4.22) against the real DNS lab: NSD on
// loopback with signed, unsigned, bogus and expired zones, libunbound recursing from the lab's
// own root. Every test uses its own names, so the tests share one lab.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "checks/testing/check_lab.h"
#include "checks/internal/persist_record.h"

namespace mpic::checks {
namespace {

using namespace std::chrono_literals;
using testing::LabEnv;
using testing::MakeRequest;
using testing::ProblemName;
using testing::RunOnLab;

[[maybe_unused]] ::testing::Environment* const kLab = LabEnv::Register();

constexpr const char* kAccount = "https://ca.example/acme/acct/4711";

void Set(std::string_view zone, std::string_view name, std::string_view type,
         std::vector<std::string> rdata) {
  auto st = LabEnv::lab()->Set(zone, name, type, std::move(rdata));
  ASSERT_TRUE(st.has_value()) << st.error();
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string Record(std::string_view extra = "") {
  return "ca.example; accounturi=" + std::string(kAccount) + std::string(extra);
}

CheckRequest Persist(std::string identifier, std::chrono::milliseconds timeout = 5s) {
  CheckRequest r = MakeRequest(Method::kDnsPersist01, std::move(identifier), timeout);
  r.key_authorization.clear();  // dns-persist-01 has no token
  r.account_uri = kAccount;
  r.caa_validation_method = "dns-persist-01";
  return r;
}

TEST(DnsPersist01Lab, MatchingRecordIsValidWithEvidence) {
  Set("secure.lab.", "_validation-persist.p1.secure.lab.", "TXT",
      {Quoted(Record("; persistUntil=4102444800"))});
  CheckResult r = RunOnLab(Persist("p1.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.method, Method::kDnsPersist01);
  ASSERT_EQ(r.evidence.lookups.size(), 1u);
  EXPECT_EQ(r.evidence.lookups[0].name, "_validation-persist.p1.secure.lab.");
  EXPECT_EQ(r.evidence.lookups[0].type, "TXT");
  EXPECT_EQ(r.evidence.lookups[0].dnssec, "secure");
  EXPECT_EQ(r.evidence.persist_accounturi, kAccount);
  EXPECT_EQ(r.evidence.persist_until, 4102444800);
  ASSERT_EQ(r.evidence.persist_records.size(), 1u);
  EXPECT_EQ(r.evidence.persist_records[0].verdict, "authorizes");
  auto j = ToJson(r);
  EXPECT_EQ(j["method"], "dns-persist-01");
  EXPECT_EQ(j["evidence"]["persist_accounturi"], kAccount);
  EXPECT_EQ(j["evidence"]["persist_records"][0]["verdict"], "authorizes");
}

TEST(DnsPersist01Lab, RecordSplitIntoSeveralStringsIsJoined) {
  std::string v = Record("; policy=wildcard; note=" + std::string(300, 'n'));
  Set("secure.lab.", "_validation-persist.p2.secure.lab.", "TXT",
      {Quoted(v.substr(0, 150)) + " " + Quoted(v.substr(150, 150)) + " " + Quoted(v.substr(300))});
  CheckResult r = RunOnLab(Persist("p2.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
}

TEST(DnsPersist01Lab, WildcardNeedsPolicyWildcard) {
  Set("secure.lab.", "_validation-persist.p3.secure.lab.", "TXT", {Quoted(Record())});
  CheckResult r = RunOnLab(Persist("*.p3.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump();
  EXPECT_NE(r.problem->detail.find("needs policy=wildcard"), std::string::npos)
      << r.problem->detail;
  EXPECT_EQ(r.evidence.lookups.at(0).name, "_validation-persist.p3.secure.lab.");

  Set("secure.lab.", "_validation-persist.p3w.secure.lab.", "TXT",
      {Quoted(Record("; policy=Wildcard"))});
  r = RunOnLab(Persist("*.p3w.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
}

TEST(DnsPersist01Lab, SubdomainIsValidatedAtTheParentOnlyWithPolicyWildcard) {
  Set("secure.lab.", "_validation-persist.p4.secure.lab.", "TXT", {Quoted(Record())});
  CheckRequest req = Persist("www.dept.p4.secure.lab");
  req.persist_domain = "p4.secure.lab";
  CheckResult r = RunOnLab(req);
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump();
  EXPECT_EQ(r.evidence.lookups.at(0).name, "_validation-persist.p4.secure.lab.");

  Set("secure.lab.", "_validation-persist.p4w.secure.lab.", "TXT",
      {Quoted(Record("; policy=wildcard"))});
  req = Persist("www.dept.p4w.secure.lab");
  req.persist_domain = "P4W.secure.lab";
  r = RunOnLab(req);
  EXPECT_TRUE(r.valid) << ToJson(r).dump();

  req = Persist("www.p4w.secure.lab");  // a persist domain that is not a parent: no query
  req.persist_domain = "other.secure.lab";
  r = RunOnLab(req);
  EXPECT_EQ(ProblemName(r), "malformed");
  EXPECT_TRUE(r.evidence.lookups.empty());
}

TEST(DnsPersist01Lab, ExpiredPersistUntilIsUnauthorized) {
  Set("secure.lab.", "_validation-persist.p5.secure.lab.", "TXT",
      {Quoted(Record("; persistUntil=1721952000"))});
  CheckResult r = RunOnLab(Persist("p5.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump();
  EXPECT_NE(r.problem->detail.find("persistUntil=1721952000 has passed"), std::string::npos)
      << r.problem->detail;
}

TEST(DnsPersist01Lab, DuplicateOrBadParametersAreMalformed) {
  Set("secure.lab.", "_validation-persist.p6.secure.lab.", "TXT",
      {Quoted(Record("; accounturi=https://ca.example/acme/acct/1")),
       Quoted(Record("; persistUntil=soon"))});
  CheckResult r = RunOnLab(Persist("p6.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "malformed") << ToJson(r).dump();
  ASSERT_EQ(r.evidence.persist_records.size(), 2u);
  EXPECT_EQ(r.evidence.persist_records[0].verdict, "malformed");
  EXPECT_EQ(r.evidence.persist_records[1].verdict, "malformed");
}

TEST(DnsPersist01Lab, OtherCasRecordsAreIgnoredAndOneGoodRecordPasses) {
  Set("secure.lab.", "_validation-persist.p7.secure.lab.", "TXT",
      {Quoted("other-ca.example; accounturi=" + std::string(kAccount) + "; policy=wildcard")});
  CheckResult r = RunOnLab(Persist("p7.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump();
  EXPECT_NE(r.problem->detail.find("none names this CA's issuer domain name ca.example"),
            std::string::npos)
      << r.problem->detail;

  Set("secure.lab.", "_validation-persist.p7b.secure.lab.", "TXT",
      {Quoted("other-ca.example; accounturi=" + std::string(kAccount)),
       Quoted("ca.example; accounturi=https://ca.example/acme/acct/1"), Quoted(Record())});
  r = RunOnLab(Persist("p7b.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.evidence.persist_records.size(), 3u);
  EXPECT_EQ(r.evidence.txt_values.size(), 3u);
}

TEST(DnsPersist01Lab, CnameIntoInsecureZoneIsFollowed) {
  Set("insecure.lab.", "p8-target.insecure.lab.", "TXT", {Quoted(Record())});
  Set("secure.lab.", "_validation-persist.p8.secure.lab.", "CNAME", {"p8-target.insecure.lab."});
  CheckResult r = RunOnLab(Persist("p8.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  ASSERT_EQ(r.evidence.lookups.size(), 1u);
  EXPECT_EQ(r.evidence.lookups[0].cname_chain,
            std::vector<std::string>{"_validation-persist.p8.secure.lab."});
  EXPECT_EQ(r.evidence.lookups[0].dnssec, "insecure");
}

TEST(DnsPersist01Lab, CnameChainWithinSecureZone) {
  Set("secure.lab.", "p8c-2.secure.lab.", "TXT", {Quoted(Record())});
  Set("secure.lab.", "p8c-1.secure.lab.", "CNAME", {"p8c-2.secure.lab."});
  Set("secure.lab.", "_validation-persist.p8c.secure.lab.", "CNAME", {"p8c-1.secure.lab."});
  CheckResult r = RunOnLab(Persist("p8c.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.evidence.lookups.at(0).cname_chain.size(), 2u);
  EXPECT_EQ(r.evidence.lookups.at(0).dnssec, "secure");
}

TEST(DnsPersist01Lab, BogusSignaturesAreDnsProblems) {
  Set("bogus.lab.", "p9-target.bogus.lab.", "TXT", {Quoted(Record())});
  Set("secure.lab.", "_validation-persist.p9.secure.lab.", "CNAME", {"p9-target.bogus.lab."});
  CheckResult r = RunOnLab(Persist("p9.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
  EXPECT_TRUE(r.evidence.persist_records.empty()) << "bogus data is never data";
  EXPECT_EQ(r.evidence.lookups.at(0).dnssec, "bogus");

  Set("bogus.lab.", "_validation-persist.p9b.bogus.lab.", "TXT", {Quoted(Record())});
  r = RunOnLab(Persist("p9b.bogus.lab"));
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();

  Set("expired.lab.", "_validation-persist.p9e.expired.lab.", "TXT", {Quoted(Record())});
  r = RunOnLab(Persist("p9e.expired.lab"));
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
  EXPECT_EQ(r.evidence.lookups.at(0).dnssec, "bogus");
}

TEST(DnsPersist01Lab, NoRecordIsUnauthorized) {
  CheckResult r = RunOnLab(Persist("p10-nothing.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump();
  EXPECT_EQ(r.problem->detail, "No TXT record found at _validation-persist.p10-nothing.secure.lab");
  EXPECT_EQ(r.evidence.lookups.at(0).rcode, "NXDOMAIN");
  EXPECT_EQ(r.evidence.lookups.at(0).dnssec, "secure");
}

TEST(DnsPersist01Lab, HugeTxtSetIsHandled) {
  std::vector<std::string> records;
  for (int i = 0; i < 40; ++i) {
    records.push_back(
        Quoted("ca.example; accounturi=https://ca.example/acme/acct/" + std::to_string(i)) + " " +
        Quoted("; pad=" + std::string(240, 'a' + i % 26)));  // <= 255 octets
  }
  Set("secure.lab.", "_validation-persist.p11.secure.lab.", "TXT", records);
  CheckResult r = RunOnLab(Persist("p11.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump().substr(0, 2000);
  EXPECT_EQ(r.evidence.persist_records.size(), 40u);
  EXPECT_LT(r.problem->detail.size(), 3000u);

  records.push_back(Quoted(Record()));
  Set("secure.lab.", "_validation-persist.p11b.secure.lab.", "TXT", records);
  r = RunOnLab(Persist("p11b.secure.lab"));
  EXPECT_TRUE(r.valid) << ToJson(r).dump().substr(0, 2000);
}

TEST(DnsPersist01Lab, NonAsciiAndNulOctetsAreEscapedAndRefused) {
  Set("secure.lab.", "_validation-persist.p12.secure.lab.", "TXT",
      {"\"ca.example; accounturi=" + std::string(kAccount) + "\\000; policy=wildcard\"",
       "\"ca.example; accounturi=https://ca.example/acme/acct/\\195\\169\""});
  CheckResult r = RunOnLab(Persist("p12.secure.lab"));
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "malformed") << ToJson(r).dump();
  std::vector<std::string> seen = r.evidence.txt_values;
  std::sort(seen.begin(), seen.end());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_NE(seen[0].find("\\000"), std::string::npos) << seen[0];
  EXPECT_NE(seen[1].find("\\195\\169"), std::string::npos) << seen[1];
  EXPECT_FALSE(ToJson(r).dump().empty());
}

TEST(DnsPersist01Lab, HashedAccountUri) {
  const std::string thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
  const std::string prefix = "https://ca.example/account-hash/";
  const std::string hashed =
      internal::PersistHashedAccountUri(prefix, "p13.secure.lab", thumbprint, kAccount);
  Set("secure.lab.", "_validation-persist.p13.secure.lab.", "TXT",
      {Quoted("ca.example; accounturi=" + hashed)});
  CheckRequest req = Persist("p13.secure.lab");
  req.account_hash_prefix = prefix;
  req.account_key_thumbprints = {thumbprint};
  CheckResult r = RunOnLab(req);
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.evidence.persist_accounturi, hashed);

  // The same record does not validate a plain-URL CA, and a plain URL does not validate a
  // hashed-URI CA.
  r = RunOnLab(Persist("p13.secure.lab"));
  EXPECT_EQ(ProblemName(r), "unauthorized") << ToJson(r).dump();
  Set("secure.lab.", "_validation-persist.p13b.secure.lab.", "TXT", {Quoted(Record())});
  req.identifier = "p13b.secure.lab";
  req.deadline = Clock::now() + 5s;
  r = RunOnLab(req);
  EXPECT_EQ(ProblemName(r), "malformed") << ToJson(r).dump();
}

TEST(DnsPersist01Lab, BadRequestsFailBeforeAnyQuery) {
  std::vector<CheckRequest> bad;
  bad.push_back(Persist("p14.secure.lab"));
  bad.back().caa_issuer_domains.clear();
  bad.push_back(Persist("p14.secure.lab"));
  bad.back().caa_issuer_domains.assign(11, "ca.example");
  bad.push_back(Persist("p14.secure.lab"));
  bad.back().caa_issuer_domains = {"not a name"};
  bad.push_back(Persist("p14.secure.lab"));
  bad.back().account_uri.clear();
  bad.push_back(Persist("p14.secure.lab"));
  bad.back().account_hash_prefix = "https://ca.example/h/";  // no thumbprints
  bad.push_back(Persist("p14.secure.lab"));
  bad.back().account_hash_prefix = "https://ca.example/h/";
  bad.back().account_key_thumbprints = {"short"};
  for (const char* id : {"", "1.2.3.4", "under_score.secure.lab", "*.*.secure.lab", "lab"}) {
    bad.push_back(Persist(id));
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

TEST(DnsPersist01Lab, DeadServerIsDnsProblemByTheDeadline) {
  CheckResult r = RunOnLab(Persist("p15.dead.lab", 1500ms));  // fails the test if no verdict
  EXPECT_FALSE(r.valid);
  EXPECT_EQ(ProblemName(r), "dns") << ToJson(r).dump();
  EXPECT_NE(r.problem->detail.find("timed out"), std::string::npos) << r.problem->detail;
}

}  // namespace
}  // namespace mpic::checks
