#include "common/dns_name.h"

#include <gtest/gtest.h>

namespace mpic {
namespace {

TEST(DnsName, NormalizesCaseAndTrailingDot) {
  EXPECT_EQ(NormalizeDnsName("WWW.Example.COM.").value(), "www.example.com");
  EXPECT_EQ(NormalizeDnsName("_acme-challenge.example.com").value(), "_acme-challenge.example.com");
  EXPECT_EQ(NormalizeDnsName(".").value(), "");
  EXPECT_EQ(Fqdn(""), ".");
  EXPECT_EQ(Fqdn("a.b"), "a.b.");
}

TEST(DnsName, RejectsBadNames) {
  for (std::string_view bad :
       std::initializer_list<std::string_view>{"", "..", "a..b", ".a", "a b.com", "ex\xc3\xa9.com",
                                               "a/b.com", std::string_view("a\0b.com", 7)}) {
    auto r = NormalizeDnsName(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().type, ProblemType::kMalformed);
    EXPECT_FALSE(r.error().detail.empty());
  }
}

TEST(DnsName, LengthLimits) {
  std::string label63(63, 'a');
  std::string label64(64, 'a');
  EXPECT_TRUE(NormalizeDnsName(label63 + ".com").has_value());
  auto r = NormalizeDnsName(label64 + ".com");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("63"), std::string::npos);

  // 253 octets is the longest legal presentation name; 254 is not.
  // Built by appending in place: `"." + std::string(...)` here made GCC 12 at -O3 report a
  // -Wrestrict false positive inside std::string (GCC bug 105651), which broke Release builds.
  std::string name = "a";
  while (name.size() < 253) name += ".a";
  ASSERT_EQ(name.size(), 253u);
  EXPECT_TRUE(NormalizeDnsName(name).has_value());
  EXPECT_TRUE(NormalizeDnsName(name + ".").has_value());
  EXPECT_FALSE(NormalizeDnsName(name + "c").has_value());
}

TEST(DnsName, HostnameRules) {
  EXPECT_EQ(NormalizeHostname("Example.COM").value(), "example.com");
  EXPECT_FALSE(NormalizeHostname("_acme.example.com"));
  EXPECT_FALSE(NormalizeHostname("-a.example.com"));
  EXPECT_FALSE(NormalizeHostname("a-.example.com"));
  EXPECT_FALSE(NormalizeHostname("192.0.2.1"));
  auto single = NormalizeHostname("localhost");
  ASSERT_FALSE(single);
  EXPECT_EQ(single.error().type, ProblemType::kRejectedIdentifier);
  EXPECT_TRUE(NormalizeHostname("xn--bcher-kva.example").has_value());
}

// RFC 3492 §7.1 sample strings (A) Arabic, (L) "3<nen>B<gumi><kinpachi><sensei>" and
// (R) "<sono><supiido><de>", and the label of RFC 3492's own "bücher" example.
TEST(Punycode, Rfc3492Samples) {
  const std::u32string arabic =
      U"\u0644\u064A\u0647\u0645\u0627\u0628\u062A\u0643\u0644"
      U"\u0645\u0648\u0634\u0639\u0631\u0628\u064A\u061F";
  EXPECT_EQ(DecodePunycode("egbpdaj6bu4bxfgehfvwxn").value(), arabic);
  EXPECT_EQ(EncodePunycode(arabic).value(), "egbpdaj6bu4bxfgehfvwxn");
  const std::u32string mixed = U"3\u5E74B\u7D44\u91D1\u516B\u5148\u751F";
  EXPECT_EQ(DecodePunycode("3B-ww4c5e180e575a65lsy2b").value(), mixed);
  EXPECT_EQ(EncodePunycode(mixed).value(), "3B-ww4c5e180e575a65lsy2b");
  const std::u32string sono = U"\u305D\u306E\u30B9\u30D4\u30FC\u30C9\u3067";
  EXPECT_EQ(DecodePunycode("d9juau41awczczp").value(), sono);
  EXPECT_EQ(DecodePunycode("bcher-kva").value(), U"b\u00FCcher");
}

TEST(Punycode, DecodeErrors) {
  for (std::string_view bad : {"zz", "a-9", "b!", "99999999999999", "\x80-kva"}) {
    EXPECT_FALSE(DecodePunycode(bad).has_value()) << bad;
  }
}

TEST(DnsName, ALabels) {
  EXPECT_TRUE(CheckALabel("xn--bcher-kva").has_value());
  EXPECT_EQ(NormalizeHostname("XN--Bcher-KVA.Example").value(), "xn--bcher-kva.example");
  EXPECT_TRUE(NormalizeHostname("www.xn--mgbh0fb.xn--kgbechtv").has_value());
  struct Case {
    std::string_view label;
    std::string_view why;
  };
  for (const Case& c : std::initializer_list<Case>{
           {"xn--zz", "punycode"},                  // truncated integer: does not decode
           {"xn--a", "U+0080"},                     // decodes to a C1 control
           {"xn--abc-", "all-ASCII"},               // nothing encoded
           {"xn---ls8h", "one encoding"},           // empty basic part with a delimiter
           {"xn--ab--c-ova", "positions 3 and 4"},  // "ab--cü"
           {"xn---bcher-4ya", "starts or ends"},    // "-bücher"
       }) {
    auto r = CheckALabel(c.label);
    ASSERT_FALSE(r.has_value()) << c.label;
    EXPECT_NE(r.error().detail.find(c.why), std::string::npos)
        << c.label << ": " << r.error().detail;
  }
  // The case: a fake A-label in an identifier is malformed, not a name to look up.
  auto r = NormalizeHostname("xn--zz.example.com");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().type, ProblemType::kMalformed);
  EXPECT_NE(r.error().detail.find("A-label"), std::string::npos);
  // DNS owner names are not identifiers: any LDH label may be queried.
  EXPECT_TRUE(NormalizeDnsName("xn--zz.example.com").has_value());
}

TEST(Punycode, RoundTripsEveryTwoCodePointLabel) {
  // Every encoding decodes back to its input, over a spread of code points.
  for (char32_t a = 0xa0; a < 0x3000; a += 37) {
    for (char32_t b : {U'a', U'-', char32_t{0xe9}, char32_t{0x10348}, char32_t{0x4e2d}}) {
      std::u32string u{a, b, a};
      auto encoded = EncodePunycode(u);
      ASSERT_TRUE(encoded.has_value());
      auto decoded = DecodePunycode(*encoded);
      ASSERT_TRUE(decoded.has_value()) << *encoded;
      EXPECT_EQ(*decoded, u) << *encoded;
    }
  }
}

TEST(ProblemTypes, RoundTrip) {
  for (auto t :
       {ProblemType::kConnection, ProblemType::kDns, ProblemType::kUnauthorized,
        ProblemType::kIncorrectResponse, ProblemType::kTls, ProblemType::kCaa,
        ProblemType::kRejectedIdentifier, ProblemType::kMalformed, ProblemType::kServerInternal}) {
    ProblemType back{};
    ASSERT_TRUE(ParseProblemType(ProblemTypeUrn(t), &back));
    EXPECT_EQ(back, t);
    ASSERT_TRUE(ParseProblemType(ProblemTypeName(t), &back));
    EXPECT_EQ(back, t);
  }
  EXPECT_EQ(ProblemTypeUrn(ProblemType::kCaa), "urn:ietf:params:acme:error:caa");
  ProblemType ignored{};
  EXPECT_FALSE(ParseProblemType("nope", &ignored));
}

}  // namespace
}  // namespace mpic
