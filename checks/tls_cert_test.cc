#include "checks/internal/tls_cert.h"

#include <gtest/gtest.h>

#include "checks/key_authorization.h"
#include "checks/testing/tls_test_cert.h"

namespace mpic::checks::internal {
namespace {

using testing::AcmeExtensionValue;
using testing::MakeTestCert;
using testing::TestCertSpec;

constexpr std::string_view kKa = "tok.thumb";

struct CertCase {
  std::string name;
  std::string identifier;
  TestCertSpec spec;
  std::optional<ProblemType> problem;  // nullopt = valid
  std::string detail;                  // substring of the detail
};

std::vector<uint8_t> Good() { return AcmeExtensionValue(kKa); }

std::vector<CertCase> Cases() {
  auto wrong_digest = AcmeExtensionValue("other.thumb");
  auto short_value = Good();
  short_value.pop_back();
  short_value[1] = 31;
  auto long_value = Good();
  long_value.push_back(0);
  long_value[1] = 33;
  auto trailing = Good();
  trailing.push_back(0);
  auto bit_string = Good();
  bit_string[0] = 0x03;
  auto good = Good();
  std::vector<uint8_t> raw_digest(good.begin() + 2, good.end());
  using P = ProblemType;
  return {
      {"DnsValid", "www.example.com", {{"www.example.com"}, {}, 1, Good()}, std::nullopt, ""},
      {"DnsCaseInsensitive",
       "www.example.com",
       {{"WWW.Example.com"}, {}, 1, Good()},
       std::nullopt,
       ""},
      {"Ipv4Valid", "192.0.2.1", {{}, {"192.0.2.1"}, 1, Good()}, std::nullopt, ""},
      {"Ipv6Valid", "2001:db8::1", {{}, {"2001:db8::1"}, 1, Good()}, std::nullopt, ""},
      {"TwoDnsSans",
       "www.example.com",
       {{"www.example.com", "x.example.com"}, {}, 1, Good()},
       P::kUnauthorized,
       "exactly one name"},
      {"DnsAndIpSans",
       "www.example.com",
       {{"www.example.com"}, {"192.0.2.1"}, 1, Good()},
       P::kUnauthorized,
       "exactly one name"},
      {"NoSanExtension",
       "www.example.com",
       {{"www.example.com"}, {}, 0, Good()},
       P::kUnauthorized,
       "no subjectAltName"},
      {"TwoSanExtensions",
       "www.example.com",
       {{"www.example.com"}, {}, 2, Good()},
       P::kUnauthorized,
       "more than one subjectAltName"},
      {"EmptySan", "www.example.com", {{}, {}, 1, Good()}, P::kUnauthorized, "not 0"},
      {"WrongName",
       "www.example.com",
       {{"www.example.org"}, {}, 1, Good()},
       P::kUnauthorized,
       "DNS:www.example.org, expected DNS:www.example.com"},
      {"SuffixName",
       "www.example.com",
       {{"www.example.com.evil"}, {}, 1, Good()},
       P::kUnauthorized,
       "expected"},
      {"TrailingDotName",
       "www.example.com",
       {{"www.example.com."}, {}, 1, Good()},
       P::kUnauthorized,
       "expected"},
      {"DnsSanForIpIdentifier",
       "192.0.2.1",
       {{"192.0.2.1"}, {}, 1, Good()},
       P::kUnauthorized,
       "expected IP:192.0.2.1"},
      {"IpSanForDnsIdentifier",
       "www.example.com",
       {{}, {"192.0.2.1"}, 1, Good()},
       P::kUnauthorized,
       "IP:192.0.2.1, expected DNS:www.example.com"},
      {"WrongIp", "192.0.2.1", {{}, {"192.0.2.2"}, 1, Good()}, P::kUnauthorized, "IP:192.0.2.2"},
      {"V4MappedSanForV4Identifier",
       "192.0.2.1",
       {{}, {"::ffff:192.0.2.1"}, 1, Good()},
       P::kUnauthorized,
       "expected IP:192.0.2.1"},
      {"NoAcmeExtension",
       "www.example.com",
       {{"www.example.com"}, {}, 1, std::nullopt},
       P::kUnauthorized,
       "no acmeIdentifier"},
      {"NonCritical",
       "www.example.com",
       {{"www.example.com"}, {}, 1, Good(), false},
       P::kUnauthorized,
       "not marked critical"},
      {"TwoAcmeExtensions",
       "www.example.com",
       {{"www.example.com"}, {}, 1, Good(), true, 2},
       P::kUnauthorized,
       "more than one acmeIdentifier"},
      {"WrongDigest",
       "www.example.com",
       {{"www.example.com"}, {}, 1, wrong_digest},
       P::kUnauthorized,
       "expected SHA-256"},
      {"ShortDigest",
       "www.example.com",
       {{"www.example.com"}, {}, 1, short_value},
       P::kUnauthorized,
       "not an OCTET STRING of 32 bytes"},
      {"LongDigest",
       "www.example.com",
       {{"www.example.com"}, {}, 1, long_value},
       P::kUnauthorized,
       "not an OCTET STRING of 32 bytes"},
      {"TrailingBytes",
       "www.example.com",
       {{"www.example.com"}, {}, 1, trailing},
       P::kUnauthorized,
       "not an OCTET STRING of 32 bytes"},
      {"WrongTag",
       "www.example.com",
       {{"www.example.com"}, {}, 1, bit_string},
       P::kUnauthorized,
       "not an OCTET STRING of 32 bytes"},
      {"RawDigestWithoutDer",
       "www.example.com",
       {{"www.example.com"}, {}, 1, raw_digest},
       P::kUnauthorized,
       "not an OCTET STRING of 32 bytes"},
      {"EmptyValue",
       "www.example.com",
       {{"www.example.com"}, {}, 1, std::vector<uint8_t>{}},
       P::kUnauthorized,
       "not an OCTET STRING"},
  };
}

class VerifyAcmeCertificateTest : public ::testing::TestWithParam<CertCase> {};

TEST_P(VerifyAcmeCertificateTest, Verifies) {
  const auto& c = GetParam();
  auto cert = MakeTestCert(c.spec);
  ASSERT_TRUE(cert.has_value()) << cert.error();
  Evidence ev;
  auto status = VerifyAcmeCertificate(cert->der, c.identifier, kKa, &ev);
  EXPECT_EQ(ev.cert_sha256,
            Hex(Sha256(std::string_view(reinterpret_cast<const char*>(cert->der.data()),
                                        cert->der.size()))));
  if (!c.problem) {
    EXPECT_TRUE(status.has_value()) << status.error().detail;
    EXPECT_EQ(ev.acme_identifier_hex, Hex(Sha256(kKa)));
    ASSERT_EQ(ev.cert_sans.size(), 1u);
    return;
  }
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().type, *c.problem) << status.error().detail;
  EXPECT_NE(status.error().detail.find(c.detail), std::string::npos) << status.error().detail;
}

INSTANTIATE_TEST_SUITE_P(Table, VerifyAcmeCertificateTest, ::testing::ValuesIn(Cases()),
                         [](const auto& test_info) { return test_info.param.name; });

TEST(VerifyAcmeCertificateTest, EvidenceListsEverySan) {
  auto cert = MakeTestCert({{"a.example.com", "b.example.com"}, {"2001:db8::1"}, 1, Good()});
  ASSERT_TRUE(cert.has_value());
  Evidence ev;
  EXPECT_FALSE(VerifyAcmeCertificate(cert->der, "a.example.com", kKa, &ev).has_value());
  EXPECT_EQ(ev.cert_sans,
            (std::vector<std::string>{"DNS:a.example.com", "DNS:b.example.com", "IP:2001:db8::1"}));
}

TEST(VerifyAcmeCertificateTest, GarbageIsATlsProblem) {
  auto cert = MakeTestCert({{"www.example.com"}, {}, 1, Good()});
  ASSERT_TRUE(cert.has_value());
  std::vector<std::vector<uint8_t>> inputs = {
      {},
      {0x30},
      {0x30, 0x82, 0xff, 0xff},
      std::vector<uint8_t>(cert->der.begin(), cert->der.end() - 1),  // truncated
      std::vector<uint8_t>(100, 0x41),
  };
  auto trailing = cert->der;
  trailing.push_back(0);  // a second object after the certificate
  inputs.push_back(trailing);
  for (const auto& der : inputs) {
    auto status = VerifyAcmeCertificate(der, "www.example.com", kKa, nullptr);
    ASSERT_FALSE(status.has_value());
    EXPECT_EQ(status.error().type, ProblemType::kTls) << status.error().detail;
  }
}

TEST(VerifyAcmeCertificateTest, EveryTruncationAndBitFlipIsHandled) {
  // A cheap stand-in for the fuzzer: no crash, no acceptance of a damaged certificate's
  // signature-independent fields unless the bytes still say the right thing.
  auto cert = MakeTestCert({{"www.example.com"}, {}, 1, Good()});
  ASSERT_TRUE(cert.has_value());
  for (size_t n = 0; n < cert->der.size(); n += 7) {
    std::span<const uint8_t> prefix(cert->der.data(), n);
    EXPECT_FALSE(VerifyAcmeCertificate(prefix, "www.example.com", kKa, nullptr).has_value());
  }
  for (size_t i = 0; i < cert->der.size(); ++i) {
    auto copy = cert->der;
    copy[i] ^= 0x5a;
    (void)VerifyAcmeCertificate(copy, "www.example.com", kKa, nullptr);
  }
}

TEST(VerifyAcmeCertificateTest, MalformedIdentifier) {
  auto cert = MakeTestCert({{"www.example.com"}, {}, 1, Good()});
  ASSERT_TRUE(cert.has_value());
  auto status = VerifyAcmeCertificate(cert->der, "*.example.com", kKa, nullptr);
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().type, ProblemType::kMalformed);
}

TEST(ReverseDnsNameTest, Rfc8738Section6) {
  EXPECT_EQ(ReverseDnsName(asio::ip::make_address("1.2.3.4")), "4.3.2.1.in-addr.arpa");
  EXPECT_EQ(ReverseDnsName(asio::ip::make_address("127.0.0.1")), "1.0.0.127.in-addr.arpa");
  // RFC 3596 §2.5's example address.
  EXPECT_EQ(ReverseDnsName(asio::ip::make_address("4321:0:1:2:3:4:567:89ab")),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa");
}

}  // namespace
}  // namespace mpic::checks::internal
