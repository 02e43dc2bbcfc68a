// The TLS-ALPN-01 verdict on the certificate a server presented (RFC 8737 §3, RFC 8738 §6): a
// pure function over DER bytes, so it can be fuzzed and table-tested without a handshake.
// The certificate is self-signed and carries the critical acmeIdentifier extension, which
// OpenSSL 3.0 refuses in chain verification (docs/architecture.md, Pitfalls); so nothing about it is delegated
// to X509_verify: every rule is checked here, by hand.
//
//   Evidence ev;
//   Status ok = VerifyAcmeCertificate(der, "www.example.com", key_authorization, &ev);
//   // ev.cert_sans, ev.cert_sha256, ev.acme_identifier_hex are filled whatever the verdict.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "checks/check.h"

namespace mpic::checks::internal {

// id-pe-acmeIdentifier (RFC 8737 §6.1).
inline constexpr std::string_view kAcmeIdentifierOid = "1.3.6.1.5.5.7.1.31";
// The only ALPN protocol offered and accepted (RFC 8737 §6.2).
inline constexpr std::string_view kAcmeTlsAlpn = "acme-tls/1";

// Checks, in order: the DER is exactly one X.509 certificate (else kTls); exactly one
// subjectAltName extension holding exactly one name, a dNSName equal to `identifier`
// (case-insensitive, RFC 4343) or, for an IP identifier, an iPAddress equal to it (RFC 8738
// §6); exactly one acmeIdentifier extension, marked critical, whose value is the DER of an
// OCTET STRING of exactly 32 bytes equal to SHA-256(key_authorization) (RFC 8737 §3).
// Failures after parsing are kUnauthorized: a well-formed TLS exchange whose content does not
// prove control (see tls_alpn01.cc). `evidence` (may be null) gets cert_sans, cert_sha256 and
// acme_identifier_hex.
[[nodiscard]] Status VerifyAcmeCertificate(std::span<const uint8_t> der,
                                           std::string_view identifier,
                                           std::string_view key_authorization, Evidence* evidence);
// The same with the key authorization's SHA-256 digest given directly (the Open MPIC API's
// key_authorization_hash).
[[nodiscard]] Status VerifyAcmeCertificateDigest(std::span<const uint8_t> der,
                                                 std::string_view identifier,
                                                 const std::array<uint8_t, 32>& expected,
                                                 Evidence* evidence);

// The SNI for an IP identifier (RFC 8738 §6): the reverse-mapping name without the trailing
// dot, "4.3.2.1.in-addr.arpa" or 32 nibbles then "ip6.arpa" (RFC 3596 §2.5).
[[nodiscard]] std::string ReverseDnsName(const asio::ip::address& address);

}  // namespace mpic::checks::internal
