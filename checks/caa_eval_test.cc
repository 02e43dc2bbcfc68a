// Table tests of the pure CAA evaluator (RFC 8659 §4, RFC 8657 §3-4, RFC 9495 §4).
#include "checks/internal/caa_eval.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mpic::checks::internal {
namespace {

std::vector<uint8_t> Rdata(uint8_t flags, std::string_view tag, std::string_view value) {
  std::vector<uint8_t> out = {flags, static_cast<uint8_t>(tag.size())};
  out.insert(out.end(), tag.begin(), tag.end());
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

constexpr const char* kAccount = "https://ca.example/acme/acct/1";

CaaPolicy Policy(bool wildcard = false) {
  return CaaPolicy{.issuer_domains = {"ca.example"},
                   .account_uri = kAccount,
                   .validation_method = "dns-01",
                   .wildcard = wildcard};
}

CaaPolicy Smime() {
  CaaPolicy p = Policy();
  p.smime = true;
  return p;
}

struct Case {
  const char* name;
  std::vector<std::vector<uint8_t>> rrset;
  CaaPolicy policy;
  bool permitted;
};

class CaaEvalTable : public ::testing::TestWithParam<Case> {};

TEST_P(CaaEvalTable, Decides) {
  const Case& c = GetParam();
  CaaDecision d = EvaluateCaaRdata(c.rrset, c.policy);
  EXPECT_EQ(d.permitted, c.permitted) << c.name << ": " << d.reason;
  EXPECT_FALSE(d.reason.empty()) << c.name;
  // Details end up in JSON: they must be valid UTF-8 whatever the records held.
  EXPECT_NO_THROW((void)nlohmann::json(d.reason).dump()) << c.name;
}

CaaPolicy With(CaaPolicy p, auto&& edit) {
  edit(p);
  return p;
}

const Case kCases[] = {
    // issue basics (RFC 8659 §4.2)
    {"issue names us", {Rdata(0, "issue", "ca.example")}, Policy(), true},
    {"issue names another CA", {Rdata(0, "issue", "other.example")}, Policy(), false},
    {"empty issuer ';'", {Rdata(0, "issue", ";")}, Policy(), false},
    {"empty value", {Rdata(0, "issue", "")}, Policy(), false},
    {"only whitespace", {Rdata(0, "issue", "  \t ")}, Policy(), false},
    {"additive: forbid + us",
     {Rdata(0, "issue", ";"), Rdata(0, "issue", "ca.example")},
     Policy(),
     true},
    {"additive: other + us",
     {Rdata(0, "issue", "other.example"), Rdata(0, "issue", "ca.example")},
     Policy(),
     true},
    {"one of our issuer domains",
     {Rdata(0, "issue", "ca2.example")},
     With(Policy(),
          [](CaaPolicy& p) {
            p.issuer_domains = {"ca.example", "ca2.example"};
          }),
     true},
    {"no issuer domains configured",
     {Rdata(0, "issue", "ca.example")},
     With(Policy(), [](CaaPolicy& p) { p.issuer_domains.clear(); }),
     false},
    {"subdomain of our issuer is not us", {Rdata(0, "issue", "sub.ca.example")}, Policy(), false},
    // tags and the critical flag (RFC 8659 §4.1)
    {"critical unknown tag forbids",
     {Rdata(128, "tbs", "x"), Rdata(0, "issue", "ca.example")},
     Policy(),
     false},
    {"critical unknown tag alone forbids", {Rdata(128, "future", "")}, Policy(), false},
    {"critical flag with other bits", {Rdata(0xff, "future", "")}, Policy(), false},
    {"non-critical reserved bits ignored", {Rdata(0x7f, "issue", "ca.example")}, Policy(), true},
    {"non-critical unknown tag ignored", {Rdata(0, "tbs", "x")}, Policy(), true},
    {"non-critical unknown + issue us",
     {Rdata(0, "tbs", "x"), Rdata(0, "issue", "ca.example")},
     Policy(),
     true},
    {"iodef only", {Rdata(0, "iodef", "mailto:security@example.net")}, Policy(), true},
    {"critical iodef is understood", {Rdata(128, "iodef", "mailto:a@b.example")}, Policy(), true},
    {"critical issue is understood", {Rdata(128, "issue", "ca.example")}, Policy(), true},
    {"critical issue forbidding", {Rdata(128, "issue", ";")}, Policy(), false},
    {"tag case-insensitive", {Rdata(0, "IsSuE", "ca.example")}, Policy(), true},
    {"tag case-insensitive forbids", {Rdata(0, "ISSUE", "other.example")}, Policy(), false},
    {"critical tag with bad characters", {Rdata(128, "iss-ue", "ca.example")}, Policy(), false},
    {"overlong critical tag", {Rdata(128, "issueissueissue1", "ca.example")}, Policy(), false},
    {"contactemail non-critical ignored",
     {Rdata(0, "contactemail", "a@b.example")},
     Policy(),
     true},
    // issuewild (RFC 8659 §4.3)
    {"issuewild us, wildcard", {Rdata(0, "issuewild", "ca.example")}, Policy(true), true},
    {"issuewild other, wildcard", {Rdata(0, "issuewild", "other.example")}, Policy(true), false},
    {"issuewild other ignored for non-wildcard",
     {Rdata(0, "issuewild", "other.example")},
     Policy(),
     true},
    {"issuewild forbid ignored for non-wildcard",
     {Rdata(0, "issue", "ca.example"), Rdata(0, "issuewild", ";")},
     Policy(),
     true},
    {"issuewild forbid wins over issue for wildcard",
     {Rdata(0, "issue", "ca.example"), Rdata(0, "issuewild", ";")},
     Policy(true),
     false},
    {"issuewild us overrides issue forbid for wildcard",
     {Rdata(0, "issue", ";"), Rdata(0, "issuewild", "ca.example")},
     Policy(true),
     true},
    {"issue forbid still governs the non-wildcard",
     {Rdata(0, "issue", ";"), Rdata(0, "issuewild", "ca.example")},
     Policy(),
     false},
    {"wildcard falls back to issue (us)", {Rdata(0, "issue", "ca.example")}, Policy(true), true},
    {"wildcard falls back to issue (other)",
     {Rdata(0, "issue", "other.example")},
     Policy(true),
     false},
    {"issuewild tag case-insensitive", {Rdata(0, "IssueWild", "ca.example")}, Policy(true), true},
    {"malformed issuewild still shadows issue",
     {Rdata(0, "issue", "ca.example"), Rdata(0, "issuewild", "%%%")},
     Policy(true),
     false},
    // RFC 8657 §3 accounturi
    {"accounturi matches",
     {Rdata(0, "issue", std::string("ca.example; accounturi=") + kAccount)},
     Policy(),
     true},
    {"accounturi mismatch",
     {Rdata(0, "issue", "ca.example; accounturi=https://ca.example/acme/acct/2")},
     Policy(),
     false},
    {"accounturi with no account given",
     {Rdata(0, "issue", std::string("ca.example; accounturi=") + kAccount)},
     With(Policy(), [](CaaPolicy& p) { p.account_uri.clear(); }),
     false},
    {"empty accounturi with no account given",
     {Rdata(0, "issue", "ca.example; accounturi=")},
     With(Policy(), [](CaaPolicy& p) { p.account_uri.clear(); }),
     false},
    {"accounturi compared exactly (case)",
     {Rdata(0, "issue", "ca.example; accounturi=HTTPS://ca.example/acme/acct/1")},
     Policy(),
     false},
    {"accounturi mismatch, other record matches",
     {Rdata(0, "issue", "ca.example; accounturi=https://x.example/2"),
      Rdata(0, "issue", std::string("ca.example; accounturi=") + kAccount)},
     Policy(),
     true},
    {"parameter name case-insensitive (restricts)",
     {Rdata(0, "issue", "ca.example; AccountURI=https://x.example/2")},
     Policy(),
     false},
    // RFC 8657 §4 validationmethods
    {"validationmethods lists ours",
     {Rdata(0, "issue", "ca.example; validationmethods=dns-01")},
     Policy(),
     true},
    {"validationmethods list",
     {Rdata(0, "issue", "ca.example; validationmethods=http-01,dns-01")},
     Policy(),
     true},
    {"validationmethods lacks ours",
     {Rdata(0, "issue", "ca.example; validationmethods=http-01,tls-alpn-01")},
     Policy(),
     false},
    {"validationmethods prefix is not a match",
     {Rdata(0, "issue", "ca.example; validationmethods=dns-01x")},
     Policy(),
     false},
    {"validationmethods, method unknown",
     {Rdata(0, "issue", "ca.example; validationmethods=dns-01")},
     With(Policy(), [](CaaPolicy& p) { p.validation_method.clear(); }),
     false},
    {"validationmethods exact case",
     {Rdata(0, "issue", "ca.example; validationmethods=DNS-01")},
     Policy(),
     false},
    {"validationmethods with spaces is malformed",
     {Rdata(0, "issue", "ca.example; validationmethods=http-01, dns-01")},
     Policy(),
     false},
    {"both parameters satisfied",
     {Rdata(0, "issue",
            std::string("ca.example; accounturi=") + kAccount + "; validationmethods=dns-01")},
     Policy(),
     true},
    {"both parameters, method wrong",
     {Rdata(0, "issue",
            std::string("ca.example; accounturi=") + kAccount + "; validationmethods=http-01")},
     Policy(),
     false},
    // duplicated parameters (RFC 8657 §3, §4)
    {"duplicated accounturi",
     {Rdata(0, "issue",
            std::string("ca.example; accounturi=") + kAccount + "; accounturi=" + kAccount)},
     Policy(),
     false},
    {"duplicated validationmethods",
     {Rdata(0, "issue", "ca.example; validationmethods=dns-01; validationmethods=dns-01")},
     Policy(),
     false},
    {"duplicated in different case",
     {Rdata(0, "issue", "ca.example; validationmethods=dns-01; ValidationMethods=dns-01")},
     Policy(),
     false},
    {"duplicated unknown parameter",
     {Rdata(0, "issue", "ca.example; foo=1; foo=1")},
     Policy(),
     false},
    {"duplicate in one record, other record fine",
     {Rdata(0, "issue", "ca.example; foo=1; foo=1"), Rdata(0, "issue", "ca.example")},
     Policy(),
     true},
    // case-insensitive issuer domains
    {"issuer domain case-insensitive", {Rdata(0, "issue", "CA.Example")}, Policy(), true},
    {"configured issuer with trailing dot",
     {Rdata(0, "issue", "ca.example")},
     With(Policy(), [](CaaPolicy& p) { p.issuer_domains = {"CA.EXAMPLE."}; }),
     true},
    // whitespace the grammar allows
    {"whitespace everywhere",
     {Rdata(0, "issue", std::string(" \tca.example \t; \taccounturi \t= \t") + kAccount + " \t")},
     Policy(),
     true},
    {"no space around ';'",
     {Rdata(0, "issue", "ca.example;validationmethods=dns-01")},
     Policy(),
     true},
    {"trailing ';' tolerated", {Rdata(0, "issue", "ca.example;")}, Policy(), true},
    {"trailing ';' after parameters tolerated",
     {Rdata(0, "issue", "ca.example; validationmethods=dns-01;")},
     Policy(),
     true},
    {"unknown parameter ignored", {Rdata(0, "issue", "ca.example; policy=ev")}, Policy(), true},
    {"parameter value may contain '='",
     {Rdata(0, "issue", "ca.example; accounturi=https://ca.example/a?x=1")},
     With(Policy(), [](CaaPolicy& p) { p.account_uri = "https://ca.example/a?x=1"; }),
     true},
    {"empty parameter value allowed", {Rdata(0, "issue", "ca.example; foo=")}, Policy(), true},
    // malformed values forbid like an empty issuer (RFC 8659 §4.2)
    {"malformed %%%%%", {Rdata(0, "issue", "%%%%%")}, Policy(), false},
    {"junk after issuer", {Rdata(0, "issue", "ca.example x")}, Policy(), false},
    {"empty label", {Rdata(0, "issue", "ca..example")}, Policy(), false},
    {"leading hyphen", {Rdata(0, "issue", "-ca.example")}, Policy(), false},
    {"trailing hyphen", {Rdata(0, "issue", "ca-.example")}, Policy(), false},
    {"issuer with trailing dot", {Rdata(0, "issue", "ca.example.")}, Policy(), false},
    {"underscore in issuer", {Rdata(0, "issue", "ca_1.example")}, Policy(), false},
    {"parameter without '='", {Rdata(0, "issue", "ca.example; accounturi")}, Policy(), false},
    {"two parameters without ';'", {Rdata(0, "issue", "ca.example; a=b c=d")}, Policy(), false},
    {"bad parameter tag", {Rdata(0, "issue", "ca.example; -a=b")}, Policy(), false},
    {"double ';'", {Rdata(0, "issue", "ca.example;; a=b")}, Policy(), false},
    {"non-ASCII octets", {Rdata(0, "issue", "ca.example\xff")}, Policy(), false},
    {"NUL octet", {Rdata(0, "issue", std::string("ca.example\0", 11))}, Policy(), false},
    {"quoted value", {Rdata(0, "issue", "\"ca.example\"")}, Policy(), false},
    {"malformed + us", {Rdata(0, "issue", "%%%"), Rdata(0, "issue", "ca.example")}, Policy(), true},
    // unreadable rdata
    {"rdata too short", {{0x00}}, Policy(), false},
    {"zero tag length", {{0x00, 0x00, 'x'}}, Policy(), false},
    {"tag past the end", {{0x00, 0x09, 'i', 's', 's'}}, Policy(), false},
    {"unreadable + us", {{0x00}, Rdata(0, "issue", "ca.example")}, Policy(), false},
    // S/MIME: issuemail (RFC 9495)
    {"smime: issuemail names us", {Rdata(0, "issuemail", "ca.example")}, Smime(), true},
    {"smime: issuemail names another CA",
     {Rdata(0, "issuemail", "other.example")},
     Smime(),
     false},
    {"smime: issuemail tag case-insensitive", {Rdata(0, "IssueMail", "ca.example")}, Smime(), true},
    {"smime: issue/issuewild do not restrict",
     {Rdata(0, "issue", ";"), Rdata(0, "issuewild", "other.example")},
     Smime(),
     true},
    {"smime: issue naming us does not authorize against issuemail",
     {Rdata(0, "issue", "ca.example"), Rdata(0, "issuemail", "other.example")},
     Smime(),
     false},
    {"smime: empty issuemail forbids", {Rdata(0, "issuemail", ";")}, Smime(), false},
    {"smime: malformed issuemail is an empty issuer",
     {Rdata(0, "issuemail", "ca.example junk")},
     Smime(),
     false},
    {"smime: additive", {Rdata(0, "issuemail", ";"), Rdata(0, "issuemail", "ca.example")},
     Smime(), true},
    {"smime: no records but iodef", {Rdata(0, "iodef", "mailto:x@example.com")}, Smime(), true},
    {"smime: critical unknown tag forbids",
     {Rdata(128, "tbs", "x"), Rdata(0, "issuemail", "ca.example")},
     Smime(),
     false},
    {"smime: critical issue is understood",
     {Rdata(128, "issue", "other.example"), Rdata(0, "issuemail", "ca.example")},
     Smime(),
     true},
    {"smime: accounturi other account",
     {Rdata(0, "issuemail", "ca.example; accounturi=https://ca.example/acme/acct/2")},
     Smime(),
     false},
    {"smime: accounturi ours", {Rdata(0, "issuemail", "ca.example; accounturi=https://ca.example/acme/acct/1")},
     Smime(), true},
    {"smime: wildcard never", {Rdata(0, "issuemail", "ca.example")},
     With(Smime(), [](CaaPolicy& p) { p.wildcard = true; }), false},
    {"tls: issuemail does not restrict", {Rdata(0, "issuemail", "other.example")}, Policy(), true},
    {"tls: critical issuemail is understood",
     {Rdata(128, "issuemail", "other.example"), Rdata(0, "issue", "ca.example")},
     Policy(),
     true},
    {"tls: issuemail naming us does not authorize against issue",
     {Rdata(0, "issuemail", "ca.example"), Rdata(0, "issue", "other.example")},
     Policy(),
     false},
};

INSTANTIATE_TEST_SUITE_P(Rules, CaaEvalTable, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           std::string name = "c" + std::to_string(param_info.index) + "_";
                           for (const char* p = param_info.param.name; *p; ++p) {
                             char ch = *p;
                             bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                                       (ch >= '0' && ch <= '9');
                             name += ok ? ch : '_';
                           }
                           return name;
                         });

TEST(CaaIssueValue, ParsesIssuerAndParameters) {
  auto v = ParseCaaIssueValue(" CA.Example ; AccountURI = https://x/1 ;validationmethods=dns-01");
  ASSERT_TRUE(v.has_value()) << v.error().detail;
  EXPECT_EQ(v->issuer_domain, "ca.example");
  ASSERT_EQ(v->parameters.size(), 2u);
  EXPECT_EQ(v->parameters[0].first, "accounturi");
  EXPECT_EQ(v->parameters[0].second, "https://x/1");
  EXPECT_EQ(v->parameters[1].first, "validationmethods");
  EXPECT_EQ(v->parameters[1].second, "dns-01");
}

TEST(CaaIssueValue, EmptyIssuerForms) {
  for (std::string_view s : {"", ";", " ; ", "; a=b"}) {
    auto v = ParseCaaIssueValue(s);
    ASSERT_TRUE(v.has_value()) << "\"" << s << "\": " << v.error().detail;
    EXPECT_TRUE(v->issuer_domain.empty()) << s;
  }
}

TEST(CaaIssueValue, RejectsOffGrammar) {
  for (std::string_view s : {"%%%%%", "a b", "a..b", ".a", "a.", "a; b", "a; =b", "a; b=c d"}) {
    EXPECT_FALSE(ParseCaaIssueValue(s).has_value()) << s;
  }
}

TEST(CaaRdata, SplitsFlagsTagValue) {
  auto rr = ParseCaaRdata(Rdata(128, "issue", "ca.example"));
  ASSERT_TRUE(rr.has_value());
  EXPECT_EQ(rr->flags, 128);
  EXPECT_TRUE(rr->critical());
  EXPECT_EQ(rr->tag, "issue");
  EXPECT_EQ(rr->value, "ca.example");
  auto empty_value = ParseCaaRdata(Rdata(0, "issue", ""));
  ASSERT_TRUE(empty_value.has_value());
  EXPECT_EQ(empty_value->value, "");
  EXPECT_FALSE(empty_value->critical());
}

TEST(CaaEval, ReasonsArePrintable) {
  std::vector<std::vector<uint8_t>> rrset = {Rdata(0, "issue", "\x01\xfe\"\\ bad"),
                                             Rdata(128, "t\xff", "\x80")};
  CaaDecision d = EvaluateCaaRdata(rrset, Policy());
  EXPECT_FALSE(d.permitted);
  EXPECT_NO_THROW((void)nlohmann::json(d.reason).dump());
  for (char ch : d.reason) EXPECT_NE(static_cast<unsigned char>(ch), 0xff) << d.reason;
}

TEST(CaaEval, DenialNamesEveryRefusal) {
  std::vector<std::vector<uint8_t>> rrset = {Rdata(0, "issue", "other.example"),
                                             Rdata(0, "issue", ";")};
  CaaDecision d = EvaluateCaaRdata(rrset, Policy());
  EXPECT_FALSE(d.permitted);
  EXPECT_NE(d.reason.find("other.example"), std::string::npos) << d.reason;
  EXPECT_NE(d.reason.find("no issuer domain"), std::string::npos) << d.reason;
}

}  // namespace
}  // namespace mpic::checks::internal

