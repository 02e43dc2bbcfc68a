// A tiny PKI for a local fleet: one CA (EC P-256) and leaf certificates with DNS and IP
// subjectAltNames for servers and clients, as PEM. OpenSSL 3 C API only (no shelling out).
// For labs and demos: the CA key lives in memory and in the fleet's directory, nothing more.
//
//   auto ca = mpic::tools::pki::CertificateAuthority::Create("mpic fleet CA");
//   mpic::tools::pki::LeafSpec spec;
//   spec.common_name = "eu-fra-1";
//   spec.dns_names = {"eu-fra-1"};
//   spec.ip_addresses = {"127.0.0.1"};
//   auto leaf = ca->Issue(spec);
//   mpic::tools::pki::WriteFile(dir + "/ca.pem", ca->cert_pem(), 0644);
//   mpic::tools::pki::WriteFile(dir + "/eu-fra-1.key", leaf->key_pem, 0600);
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"

namespace mpic::tools::pki {

struct KeyAndCert {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8, unencrypted
};

struct LeafSpec {
  std::string common_name;
  std::vector<std::string> dns_names;     // subjectAltName dNSName
  std::vector<std::string> ip_addresses;  // subjectAltName iPAddress, IPv4 or IPv6 literals
  bool server = true;                     // extendedKeyUsage serverAuth
  bool client = false;                    // extendedKeyUsage clientAuth
  std::chrono::hours validity{24 * 7};
};

class CertificateAuthority {
 public:
  // A self-signed CA certificate (basicConstraints CA:TRUE, pathlen 0) and its P-256 key,
  // valid from an hour ago (clock skew) for `validity`.
  [[nodiscard]] static Result<CertificateAuthority> Create(
      const std::string& common_name, std::chrono::hours validity = std::chrono::hours(24 * 30));

  CertificateAuthority(CertificateAuthority&&) noexcept;
  CertificateAuthority& operator=(CertificateAuthority&&) noexcept;
  ~CertificateAuthority();

  // A fresh P-256 key and a certificate for it signed by this CA. kMalformed for an empty
  // spec (no name at all, or neither server nor client) or an unparsable IP address.
  [[nodiscard]] Result<KeyAndCert> Issue(const LeafSpec& spec) const;

  [[nodiscard]] const std::string& cert_pem() const { return cert_pem_; }
  [[nodiscard]] const std::string& key_pem() const { return key_pem_; }

 private:
  struct State;
  explicit CertificateAuthority(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
  std::string cert_pem_;
  std::string key_pem_;
};

// Writes `contents` to `path` (created or truncated) with permission bits `mode`, applied even
// when the file existed (fchmod), so keys never end up world-readable.
[[nodiscard]] Status WriteFile(const std::string& path, const std::string& contents, unsigned mode);

}  // namespace mpic::tools::pki
