#include "lab/pki.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace mpic::lab {
namespace {

LeafSpec Spec(std::string name, std::vector<std::string> dns, std::vector<std::string> ips,
              bool server = true, bool client = false) {
  LeafSpec spec;
  spec.common_name = std::move(name);
  spec.dns_names = std::move(dns);
  spec.ip_addresses = std::move(ips);
  spec.server = server;
  spec.client = client;
  return spec;
}

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using Cert = std::unique_ptr<X509, X509Free>;

Cert ParseCert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  Cert cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return cert;
}

// X509_verify_cert of leaf against ca for `purpose` (X509_PURPOSE_SSL_SERVER/CLIENT).
int Verify(X509* ca, X509* leaf, int purpose) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  int ok = X509_verify_cert(ctx);
  int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return err;
}

TEST(Pki, LeafChainsToCaWithSansAndUsages) {
  auto ca = CertificateAuthority::Create("test fleet CA");
  ASSERT_TRUE(ca.has_value()) << ca.error().detail;
  auto leaf = ca->Issue(Spec("eu-fra-1", {"eu-fra-1", "localhost"}, {"127.0.0.1", "::1"}));
  ASSERT_TRUE(leaf.has_value()) << leaf.error().detail;

  Cert ca_cert = ParseCert(ca->cert_pem());
  Cert leaf_cert = ParseCert(leaf->cert_pem);
  ASSERT_TRUE(ca_cert && leaf_cert);
  EXPECT_EQ(Verify(ca_cert.get(), leaf_cert.get(), X509_PURPOSE_SSL_SERVER), X509_V_OK);
  // serverAuth only: not usable as a client certificate.
  EXPECT_NE(Verify(ca_cert.get(), leaf_cert.get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);

  EXPECT_EQ(X509_check_host(leaf_cert.get(), "eu-fra-1", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(leaf_cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(leaf_cert.get(), "us-west-1", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf_cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf_cert.get(), "::1", 0), 1);
  EXPECT_NE(X509_check_ip_asc(leaf_cert.get(), "127.0.0.2", 0), 1);

  // The key is P-256 and matches the certificate.
  BIO* bio = BIO_new_mem_buf(leaf->key_pem.data(), static_cast<int>(leaf->key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_bits(key), 256);
  EXPECT_EQ(X509_check_private_key(leaf_cert.get(), key), 1);
  EVP_PKEY_free(key);
}

TEST(Pki, ClientAndServerUsages) {
  auto ca = CertificateAuthority::Create("test fleet CA");
  ASSERT_TRUE(ca.has_value());
  auto both = ca->Issue(Spec("va-primary", {}, {}, true, true));
  ASSERT_TRUE(both.has_value()) << both.error().detail;
  Cert ca_cert = ParseCert(ca->cert_pem());
  Cert cert = ParseCert(both->cert_pem);
  EXPECT_EQ(Verify(ca_cert.get(), cert.get(), X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_EQ(Verify(ca_cert.get(), cert.get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);
}

TEST(Pki, AnotherCaDoesNotVerify) {
  auto ca1 = CertificateAuthority::Create("one");
  auto ca2 = CertificateAuthority::Create("two");
  ASSERT_TRUE(ca1.has_value() && ca2.has_value());
  auto leaf = ca1->Issue(Spec("x", {"x"}, {}));
  ASSERT_TRUE(leaf.has_value());
  Cert other = ParseCert(ca2->cert_pem());
  Cert cert = ParseCert(leaf->cert_pem);
  EXPECT_NE(Verify(other.get(), cert.get(), X509_PURPOSE_SSL_SERVER), X509_V_OK);
}

TEST(Pki, RejectsBadSpecs) {
  auto ca = CertificateAuthority::Create("ca");
  ASSERT_TRUE(ca.has_value());
  EXPECT_FALSE(ca->Issue(LeafSpec{}).has_value());
  EXPECT_FALSE(ca->Issue(Spec("x", {}, {}, false, false)).has_value());
  auto bad_ip = ca->Issue(Spec("x", {}, {"not-an-ip"}));
  ASSERT_FALSE(bad_ip.has_value());
  EXPECT_EQ(bad_ip.error().type, ProblemType::kMalformed);
  EXPECT_FALSE(CertificateAuthority::Create("").has_value());
}

TEST(Pki, WriteFileSetsModeEvenOnExistingFiles) {
  char tmpl[] = "/tmp/mpic-pki-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/key.pem";
  {
    std::ofstream f(path);
    f << "old";
  }
  chmod(path.c_str(), 0666);
  ASSERT_TRUE(WriteFile(path, "secret", 0600).has_value());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(path);
  std::stringstream body;
  body << in.rdbuf();
  EXPECT_EQ(body.str(), "secret");
  std::filesystem::remove_all(tmpl);
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream body;
  body << in.rdbuf();
  return body.str();
}

TEST(Pki, FilesInOneDirectory) {
  char tmpl[] = "/tmp/mpic-pki-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/pki";
  auto pki = Pki::Create(dir, "files CA");
  ASSERT_TRUE(pki.has_value()) << pki.error().detail;
  EXPECT_EQ(pki->ca_cert, dir + "/ca.pem");
  EXPECT_EQ(ReadText(pki->ca_cert), pki->ca_cert_pem);
  EXPECT_EQ(ReadText(pki->ca_key), pki->ca_key_pem);

  const Pki copy = *pki;  // copies share the CA
  auto leaf = copy.Issue("eu-fra-1", {"eu-fra-1"}, {"127.0.0.1"});
  ASSERT_TRUE(leaf.has_value()) << leaf.error().detail;
  EXPECT_EQ(leaf->cert_file, dir + "/eu-fra-1.pem");
  EXPECT_EQ(ReadText(leaf->cert_file), leaf->cert_pem);
  EXPECT_EQ(ReadText(leaf->key_file), leaf->key_pem);
  struct stat st {};
  ASSERT_EQ(stat(leaf->key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(pki->ca_key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  Cert ca_cert = ParseCert(pki->ca_cert_pem);
  Cert cert = ParseCert(leaf->cert_pem);
  ASSERT_TRUE(ca_cert && cert);
  EXPECT_EQ(Verify(ca_cert.get(), cert.get(), X509_PURPOSE_SSL_SERVER), X509_V_OK);
  EXPECT_EQ(Verify(ca_cert.get(), cert.get(), X509_PURPOSE_SSL_CLIENT), X509_V_OK);

  // A file name comes from the common name: none that would leave the directory.
  auto escape = pki->Issue("../x", {"x"}, {});
  ASSERT_FALSE(escape.has_value());
  EXPECT_EQ(escape.error().type, ProblemType::kMalformed);
  EXPECT_FALSE(pki->Issue("", {"x"}, {}).has_value());
  EXPECT_FALSE(Pki{}.Issue("x", {"x"}, {}).has_value());  // no CA
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace mpic::lab
