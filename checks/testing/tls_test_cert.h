// Self-signed certificates for TLS-ALPN-01 tests, right and wrong in every way RFC 8737 §3
// cares about (SAN count and kind, acmeIdentifier presence, criticality, size, digest).
//
//   auto cert = MakeTestCert({.dns_names = {"www.secure.lab"},
//                             .acme_value = AcmeExtensionValue(key_authorization)});
//   // cert->der: the certificate; cert->key_pem: its private key, for a test server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace mpic::checks::testing {

struct TestCertSpec {
  std::vector<std::string> dns_names;     // dNSName entries, in order
  std::vector<std::string> ip_addresses;  // iPAddress entries, in order (text form)
  int san_extensions = 1;                 // copies of the subjectAltName extension (0 = none)
  // The acmeIdentifier extnValue bytes (normally 04 20 <32 bytes>); nullopt = no extension.
  std::optional<std::vector<uint8_t>> acme_value;
  bool acme_critical = true;
  int acme_extensions = 1;  // copies of the acmeIdentifier extension
};

struct TestCert {
  std::vector<uint8_t> der;
  std::string key_pem;
};

// 04 20 || SHA-256(key_authorization): the DER of the OCTET STRING RFC 8737 §3 requires.
[[nodiscard]] std::vector<uint8_t> AcmeExtensionValue(std::string_view key_authorization);

[[nodiscard]] tl::expected<TestCert, std::string> MakeTestCert(const TestCertSpec& spec);

}  // namespace mpic::checks::testing