// RFC 8657 §4 with the methods of issue 16: dns-persist-01 (draft-ietf-acme-dns-persist §7.7)
// and dns-account-01 are ordinary validationmethods tokens, matched exactly.
namespace mpic::checks::internal {
namespace {

TEST(CaaEvalNewMethods, ValidationMethodsCoverDnsPersistAndDnsAccount) {
  for (const char* method : {"dns-persist-01", "dns-account-01"}) {
    CaaPolicy p = Policy();
    p.validation_method = method;
    auto listed = EvaluateCaaRdata(
        std::vector<std::vector<uint8_t>>{Rdata(
            0, "issue", "ca.example; validationmethods=http-01,dns-persist-01,dns-account-01")},
        p);
    EXPECT_TRUE(listed.permitted) << method << ": " << listed.reason;
    auto not_listed = EvaluateCaaRdata(std::vector<std::vector<uint8_t>>{Rdata(
                                           0, "issue", "ca.example; validationmethods=dns-01")},
                                       p);
    EXPECT_FALSE(not_listed.permitted) << method;
    EXPECT_NE(not_listed.reason.find(std::string("does not include ") + method), std::string::npos)
        << not_listed.reason;
  }
  // dns-01 does not stand for its relatives, nor they for it.
  CaaPolicy dns01 = Policy();
  EXPECT_FALSE(EvaluateCaaRdata(std::vector<std::vector<uint8_t>>{Rdata(
                                    0, "issue", "ca.example; validationmethods=dns-persist-01")},
                                dns01)
                   .permitted);
  CaaPolicy persist = Policy();
  persist.validation_method = "dns-persist-01";
  EXPECT_FALSE(EvaluateCaaRdata(std::vector<std::vector<uint8_t>>{Rdata(
                                    0, "issue", "ca.example; validationmethods=DNS-PERSIST-01")},
                                persist)
                   .permitted);
}

}  // namespace
}  // namespace mpic::checks::internal
