// The dns-persist-01 record parser and evaluator (checks/internal/persist_record.h), rule by
// rule, with hostile values; and the dns-account-01 label (checks/dns_account01.h).
#include "checks/internal/persist_record.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "checks/dns_account01.h"
#include "common/dns_name.h"

namespace mpic::checks::internal {
namespace {

using namespace std::string_literals;

constexpr const char* kAccount = "https://ca.example/acct/123";
constexpr int64_t kNow = 1'800'000'000;

PersistPolicy Policy(std::string validated = "example.com", std::string requested = "",
                     bool wildcard = false) {
  PersistPolicy p;
  p.issuer_domains = {"ca.example", "authority.example"};
  p.account_uri = kAccount;
  p.validated_fqdn = validated;
  p.requested_fqdn = requested.empty() ? validated : requested;
  p.wildcard = wildcard;
  p.now_unix = kNow;
  return p;
}

PersistDecision Eval(std::vector<std::string> values, const PersistPolicy& policy = Policy()) {
  return EvaluatePersistValues(values, policy);
}

std::string Rec(std::string_view params) {
  return "ca.example; accounturi=" + std::string(kAccount) + std::string(params);
}

// ---- parsing ------------------------------------------------------------------------------

TEST(PersistRecordParse, BasicRecord) {
  auto r = ParsePersistRecord("authority.example; accounturi=https://ca.example/acct/123");
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  EXPECT_EQ(r->issuer_domain, "authority.example");
  EXPECT_EQ(r->account_uri, "https://ca.example/acct/123");
  EXPECT_FALSE(r->policy_wildcard);
  EXPECT_FALSE(r->persist_until.has_value());
}

TEST(PersistRecordParse, AllParametersAndBlanks) {
  auto r = ParsePersistRecord(
      " \tCA.Example ;accounturi = https://x/1 ;\tpolicy=wildcard; persistUntil=1721952000 ");
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  EXPECT_EQ(r->issuer_domain, "ca.example");
  EXPECT_EQ(r->account_uri, "https://x/1");
  EXPECT_TRUE(r->policy_wildcard);
  EXPECT_EQ(r->persist_until, 1721952000);
}

TEST(PersistRecordParse, PolicyValueIsCaseInsensitiveAndOthersAreAbsent) {
  EXPECT_TRUE(ParsePersistRecord(Rec("; policy=WildCard"))->policy_wildcard);
  for (const char* other :
       {"; policy=wildcards", "; policy=", "; policy=exact", "; policy=wildcard,exact"}) {
    auto r = ParsePersistRecord(Rec(other));
    ASSERT_TRUE(r.has_value()) << other << ": " << r.error().detail;
    EXPECT_FALSE(r->policy_wildcard) << other;
  }
}

TEST(PersistRecordParse, TagsAreCaseInsensitive) {
  auto r =
      ParsePersistRecord("ca.example; AccountURI=https://x/1; PERSISTUNTIL=5; Policy=wildcard");
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  EXPECT_EQ(r->account_uri, "https://x/1");
  EXPECT_EQ(r->persist_until, 5);
  EXPECT_TRUE(r->policy_wildcard);
}

TEST(PersistRecordParse, UnknownParametersAreIgnored) {
  auto r = ParsePersistRecord(Rec("; future=thing; x-y=1; policy=wildcard"));
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  EXPECT_TRUE(r->policy_wildcard);
  EXPECT_TRUE(ParsePersistRecord(Rec(";")).has_value()) << "one trailing ; is tolerated";
}

TEST(PersistRecordParse, MalformedRecordsAreRefused) {
  const std::vector<std::string> bad = {
      "",                                                                    // nothing
      "ca.example",                                                          // no accounturi
      "ca.example;",                                                         // no accounturi
      "; accounturi=https://x/1",                                            // no issuer
      "ca.example; accounturi=",                                             // empty accounturi
      "ca.example; accounturi=https://x/1; accounturi=https://x/1",          // duplicate
      "ca.example; accounturi=https://x/1; persistUntil=1; persistuntil=1",  // duplicate
      "ca.example; accounturi=https://x/1; policy=wildcard; POLICY=wildcard",
      "ca.example; accounturi=https://x/1; persistUntil=",
      "ca.example; accounturi=https://x/1; persistUntil=12a",
      "ca.example; accounturi=https://x/1; persistUntil=-5",
      "ca.example; accounturi=https://x/1; persistUntil=+5",
      "ca.example; accounturi=https://x/1; persistUntil=1e9",
      "ca.example; accounturi=https://x/1; persistUntil=1234567890123456789",  // 19 digits
      "ca.example; accounturi=https://x/1; persistUntil=0x10",
      "ca.example accounturi=https://x/1",                       // missing ;
      "ca.example.; accounturi=https://x/1",                     // trailing dot
      "ca..example; accounturi=https://x/1",                     // empty label
      "-ca.example; accounturi=https://x/1",                     // bad label
      "ca.example; accounturi https://x/1",                      // no =
      "ca.example; =https://x/1",                                // no tag
      "ca.example; accounturi=https://x/1;; policy=wildcard",    // empty parameter
      "ca.example; accounturi=https://x/1 policy=wildcard",      // blank inside a value
      "ca.example; accounturi=https://x/\xc3\xa9",               // non-ASCII in a value
      "c\xc3\xa1.example; accounturi=https://x/1",               // non-ASCII in the issuer
      "ca.example; accounturi=https://x/1\0; policy=wildcard"s,  // NUL
      "ca.example\0; accounturi=https://x/1"s,
      "ca.example; accounturi=https://x/1\r\n; policy=wildcard",
      "ca.example; accounturi=\"https://x/1\" x",
  };
  for (const auto& v : bad) {
    auto r = ParsePersistRecord(v);
    EXPECT_FALSE(r.has_value()) << "accepted: " << v;
    if (!r) {
      EXPECT_EQ(r.error().type, ProblemType::kMalformed);
    }
  }
}

TEST(PersistRecordParse, PersistUntilBounds) {
  EXPECT_EQ(ParsePersistRecord(Rec("; persistUntil=0"))->persist_until, 0);
  EXPECT_EQ(ParsePersistRecord(Rec("; persistUntil=000123"))->persist_until, 123);
  EXPECT_EQ(ParsePersistRecord(Rec("; persistUntil=999999999999999999"))->persist_until,
            999999999999999999LL);
}

// A ";" in an account URI starts a new parameter: a value cannot smuggle policy=wildcard into
// the record for another account, because the accounturi it leaves behind is then wrong.
TEST(PersistRecordParse, ParameterInjectionThroughTheAccountUri) {
  auto r = ParsePersistRecord("ca.example; accounturi=https://ca.example/acct/123;policy=wildcard");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->account_uri, "https://ca.example/acct/123");
  EXPECT_TRUE(r->policy_wildcard);  // the domain owner wrote it: it is a parameter
  // An attacker who controls only the account URI text cannot add a parameter the owner did
  // not: a URI with ";" is not the URI of the requesting account.
  PersistPolicy p = Policy("example.com", "", true);
  p.account_uri = "https://ca.example/acct/123;policy=wildcard";
  auto d = Eval({"ca.example; accounturi=https://ca.example/acct/123;policy=wildcard"}, p);
  EXPECT_FALSE(d.authorized);
  EXPECT_EQ(d.problem, ProblemType::kUnauthorized);
}

TEST(PersistRecordParse, IssuerOfBrokenRecords) {
  EXPECT_EQ(PersistRecordIssuer(" CA.Example ; accounturi=x; accounturi=y"), "ca.example");
  EXPECT_EQ(PersistRecordIssuer("ca.example"), "ca.example");
  EXPECT_EQ(PersistRecordIssuer("; x=y"), "");
  EXPECT_EQ(PersistRecordIssuer(""), "");
}

// ---- evaluation ---------------------------------------------------------------------------

TEST(PersistEvaluate, MatchingRecordAuthorizes) {
  auto d = Eval({Rec("; persistUntil=1900000000")});
  EXPECT_TRUE(d.authorized) << d.reason;
  EXPECT_EQ(d.accounturi, kAccount);
  EXPECT_EQ(d.persist_until, 1900000000);
  ASSERT_EQ(d.records.size(), 1u);
  EXPECT_EQ(d.records[0].verdict, PersistVerdict::kAuthorizes);
}

TEST(PersistEvaluate, IssuerIsMatchedCaseInsensitivelyAgainstAnyConfiguredName) {
  EXPECT_TRUE(Eval({"AUTHORITY.example; accounturi=" + std::string(kAccount)}).authorized);
  PersistPolicy p = Policy();
  p.issuer_domains = {"CA.EXAMPLE."};
  EXPECT_TRUE(Eval({Rec("")}, p).authorized);
}

TEST(PersistEvaluate, OtherIssuersAreIgnored) {
  auto d = Eval({"other-ca.example; accounturi=" + std::string(kAccount)});
  EXPECT_FALSE(d.authorized);
  EXPECT_EQ(d.problem, ProblemType::kUnauthorized);
  EXPECT_NE(d.reason.find("none names this CA's issuer domain names ca.example, "
                          "authority.example"),
            std::string::npos)
      << d.reason;
  ASSERT_EQ(d.records.size(), 1u);
  EXPECT_EQ(d.records[0].verdict, PersistVerdict::kOtherIssuer);
  // A suffix or prefix of our name is another name.
  EXPECT_FALSE(Eval({"a.ca.example; accounturi=" + std::string(kAccount)}).authorized);
  EXPECT_FALSE(Eval({"example; accounturi=" + std::string(kAccount)}).authorized);
}

TEST(PersistEvaluate, AccountUriIsComparedExactly) {
  for (const char* other : {"https://ca.example/acct/1234", "https://CA.example/acct/123",
                            "https://ca.example/acct/123/", "https://ca.example/acct/%31%32%33",
                            "http://ca.example/acct/123"}) {
    auto d = Eval({"ca.example; accounturi=" + std::string(other)});
    EXPECT_FALSE(d.authorized) << other;
    EXPECT_EQ(d.problem, ProblemType::kUnauthorized) << other;
    EXPECT_NE(d.reason.find("is not the requesting account"), std::string::npos) << d.reason;
  }
  PersistPolicy unknown = Policy();
  unknown.account_uri.clear();
  EXPECT_FALSE(Eval({Rec("")}, unknown).authorized) << "no account matches nothing";
}

TEST(PersistEvaluate, PersistUntilIsInclusive) {
  EXPECT_TRUE(Eval({Rec("; persistUntil=" + std::to_string(kNow))}).authorized);
  EXPECT_TRUE(Eval({Rec("; persistUntil=" + std::to_string(kNow + 1))}).authorized);
  auto d = Eval({Rec("; persistUntil=" + std::to_string(kNow - 1))});
  EXPECT_FALSE(d.authorized);
  EXPECT_EQ(d.problem, ProblemType::kUnauthorized);
  EXPECT_NE(d.reason.find("has passed"), std::string::npos) << d.reason;
}

TEST(PersistEvaluate, WildcardNeedsPolicyWildcard) {
  PersistPolicy p = Policy("example.com", "example.com", true);
  auto d = Eval({Rec("")}, p);
  EXPECT_FALSE(d.authorized);
  EXPECT_EQ(d.problem, ProblemType::kUnauthorized);
  EXPECT_NE(d.reason.find("the wildcard *.example.com needs policy=wildcard"), std::string::npos)
      << d.reason;
  EXPECT_FALSE(Eval({Rec("; policy=exact")}, p).authorized);
  EXPECT_TRUE(Eval({Rec("; policy=wildcard")}, p).authorized);
  EXPECT_TRUE(Eval({Rec("; policy=WILDCARD")}, p).authorized);
}

TEST(PersistEvaluate, SubdomainsNeedPolicyWildcard) {
  PersistPolicy p = Policy("example.com", "server.dept.example.com");
  auto d = Eval({Rec("")}, p);
  EXPECT_FALSE(d.authorized);
  EXPECT_NE(d.reason.find("the subdomain server.dept.example.com needs policy=wildcard"),
            std::string::npos)
      << d.reason;
  EXPECT_TRUE(Eval({Rec("; policy=wildcard")}, p).authorized);
  PersistPolicy w = Policy("example.com", "dept.example.com", true);  // *.dept.example.com
  EXPECT_FALSE(Eval({Rec("")}, w).authorized);
  EXPECT_TRUE(Eval({Rec("; policy=wildcard")}, w).authorized);
}

TEST(PersistEvaluate, ScopeCoversOnlyParentsAtLabelBoundaries) {
  EXPECT_TRUE(PersistScopeCovers("example.com", "example.com"));
  EXPECT_TRUE(PersistScopeCovers("example.com", "www.example.com"));
  EXPECT_TRUE(PersistScopeCovers("example.com", "a.b.example.com"));
  EXPECT_FALSE(PersistScopeCovers("example.com", "otherexample.com"));
  EXPECT_FALSE(PersistScopeCovers("example.com", ".example.com"));
  EXPECT_FALSE(PersistScopeCovers("www.example.com", "example.com"));
  EXPECT_FALSE(PersistScopeCovers("example.com", "example.net"));
  EXPECT_FALSE(PersistScopeCovers("", "example.com"));
  EXPECT_FALSE(PersistScopeCovers("example.com", ""));
}

TEST(PersistEvaluate, AnyValidRecordPassesAndAllAreReported) {
  auto d = Eval({"other.example; accounturi=https://other/1", Rec("; accounturi=x"),
                 "ca.example; accounturi=https://wrong/1", Rec("")});
  EXPECT_TRUE(d.authorized) << d.reason;
  ASSERT_EQ(d.records.size(), 4u);
  EXPECT_EQ(d.records[0].verdict, PersistVerdict::kOtherIssuer);
  EXPECT_EQ(d.records[1].verdict, PersistVerdict::kMalformed);
  EXPECT_EQ(d.records[2].verdict, PersistVerdict::kUnauthorized);
  EXPECT_EQ(d.records[3].verdict, PersistVerdict::kAuthorizes);
}

TEST(PersistEvaluate, ProblemIsMalformedOnlyWhenEveryRecordForThisCaIsMalformed) {
  auto all_bad = Eval({Rec("; accounturi=x"), "ca.example; policy=wildcard",
                       "other.example; accounturi=https://o/1"});
  EXPECT_FALSE(all_bad.authorized);
  EXPECT_EQ(all_bad.problem, ProblemType::kMalformed) << all_bad.reason;
  EXPECT_NE(all_bad.reason.find("appears more than once"), std::string::npos);
  EXPECT_NE(all_bad.reason.find("no accounturi parameter"), std::string::npos);

  auto mixed = Eval({Rec("; accounturi=x"), "ca.example; accounturi=https://wrong/1"});
  EXPECT_EQ(mixed.problem, ProblemType::kUnauthorized) << mixed.reason;
  EXPECT_TRUE(Eval({}).problem == ProblemType::kUnauthorized);
}

TEST(PersistEvaluate, HugeRecordSetsAreBoundedInTheReason) {
  std::vector<std::string> values;
  for (int i = 0; i < 2000; ++i) {
    values.push_back("ca.example; accounturi=https://wrong/" + std::to_string(i) +
                     "; pad=" + std::string(200, 'x'));
  }
  values.push_back(std::string(65535, 'a'));  // as big as TXT rdata gets
  auto d = Eval(values);
  EXPECT_FALSE(d.authorized);
  EXPECT_EQ(d.records.size(), values.size());
  EXPECT_LT(d.reason.size(), 3000u);
  EXPECT_NE(d.reason.find("and 1995 more"), std::string::npos) << d.reason.substr(0, 300);
  values.push_back(Rec(""));
  EXPECT_TRUE(Eval(values).authorized) << "the last record still counts";
}

TEST(PersistEvaluate, EvidenceValuesAreEscaped) {
  auto d = Eval({"ca.example; accounturi=\x01\"\\\xff"s});
  ASSERT_EQ(d.records.size(), 1u);
  EXPECT_EQ(d.records[0].value, "ca.example; accounturi=\\001\\\"\\\\\\255");
  EXPECT_EQ(d.records[0].verdict, PersistVerdict::kMalformed);
}

// ---- hashed accounturi (draft-02 §4.1, test vectors of §10.2) ------------------------------

constexpr const char* kThumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
constexpr const char* kPrefix = "https://ca.example/account-hash/";
constexpr const char* kHashed =
    "https://ca.example/account-hash/sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw";
constexpr const char* kHashedAnyDomain =
    "https://ca.example/account-hash/sha-256/NpDnSwUthQK8zCgFdefYxAdAVPnygMLbs9US6oO-5ug";

PersistPolicy HashedPolicy() {
  PersistPolicy p = Policy();
  p.account_hash_prefix = kPrefix;
  p.account_key_thumbprints = {kThumbprint};
  return p;
}

TEST(PersistHashed, DraftTestVectors) {
  EXPECT_EQ(PersistHashedAccountUri(kPrefix, "example.com", kThumbprint, kAccount), kHashed);
  EXPECT_EQ(PersistHashedAccountUri(kPrefix, "*", kThumbprint, kAccount), kHashedAnyDomain);
}

TEST(PersistHashed, BothFormsAuthorize) {
  auto d = Eval({"authority.example; accounturi=" + std::string(kHashed)}, HashedPolicy());
  EXPECT_TRUE(d.authorized) << d.reason;
  EXPECT_EQ(d.accounturi, kHashed);
  EXPECT_TRUE(
      Eval({"ca.example; accounturi=" + std::string(kHashedAnyDomain)}, HashedPolicy()).authorized);
}

TEST(PersistHashed, PriorKeysAreAccepted) {
  PersistPolicy p = HashedPolicy();
  p.account_key_thumbprints = {std::string(43, 'A'), kThumbprint};
  EXPECT_TRUE(Eval({"ca.example; accounturi=" + std::string(kHashed)}, p).authorized);
}

TEST(PersistHashed, WrongKeyAccountOrDomainIsUnauthorized) {
  PersistPolicy other_key = HashedPolicy();
  other_key.account_key_thumbprints = {std::string(43, 'A')};
  PersistPolicy other_account = HashedPolicy();
  other_account.account_uri = "https://ca.example/acct/124";
  PersistPolicy other_domain = HashedPolicy();  // the record was computed for example.com
  other_domain.validated_fqdn = other_domain.requested_fqdn = "example.org";
  for (const auto& p : {other_key, other_account, other_domain}) {
    auto d = Eval({"ca.example; accounturi=" + std::string(kHashed)}, p);
    EXPECT_FALSE(d.authorized);
    EXPECT_EQ(d.problem, ProblemType::kUnauthorized) << d.reason;
  }
}

TEST(PersistHashed, NonHashedValuesAreMalformed) {
  for (std::string bad :
       {std::string(kAccount),  // plain URL
        std::string(kPrefix) + "sha-512/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw",
        std::string(kPrefix) + "SHA-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw",
        std::string(kPrefix) + "sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-k",
        std::string(kPrefix) + "sha-256/5SQm7n6tPh2-PlLbCKGnViTXX5z19SCN4cPGQHSk-kw=",
        std::string(kPrefix) + "sha-256/5SQm7n6tPh2+PlLbCKGnViTXX5z19SCN4cPGQHSk-kw",
        std::string(kPrefix) + "sha-256"}) {
    auto d = Eval({"ca.example; accounturi=" + bad}, HashedPolicy());
    EXPECT_FALSE(d.authorized) << bad;
    EXPECT_EQ(d.problem, ProblemType::kMalformed) << bad << ": " << d.reason;
  }
}

// ---- dns-account-01 label (draft-ietf-acme-dns-account-label §3.2) -------------------------

TEST(DnsAccountLabel, KnownVector) {
  EXPECT_EQ(DnsAccountLabel("https://example.com/acme/acct/ExampleAccount"), "_ujmmovf2vn55tgye");
  EXPECT_EQ(DnsAccountLabel(kAccount).size(), 17u);
  EXPECT_NE(DnsAccountLabel(kAccount), DnsAccountLabel("https://ca.example/acct/124"));
}

TEST(DnsAccountLabel, ValidationName) {
  const std::string uri = "https://example.com/acme/acct/ExampleAccount";
  EXPECT_EQ(DnsAccountValidationName("Example.ORG", uri).value(),
            "_ujmmovf2vn55tgye._acme-challenge.example.org");
  EXPECT_EQ(DnsAccountValidationName("*.example.org", uri).value(),
            "_ujmmovf2vn55tgye._acme-challenge.example.org");
  EXPECT_FALSE(DnsAccountValidationName("example.org", "").has_value());
  EXPECT_FALSE(DnsAccountValidationName("1.2.3.4", uri).has_value());
  EXPECT_FALSE(DnsAccountValidationName("_x.example.org", uri).has_value());
  const std::string l60(60, 'a');
  const std::string fits =
      l60 + "." + l60 + "." + l60 + "." + std::string(30, 'a') + ".example.org";
  ASSERT_TRUE(NormalizeHostname(fits).has_value());  // 225 octets: the identifier is fine,
  EXPECT_FALSE(DnsAccountValidationName(fits, uri).has_value());  // the name would be 259
}

}  // namespace
}  // namespace mpic::checks::internal
