// A throwaway PKI for tests: a self-signed CA and leaf certificates (EC P-256, both
// serverAuth and clientAuth, DNS and IP subjectAltNames), written as PEM files into a
// directory. OpenSSL C API only. Never use outside tests: keys are unencrypted on disk.
//
//   auto pki = mpic::testing::TestPki::Create(dir + "/pki", "fleet CA");
//   ASSERT_TRUE(pki) << pki.error().detail;
//   auto server = pki->Issue("eu-fra-1", {"eu-fra-1"}, {"127.0.0.1"});
//   auto client = pki->Issue("primary", {"primary"}, {});
//   // server->cert_file, server->key_file, pki->ca_cert: the three files of a v1::TlsFiles.
//   auto rogue = mpic::testing::TestPki::Create(dir + "/rogue", "other CA");  // wrong CA
#pragma once

#include <string>
#include <vector>

#include "common/error.h"

namespace mpic::testing {

struct CertPair {
  std::string cert_file;  // PEM certificate (the leaf only)
  std::string key_file;   // PEM PKCS#8 private key, mode 0600
  std::string cert_pem;
  std::string key_pem;
};

struct TestPki {
  std::string dir;      // where every file of this PKI lives
  std::string ca_cert;  // DIR/ca.pem
  std::string ca_key;   // DIR/ca.key
  std::string ca_cert_pem;
  std::string ca_key_pem;

  // Creates `dir` (and missing parents) and a CA "CN=<ca_name>" valid from an hour ago for
  // 30 days.
  [[nodiscard]] static Result<TestPki> Create(std::string dir,
                                              std::string ca_name = "mpic test CA");

  // A fresh key and a certificate for it signed by this CA, written to
  // DIR/<common_name>.pem and DIR/<common_name>.key (a repeated name overwrites). IP SANs are
  // IPv4 or IPv6 literals; kMalformed for an unparsable one or an empty common name.
  [[nodiscard]] Result<CertPair> Issue(std::string common_name, std::vector<std::string> dns_sans,
                                       std::vector<std::string> ip_sans) const;
};

}  // namespace mpic::testing
