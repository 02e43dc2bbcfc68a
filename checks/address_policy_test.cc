#include "checks/address_policy.h"

#include <gtest/gtest.h>

namespace mpic::checks {
namespace {

asio::ip::address Addr(const std::string& text) { return asio::ip::make_address(text); }

struct CidrCase {
  std::string text;
  bool ok;
  std::string canonical;  // ToString() when ok
};

class CidrParseTest : public ::testing::TestWithParam<CidrCase> {};

TEST_P(CidrParseTest, Parses) {
  const auto& c = GetParam();
  auto cidr = Cidr::Parse(c.text);
  ASSERT_EQ(cidr.has_value(), c.ok) << c.text;
  if (c.ok) {
    EXPECT_EQ(cidr->ToString(), c.canonical);
  } else {
    EXPECT_EQ(cidr.error().type, ProblemType::kMalformed);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, CidrParseTest,
                         ::testing::Values(CidrCase{"10.0.0.0/8", true, "10.0.0.0/8"},
                                           CidrCase{"0.0.0.0/0", true, "0.0.0.0/0"},
                                           CidrCase{"1.2.3.4/32", true, "1.2.3.4/32"},
                                           CidrCase{"127.12.34.0/24", true, "127.12.34.0/24"},
                                           CidrCase{"::/0", true, "::/0"},
                                           CidrCase{"::1/128", true, "::1/128"},
                                           CidrCase{"2001:DB8::/32", true, "2001:db8::/32"},
                                           CidrCase{"fe80::/10", true, "fe80::/10"},
                                           CidrCase{"10.0.0.1/8", false, ""},     // host bits set
                                           CidrCase{"10.0.0.0", false, ""},       // no prefix
                                           CidrCase{"10.0.0.0/", false, ""},      // empty prefix
                                           CidrCase{"10.0.0.0/33", false, ""},    // too long for v4
                                           CidrCase{"::/129", false, ""},         // too long for v6
                                           CidrCase{"10.0.0.0/08", false, ""},    // leading zero
                                           CidrCase{"10.0.0.0/-1", false, ""},    // sign
                                           CidrCase{"10.0.0.0/8x", false, ""},    // trailing junk
                                           CidrCase{"10.0.0/8", false, ""},       // short address
                                           CidrCase{"example.com/8", false, ""},  // not an address
                                           CidrCase{"fe80::%eth0/10", false, ""},  // zone index
                                           CidrCase{"", false, ""}, CidrCase{"/8", false, ""}));

struct ContainsCase {
  std::string cidr;
  std::string address;
  bool contains;
};

class CidrContainsTest : public ::testing::TestWithParam<ContainsCase> {};

TEST_P(CidrContainsTest, Contains) {
  const auto& c = GetParam();
  auto cidr = Cidr::Parse(c.cidr);
  ASSERT_TRUE(cidr.has_value()) << c.cidr;
  EXPECT_EQ(cidr->Contains(Addr(c.address)), c.contains) << c.cidr << " " << c.address;
}

INSTANTIATE_TEST_SUITE_P(
    Table, CidrContainsTest,
    ::testing::Values(ContainsCase{"10.0.0.0/8", "10.0.0.0", true},
                      ContainsCase{"10.0.0.0/8", "10.255.255.255", true},
                      ContainsCase{"10.0.0.0/8", "11.0.0.0", false},
                      ContainsCase{"10.0.0.0/8", "9.255.255.255", false},
                      ContainsCase{"100.64.0.0/10", "100.127.255.255", true},
                      ContainsCase{"100.64.0.0/10", "100.128.0.0", false},
                      ContainsCase{"100.64.0.0/10", "100.63.255.255", false},
                      ContainsCase{"0.0.0.0/0", "255.255.255.255", true},
                      ContainsCase{"1.2.3.4/32", "1.2.3.4", true},
                      ContainsCase{"1.2.3.4/32", "1.2.3.5", false},
                      ContainsCase{"10.0.0.0/8", "::ffff:10.0.0.1", false},  // raw: families differ
                      ContainsCase{"::/0", "10.0.0.1", false},
                      ContainsCase{"2001::/23", "2001:1ff:ffff::", true},
                      ContainsCase{"2001::/23", "2001:200::", false},
                      ContainsCase{"fe80::/10", "febf:ffff::1", true},
                      ContainsCase{"fe80::/10", "fec0::1", false},
                      ContainsCase{"::1/128", "::1", true}, ContainsCase{"::1/128", "::2", false}));

struct PolicyCase {
  std::string address;
  std::string range;  // "" = allowed; else a substring of the refusal detail
};

class ProductionPolicyTest : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(ProductionPolicyTest, Judges) {
  const auto& c = GetParam();
  AddressPolicy policy;
  EXPECT_FALSE(policy.lab_mode());
  auto status = policy.Check(Addr(c.address));
  if (c.range.empty()) {
    EXPECT_TRUE(status.has_value()) << c.address << ": " << status.error().detail;
    EXPECT_EQ(AddressPolicy::ReservedRange(Addr(c.address)), "");
  } else {
    ASSERT_FALSE(status.has_value()) << c.address << " should be refused";
    EXPECT_EQ(status.error().type, ProblemType::kConnection);
    EXPECT_NE(status.error().detail.find(c.range), std::string::npos)
        << c.address << ": " << status.error().detail;
    EXPECT_NE(status.error().detail.find(c.address), std::string::npos);
  }
}

// Every IPv4 row: first address, last address, and the neighbours just outside.
INSTANTIATE_TEST_SUITE_P(
    V4, ProductionPolicyTest,
    ::testing::Values(
        PolicyCase{"0.0.0.0", "0.0.0.0/8"}, PolicyCase{"0.255.255.255", "0.0.0.0/8"},
        PolicyCase{"1.0.0.0", ""}, PolicyCase{"9.255.255.255", ""},
        PolicyCase{"10.0.0.0", "10.0.0.0/8"}, PolicyCase{"10.255.255.255", "10.0.0.0/8"},
        PolicyCase{"11.0.0.0", ""}, PolicyCase{"100.63.255.255", ""},
        PolicyCase{"100.64.0.0", "100.64.0.0/10"}, PolicyCase{"100.127.255.255", "100.64.0.0/10"},
        PolicyCase{"100.128.0.0", ""}, PolicyCase{"126.255.255.255", ""},
        PolicyCase{"127.0.0.0", "127.0.0.0/8"}, PolicyCase{"127.0.0.1", "127.0.0.0/8"},
        PolicyCase{"127.255.255.255", "127.0.0.0/8"}, PolicyCase{"128.0.0.0", ""},
        PolicyCase{"169.253.255.255", ""}, PolicyCase{"169.254.0.0", "169.254.0.0/16"},
        PolicyCase{"169.254.169.254", "169.254.0.0/16"}, PolicyCase{"169.255.0.0", ""},
        PolicyCase{"172.15.255.255", ""}, PolicyCase{"172.16.0.0", "172.16.0.0/12"},
        PolicyCase{"172.31.255.255", "172.16.0.0/12"}, PolicyCase{"172.32.0.0", ""},
        PolicyCase{"191.255.255.255", ""}, PolicyCase{"192.0.0.0", "192.0.0.0/24"},
        PolicyCase{"192.0.0.9", "192.0.0.0/24"}, PolicyCase{"192.0.0.10", "192.0.0.0/24"},
        PolicyCase{"192.0.0.255", "192.0.0.0/24"}, PolicyCase{"192.0.1.0", ""},
        PolicyCase{"192.0.2.0", "192.0.2.0/24"}, PolicyCase{"192.0.2.255", "192.0.2.0/24"},
        PolicyCase{"192.0.3.0", ""}, PolicyCase{"192.31.196.1", ""},  // AS112-v4
        PolicyCase{"192.52.193.1", ""},                               // AMT
        PolicyCase{"192.88.98.255", ""}, PolicyCase{"192.88.99.0", "192.88.99.0/24"},
        PolicyCase{"192.88.99.255", "192.88.99.0/24"}, PolicyCase{"192.88.100.0", ""},
        PolicyCase{"192.167.255.255", ""}, PolicyCase{"192.168.0.0", "192.168.0.0/16"},
        PolicyCase{"192.168.255.255", "192.168.0.0/16"}, PolicyCase{"192.169.0.0", ""},
        PolicyCase{"192.175.48.1", ""},  // AS112 direct delegation
        PolicyCase{"198.17.255.255", ""}, PolicyCase{"198.18.0.0", "198.18.0.0/15"},
        PolicyCase{"198.19.255.255", "198.18.0.0/15"}, PolicyCase{"198.20.0.0", ""},
        PolicyCase{"198.51.99.255", ""}, PolicyCase{"198.51.100.0", "198.51.100.0/24"},
        PolicyCase{"198.51.100.255", "198.51.100.0/24"}, PolicyCase{"198.51.101.0", ""},
        PolicyCase{"203.0.112.255", ""}, PolicyCase{"203.0.113.0", "203.0.113.0/24"},
        PolicyCase{"203.0.113.255", "203.0.113.0/24"}, PolicyCase{"203.0.114.0", ""},
        PolicyCase{"223.255.255.255", ""}, PolicyCase{"224.0.0.0", "224.0.0.0/4"},
        PolicyCase{"239.255.255.255", "224.0.0.0/4"}, PolicyCase{"240.0.0.0", "240.0.0.0/4"},
        PolicyCase{"255.255.255.254", "240.0.0.0/4"},
        PolicyCase{"255.255.255.255", "255.255.255.255/32"}, PolicyCase{"8.8.8.8", ""},
        PolicyCase{"1.1.1.1", ""}, PolicyCase{"93.184.216.34", ""}));

INSTANTIATE_TEST_SUITE_P(
    V6, ProductionPolicyTest,
    ::testing::Values(
        PolicyCase{"::", "::/128"}, PolicyCase{"::1", "::1/128"},
        PolicyCase{"::2", "::/96"},       // IPv4-compatible (deprecated)
        PolicyCase{"::1:0:0:0", "::/8"},  // reserved by IETF
        // IPv4-mapped: judged as the IPv4 address inside.
        PolicyCase{"::ffff:127.0.0.1", "127.0.0.0/8"}, PolicyCase{"::ffff:10.1.2.3", "10.0.0.0/8"},
        PolicyCase{"::ffff:169.254.169.254", "169.254.0.0/16"}, PolicyCase{"::ffff:8.8.8.8", ""},
        PolicyCase{"64:ff9b::808:808", "64:ff9b::/96"},
        PolicyCase{"64:ff9b::a00:1", "64:ff9b::/96"}, PolicyCase{"64:ff9b:1::1", "64:ff9b:1::/48"},
        PolicyCase{"100::", "100::/64"}, PolicyCase{"100::ffff:ffff:ffff:ffff", "100::/64"},
        PolicyCase{"100:0:0:1::1", "100:0:0:1::/64"}, PolicyCase{"100:0:0:2::", "2000::/3"},
        // 2001::/23 and its carve-outs (IANA registry "globally reachable" column).
        PolicyCase{"2001::", "2001::/32"}, PolicyCase{"2001:0:ffff::1", "2001::/32"},
        PolicyCase{"2001:1::1", "2001::/23"}, PolicyCase{"2001:1::2", "2001::/23"},
        PolicyCase{"2001:1::3", "2001::/23"}, PolicyCase{"2001:2::1", "2001:2::/48"},
        PolicyCase{"2001:2:1::1", "2001::/23"}, PolicyCase{"2001:3::1", ""},
        PolicyCase{"2001:4:112::1", ""}, PolicyCase{"2001:4:113::1", "2001::/23"},
        PolicyCase{"2001:10::1", "2001:10::/28"}, PolicyCase{"2001:1f::1", "2001:10::/28"},
        PolicyCase{"2001:20::1", ""}, PolicyCase{"2001:2f:ffff::1", ""},
        PolicyCase{"2001:30::1", ""}, PolicyCase{"2001:40::1", "2001::/23"},
        PolicyCase{"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "2001::/23"},
        PolicyCase{"2001:200::1", ""},  // first address past 2001::/23 (WIDE)
        PolicyCase{"2001:db7:ffff::1", ""}, PolicyCase{"2001:db8::", "2001:db8::/32"},
        PolicyCase{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::/32"},
        PolicyCase{"2001:db9::", ""}, PolicyCase{"2002::", "2002::/16"},
        PolicyCase{"2002:a00:1::1", "2002::/16"}, PolicyCase{"2003::1", ""},
        PolicyCase{"2606:4700:4700::1111", ""}, PolicyCase{"2001:4860:4860::8888", ""},
        PolicyCase{"2620:4f:8000::1", ""},  // AS112 direct delegation
        PolicyCase{"3ffe:ffff::1", ""}, PolicyCase{"3fff::", "3fff::/20"},
        PolicyCase{"3fff:fff::1", "3fff::/20"}, PolicyCase{"3fff:1000::1", ""},
        PolicyCase{"5f00::1", "5f00::/16"}, PolicyCase{"4000::1", "2000::/3"},
        PolicyCase{"fbff::1", "2000::/3"}, PolicyCase{"fc00::", "fc00::/7"},
        PolicyCase{"fd00:6c61:6200::200", "fc00::/7"}, PolicyCase{"fdff:ffff::1", "fc00::/7"},
        PolicyCase{"fe80::", "fe80::/10"}, PolicyCase{"fe80::1", "fe80::/10"},
        PolicyCase{"febf::1", "fe80::/10"}, PolicyCase{"fec0::1", "fec0::/10"},
        PolicyCase{"ff00::", "ff00::/8"}, PolicyCase{"ff02::1", "ff00::/8"},
        PolicyCase{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff00::/8"}));

TEST(AddressPolicyTest, ScopedAddressIsRefused) {
  auto v6 = asio::ip::make_address_v6("fe80::1");
  v6.scope_id(2);
  AddressPolicy policy;
  EXPECT_FALSE(policy.Check(v6).has_value());
  // Even a scoped global address: a zone index never belongs to a validation target.
  auto global = asio::ip::make_address_v6("2606:4700::1");
  global.scope_id(2);
  EXPECT_FALSE(policy.Check(global).has_value());
}

TEST(AddressPolicyTest, LabRangesOverride) {
  AddressPolicy policy;
  ASSERT_TRUE(policy.AllowLabRange("127.12.34.0/24").has_value());
  ASSERT_TRUE(policy.AllowLabRange("::1/128").has_value());
  EXPECT_TRUE(policy.lab_mode());
  EXPECT_TRUE(policy.Check(Addr("127.12.34.100")).has_value());
  EXPECT_TRUE(policy.Check(Addr("::ffff:127.12.34.100")).has_value());
  EXPECT_TRUE(policy.Check(Addr("::1")).has_value());
  // Only the named ranges: the rest of loopback and every other reserved range stay refused.
  EXPECT_FALSE(policy.Check(Addr("127.0.0.1")).has_value());
  EXPECT_FALSE(policy.Check(Addr("127.12.35.1")).has_value());
  EXPECT_FALSE(policy.Check(Addr("10.0.0.1")).has_value());
  EXPECT_FALSE(policy.Check(Addr("169.254.169.254")).has_value());
  EXPECT_FALSE(policy.Check(Addr("fe80::1")).has_value());
  EXPECT_TRUE(policy.Check(Addr("8.8.8.8")).has_value());
}

TEST(AddressPolicyTest, BadLabRangeIsAnError) {
  AddressPolicy policy;
  auto st = policy.AllowLabRange("127.0.0.1/8");
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().type, ProblemType::kMalformed);
  EXPECT_FALSE(policy.lab_mode());
}

TEST(AddressPolicyTest, DetailNamesRangeAndPurpose) {
  AddressPolicy policy;
  auto st = policy.Check(Addr("169.254.169.254"));
  ASSERT_FALSE(st.has_value());
  EXPECT_EQ(st.error().detail,
            "address 169.254.169.254 is in 169.254.0.0/16 (link-local, RFC 3927): not a public "
            "address, refused");
}

}  // namespace
}  // namespace mpic::checks
