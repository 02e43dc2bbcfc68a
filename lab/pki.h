// The lab's PKI (the only one in the tree: `mpic fleet`, the benchmarks and the tests use it):
// one CA (EC P-256) and leaf certificates with DNS and IP subjectAltNames for servers and
// clients, as PEM. OpenSSL 3 C API only (no shelling out). For labs, demos and tests: keys are
// unencrypted, in memory and in the lab's directory, nothing more.
//
// In memory:
//   auto ca = mpic::lab::CertificateAuthority::Create("mpic fleet CA");
//   mpic::lab::LeafSpec spec;
//   spec.common_name = "eu-fra-1";
//   spec.dns_names = {"eu-fra-1"};
//   spec.ip_addresses = {"127.0.0.1"};
//   auto leaf = ca->Issue(spec);
//   mpic::lab::WriteFile(dir + "/eu-fra-1.key", leaf->key_pem, 0600);
//
// As files in one directory (DIR/ca.pem, DIR/ca.key, DIR/<common name>.pem and .key):
//   auto pki = mpic::lab::Pki::Create(dir + "/pki", "fleet CA");
//   auto server = pki->Issue("eu-fra-1", {"eu-fra-1"}, {"127.0.0.1"});  // server and client
//   // server->cert_file, server->key_file, pki->ca_cert: the three files of a TLS config.
//   auto rogue = mpic::lab::Pki::Create(dir + "/rogue", "other CA");  // a wrong CA
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/error.h"

namespace mpic::lab {

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

// A certificate authority and its leaves as PEM files in one directory. Copies share the CA.
struct CertPair {
  std::string cert_file;  // DIR/<common name>.pem: the leaf only
  std::string key_file;   // DIR/<common name>.key: PKCS#8, mode 0600
  std::string cert_pem;
  std::string key_pem;
};

struct Pki {
  std::string dir;      // where every file of this PKI lives
  std::string ca_cert;  // DIR/ca.pem
  std::string ca_key;   // DIR/ca.key (0600)
  std::string ca_cert_pem;
  std::string ca_key_pem;
  std::shared_ptr<const CertificateAuthority> authority;

  // Creates `dir` (and missing parents) and a CA "CN=<ca_name>" valid from an hour ago for
  // 30 days, written to DIR/ca.pem and DIR/ca.key.
  [[nodiscard]] static Result<Pki> Create(std::string dir, std::string ca_name = "mpic lab CA");

  // CertificateAuthority::Issue, written to DIR/<common name>.pem and .key (a repeated name
  // overwrites). kMalformed for an empty common name or one containing '/'.
  [[nodiscard]] Result<CertPair> Issue(const LeafSpec& spec) const;
  // A leaf for both serverAuth and clientAuth.
  [[nodiscard]] Result<CertPair> Issue(std::string common_name, std::vector<std::string> dns_sans,
                                       std::vector<std::string> ip_sans) const;
};

// Writes `contents` to `path` (created or truncated) with permission bits `mode`, applied even
// when the file existed (fchmod), so keys never end up world-readable.
[[nodiscard]] Status WriteFile(const std::string& path, const std::string& contents, unsigned mode);

}  // namespace mpic::lab
