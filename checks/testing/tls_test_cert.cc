#include "checks/testing/tls_test_cert.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "checks/key_authorization.h"

namespace mpic::checks::testing {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using ObjPtr = std::unique_ptr<ASN1_OBJECT, Deleter<ASN1_OBJECT, ASN1_OBJECT_free>>;
using OctetPtr =
    std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

tl::unexpected<std::string> Err(std::string what) { return tl::unexpected(std::move(what)); }

}  // namespace

std::vector<uint8_t> AcmeExtensionValue(std::string_view key_authorization) {
  auto digest = Sha256(key_authorization);
  std::vector<uint8_t> out(2 + digest.size());
  out[0] = 0x04;  // OCTET STRING
  out[1] = static_cast<uint8_t>(digest.size());
  std::copy(digest.begin(), digest.end(), out.begin() + 2);
  return out;
}

tl::expected<TestCert, std::string> MakeTestCert(const TestCertSpec& spec) {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return Err("EVP_EC_gen failed");
  X509Ptr x(X509_new());
  if (!x || X509_set_version(x.get(), 2) != 1) return Err("X509_new failed");
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 7 * 86400);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("acme tls-alpn-01 test"), -1,
                             -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_set_pubkey(x.get(), key.get());

  if (spec.san_extensions > 0) {
    NamesPtr names(sk_GENERAL_NAME_new_null());
    for (const auto& dns : spec.dns_names) {
      GENERAL_NAME* g = GENERAL_NAME_new();
      ASN1_IA5STRING* s = ASN1_IA5STRING_new();
      ASN1_STRING_set(s, dns.data(), static_cast<int>(dns.size()));
      GENERAL_NAME_set0_value(g, GEN_DNS, s);
      sk_GENERAL_NAME_push(names.get(), g);
    }
    for (const auto& ip : spec.ip_addresses) {
      unsigned char buf[16];
      int len = 0;
      if (inet_pton(AF_INET, ip.c_str(), buf) == 1) {
        len = 4;
      } else if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) {
        len = 16;
      } else {
        return Err("bad IP " + ip);
      }
      GENERAL_NAME* g = GENERAL_NAME_new();
      ASN1_OCTET_STRING* s = ASN1_OCTET_STRING_new();
      ASN1_OCTET_STRING_set(s, buf, len);
      GENERAL_NAME_set0_value(g, GEN_IPADD, s);
      sk_GENERAL_NAME_push(names.get(), g);
    }
    for (int i = 0; i < spec.san_extensions; ++i) {
      ExtPtr ext(X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get()));
      if (!ext || X509_add_ext(x.get(), ext.get(), -1) != 1) return Err("SAN extension failed");
    }
  }

  if (spec.acme_value) {
    ObjPtr oid(OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1));
    OctetPtr value(ASN1_OCTET_STRING_new());
    ASN1_OCTET_STRING_set(value.get(), spec.acme_value->data(),
                          static_cast<int>(spec.acme_value->size()));
    for (int i = 0; i < spec.acme_extensions; ++i) {
      ExtPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), spec.acme_critical ? 1 : 0,
                                              value.get()));
      if (!ext || X509_add_ext(x.get(), ext.get(), -1) != 1) return Err("acme extension failed");
    }
  }

  if (X509_sign(x.get(), key.get(), EVP_sha256()) <= 0) return Err("X509_sign failed");
  TestCert out;
  int len = i2d_X509(x.get(), nullptr);
  if (len <= 0) return Err("i2d_X509 failed");
  out.der.resize(static_cast<size_t>(len));
  unsigned char* p = out.der.data();
  i2d_X509(x.get(), &p);
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Err("PEM_write_bio_PrivateKey failed");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  out.key_pem.assign(data, static_cast<size_t>(n));
  return out;
}

}  // namespace mpic::checks::testing
