// The value rules of the BR methods beyond ACME (internal/dcv_value.h), table by table.
#include "checks/internal/dcv_value.h"

#include <gtest/gtest.h>

#include "checks/check.h"
#include "checks/internal/http_url.h"

namespace mpic::checks::internal {
namespace {

TEST(DcvValue, ChallengeValueRules) {
  EXPECT_TRUE(ValidateChallengeValue("abcdefghijklmnop", true).has_value());
  EXPECT_FALSE(ValidateChallengeValue("abcdefghijklmno", true).has_value());  // 15 < 16
  EXPECT_TRUE(ValidateChallengeValue("abc", false).has_value());
  EXPECT_FALSE(ValidateChallengeValue("", false).has_value());
  EXPECT_FALSE(ValidateChallengeValue("has blank", false).has_value());
  EXPECT_FALSE(ValidateChallengeValue(std::string("nul\0x", 5), false).has_value());
  EXPECT_FALSE(ValidateChallengeValue("caf\xc3\xa9", false).has_value());
  EXPECT_FALSE(ValidateChallengeValue(std::string(1025, 'a'), false).has_value());
  EXPECT_TRUE(ValidateChallengeValue(std::string(1024, 'a'), false).has_value());
}

TEST(DcvValue, Matching) {
  const MatchRule exact{.exact_match = true, .exact_case = true};
  const MatchRule substring{.exact_match = false, .exact_case = true};
  const MatchRule fold{.exact_match = false, .exact_case = false};
  EXPECT_TRUE(ValueMatches("Token123", "Token123", exact));
  EXPECT_FALSE(ValueMatches("token123", "Token123", exact));
  EXPECT_FALSE(ValueMatches("Token123 ", "Token123", exact));
  EXPECT_TRUE(ValueMatches("x=Token123;", "Token123", substring));
  EXPECT_FALSE(ValueMatches("x=token123;", "Token123", substring));
  EXPECT_TRUE(ValueMatches("x=TOKEN123;", "Token123", fold));
  EXPECT_TRUE(ValueMatches(std::string("\0\xffToken123\0", 12), "Token123", substring));
  EXPECT_FALSE(ValueMatches("anything", "", substring));  // empty never matches
  EXPECT_FALSE(ValueMatches("", "Token123", substring));
  // Case folding is ASCII only: a non-ASCII octet is not a letter.
  EXPECT_FALSE(ValueMatches("\xc3\x89", "\xc3\xa9", fold));
}

TEST(DcvValue, Contacts) {
  EXPECT_EQ(ParseContactEmail("dns-admin@example.com").value_or(""), "dns-admin@example.com");
  for (const char* bad : {"", "no-at", "@example.com", "a@", "a b@example.com", "a@b..c",
                          "a@.b", "a@b.", "a\x01@b.c"}) {
    EXPECT_FALSE(ParseContactEmail(bad).has_value()) << bad;
  }
  EXPECT_FALSE(ParseContactEmail(std::string(250, 'a') + "@b.cc").has_value());
  EXPECT_EQ(ParseContactPhone("+1-555-0100").value_or(""), "+15550100");
  EXPECT_EQ(ParseContactPhone("+44(20)7946.0000").value_or(""), "+442079460000");
  EXPECT_EQ(ParseContactPhone("+1 (555) 123-4567").value_or(""), "+15551234567");  // BR's
  for (const char* bad : {"", "+", "15550100", "+1\t555", "+1-555-0100;ext=1",
                          "+1234567890123456", "+1x"}) {
    EXPECT_FALSE(ParseContactPhone(bad).has_value()) << bad;
  }
}

TEST(DcvValue, Names) {
  EXPECT_EQ(ComparableName("WWW.Example.COM."), "www.example.com");
  EXPECT_EQ(ReverseName(asio::ip::make_address("192.0.2.7")), "7.2.0.192.in-addr.arpa");
  EXPECT_EQ(ReverseName(asio::ip::make_address("2001:db8::567:89ab")),
            "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

TEST(DcvValue, PkiValidationPaths) {
  for (const char* good : {"file.txt", "a/b/c.txt", "A-Z_0.9~"}) {
    EXPECT_TRUE(ValidatePkiValidationPath(good).has_value()) << good;
  }
  for (const char* bad : {"", "/a", "a/", "a//b", ".", "..", "a/../b", "a/./b", "a?b", "a#b",
                          "%2e", "a b", "a\\b"}) {
    EXPECT_FALSE(ValidatePkiValidationPath(bad).has_value()) << bad;
  }
  EXPECT_FALSE(ValidatePkiValidationPath(std::string(256, 'a')).has_value());
}

TEST(DcvValue, MethodNamesRoundTripAndCaaNames) {
  for (Method m : kAllMethods) {
    auto parsed = ParseMethod(MethodName(m));
    ASSERT_TRUE(parsed.has_value()) << MethodName(m);
    EXPECT_EQ(*parsed, m);
  }
  EXPECT_EQ(CaaValidationMethodName(Method::kDns01), "dns-01");
  EXPECT_EQ(CaaValidationMethodName(Method::kDnsPersist01), "dns-persist-01");
  // RFC 8657 §4: a method outside the ACME registry gets a "ca-" name.
  EXPECT_EQ(CaaValidationMethodName(Method::kDnsChange), "ca-dns-change");
  EXPECT_EQ(CaaValidationMethodName(Method::kWebsiteChange), "ca-website-change");
  EXPECT_EQ(CaaValidationMethodName(Method::kReverseAddressLookup), "ca-reverse-address-lookup");
  EXPECT_EQ(CaaValidationMethodName(Method::kCaa), "");
}

}  // namespace
}  // namespace mpic::checks::internal
