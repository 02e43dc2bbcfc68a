#include "common/dns_name.h"

#include <gtest/gtest.h>

namespace mpic {
namespace {

TEST(DnsName, NormalizesCaseAndTrailingDot) {
  EXPECT_EQ(NormalizeDnsName("WWW.Example.COM.").value(), "www.example.com");
  EXPECT_EQ(NormalizeDnsName("_acme-challenge.example.com").value(),
            "_acme-challenge.example.com");
  EXPECT_EQ(NormalizeDnsName(".").value(), "");
  EXPECT_EQ(Fqdn(""), ".");
  EXPECT_EQ(Fqdn("a.b"), "a.b.");
}

TEST(DnsName, RejectsBadNames) {
  for (std::string_view bad : std::initializer_list<std::string_view>{"", "..", "a..b", ".a", "a b.com", "ex\xc3\xa9.com", "a/b.com",
                               std::string_view("a\0b.com", 7)}) {
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
  // -Wrestrict false positive inside std::string (GCC bug 105329), which broke Release builds.
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

TEST(ProblemTypes, RoundTrip) {
  for (auto t : {ProblemType::kConnection, ProblemType::kDns, ProblemType::kUnauthorized,
                 ProblemType::kIncorrectResponse, ProblemType::kTls, ProblemType::kCaa,
                 ProblemType::kRejectedIdentifier, ProblemType::kMalformed,
                 ProblemType::kServerInternal}) {
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
