#include "tests/integration/test_certs.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>

namespace mpic::testing {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};
template <typename T>
using Ptr = std::unique_ptr<T, Free>;

tl::unexpected<Error> SslFail(const std::string& what) {
  unsigned long code = ERR_get_error();
  std::string detail = what;
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    detail += ": ";
    detail += buf;
  }
  ERR_clear_error();
  return Fail(ProblemType::kServerInternal, detail);
}

Result<Ptr<EVP_PKEY>> NewKey() {
  Ptr<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (!key) return SslFail("cannot generate a P-256 key");
  return key;
}

template <typename Writer>
Result<std::string> Pem(Writer write) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || !write(bio.get())) return SslFail("cannot encode PEM");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Status WriteFile(const std::string& path, const std::string& data, mode_t mode) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << data;
    if (!out) return Fail(ProblemType::kServerInternal, "cannot write " + tmp);
  }
  if (chmod(tmp.c_str(), mode) != 0 || rename(tmp.c_str(), path.c_str()) != 0) {
    return Fail(ProblemType::kServerInternal, "cannot install " + path);
  }
  return {};
}

Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  Ptr<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return SslFail(std::string("cannot add ") + OBJ_nid2sn(nid));
  }
  return {};
}

Status AddSans(X509* cert, const std::vector<std::string>& dns,
               const std::vector<std::string>& ips) {
  Ptr<GENERAL_NAMES> names(GENERAL_NAMES_new());
  if (!names) return SslFail("out of memory");
  for (const auto& name : dns) {
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    if (!ia5 || ASN1_STRING_set(ia5, name.data(), static_cast<int>(name.size())) != 1) {
      ASN1_IA5STRING_free(ia5);
      return SslFail("cannot encode " + name);
    }
    GENERAL_NAME* gn = GENERAL_NAME_new();
    if (!gn) {
      ASN1_IA5STRING_free(ia5);
      return SslFail("out of memory");
    }
    GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
    sk_GENERAL_NAME_push(names.get(), gn);
  }
  for (const auto& ip : ips) {
    ASN1_OCTET_STRING* octets = a2i_IPADDRESS(ip.c_str());
    if (!octets) {
      ERR_clear_error();
      return Fail(ProblemType::kMalformed, "not an IP address: \"" + ip + "\"");
    }
    GENERAL_NAME* gn = GENERAL_NAME_new();
    if (!gn) {
      ASN1_OCTET_STRING_free(octets);
      return SslFail("out of memory");
    }
    GENERAL_NAME_set0_value(gn, GEN_IPADD, octets);
    sk_GENERAL_NAME_push(names.get(), gn);
  }
  if (sk_GENERAL_NAME_num(names.get()) == 0) return {};
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, 0) != 1) {
    return SslFail("cannot add subjectAltName");
  }
  return {};
}

// Version, serial, validity, subject CN, issuer, public key.
Result<Ptr<X509>> NewCert(EVP_PKEY* key, const std::string& common_name, X509* issuer) {
  Ptr<X509> cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return SslFail("X509_new");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) return SslFail("RAND_bytes");
  serial[0] &= 0x7f;
  Ptr<BIGNUM> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()))) {
    return SslFail("serial");
  }
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600)) {
    return SslFail("validity");
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1) {
    return SslFail("common name");
  }
  if (X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject) != 1 ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return SslFail("issuer/public key");
  }
  return cert;
}

Result<Ptr<X509>> ReadCert(const std::string& pem) {
  Ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Ptr<X509> cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) return SslFail("cannot read the CA certificate");
  return cert;
}

Result<Ptr<EVP_PKEY>> ReadKey(const std::string& pem) {
  Ptr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Ptr<EVP_PKEY> key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) return SslFail("cannot read the CA key");
  return key;
}

Result<std::string> CertPem(X509* cert) {
  return Pem([cert](BIO* bio) { return PEM_write_bio_X509(bio, cert) == 1; });
}

Result<std::string> KeyPem(EVP_PKEY* key) {
  return Pem([key](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  });
}

}  // namespace

Result<TestPki> TestPki::Create(std::string dir, std::string ca_name) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Fail(ProblemType::kServerInternal, "cannot create " + dir + ": " + ec.message());
  auto key = NewKey();
  if (!key) return Fail(key.error());
  auto cert = NewCert(key->get(), ca_name, nullptr);
  if (!cert) return Fail(cert.error());
  X509* c = cert->get();
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    if (auto st = AddExtension(c, c, nid, value); !st) return Fail(st.error());
  }
  if (X509_sign(c, key->get(), EVP_sha256()) == 0) return SslFail("cannot sign the CA");
  TestPki pki;
  pki.dir = dir;
  pki.ca_cert = dir + "/ca.pem";
  pki.ca_key = dir + "/ca.key";
  auto cert_pem = CertPem(c);
  auto key_pem = KeyPem(key->get());
  if (!cert_pem) return Fail(cert_pem.error());
  if (!key_pem) return Fail(key_pem.error());
  pki.ca_cert_pem = *cert_pem;
  pki.ca_key_pem = *key_pem;
  if (auto st = WriteFile(pki.ca_cert, pki.ca_cert_pem, 0644); !st) return Fail(st.error());
  if (auto st = WriteFile(pki.ca_key, pki.ca_key_pem, 0600); !st) return Fail(st.error());
  return pki;
}

Result<CertPair> TestPki::Issue(std::string common_name, std::vector<std::string> dns_sans,
                                std::vector<std::string> ip_sans) const {
  if (common_name.empty() || common_name.find('/') != std::string::npos) {
    return Fail(ProblemType::kMalformed, "bad common name \"" + common_name + "\"");
  }
  auto ca = ReadCert(ca_cert_pem);
  if (!ca) return Fail(ca.error());
  auto ca_key_ptr = ReadKey(ca_key_pem);
  if (!ca_key_ptr) return Fail(ca_key_ptr.error());
  auto key = NewKey();
  if (!key) return Fail(key.error());
  auto cert = NewCert(key->get(), common_name, ca->get());
  if (!cert) return Fail(cert.error());
  X509* c = cert->get();
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
                            std::pair{NID_key_usage, "critical,digitalSignature"},
                            std::pair{NID_ext_key_usage, "serverAuth,clientAuth"},
                            std::pair{NID_subject_key_identifier, "hash"},
                            std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (auto st = AddExtension(c, ca->get(), nid, value); !st) return Fail(st.error());
  }
  if (auto st = AddSans(c, dns_sans, ip_sans); !st) return Fail(st.error());
  if (X509_sign(c, ca_key_ptr->get(), EVP_sha256()) == 0) return SslFail("cannot sign");
  CertPair pair;
  pair.cert_file = dir + "/" + common_name + ".pem";
  pair.key_file = dir + "/" + common_name + ".key";
  auto cert_pem = CertPem(c);
  auto key_pem = KeyPem(key->get());
  if (!cert_pem) return Fail(cert_pem.error());
  if (!key_pem) return Fail(key_pem.error());
  pair.cert_pem = *cert_pem;
  pair.key_pem = *key_pem;
  if (auto st = WriteFile(pair.cert_file, pair.cert_pem, 0644); !st) return Fail(st.error());
  if (auto st = WriteFile(pair.key_file, pair.key_pem, 0600); !st) return Fail(st.error());
  return pair;
}

}  // namespace mpic::testing
