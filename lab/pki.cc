#include "lab/pki.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mpic::lab {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct NamesFree {
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};
struct ExtFree {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Bio = std::unique_ptr<BIO, BioFree>;

// The OpenSSL error queue as text (and cleared), appended to `what`.
Error SslError(const std::string& what) {
  std::string detail = what;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    detail += ": ";
    detail += buf;
  }
  return Error{ProblemType::kServerInternal, detail};
}

Result<Pkey> NewP256Key() {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return Fail(SslError("P-256 key generation failed"));
  return key;
}

Result<std::string> ToPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return Fail(SslError("cannot encode a private key"));
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Result<std::string> ToPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    return Fail(SslError("cannot encode a certificate"));
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// 127 random bits: positive and at most 20 octets (RFC 5280 §4.1.2.2).
Status SetRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return Fail(SslError("RAND_bytes failed"));
  bytes[0] &= 0x7f;
  std::unique_ptr<BIGNUM, BnFree> bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return Fail(SslError("cannot set a serial number"));
  }
  return {};
}

Status SetCommonName(X509_NAME* name, const std::string& common_name) {
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) != 1) {
    return Fail(SslError("cannot set the common name \"" + common_name + "\""));
  }
  return {};
}

// One extension from its OpenSSL config-string form (constant strings only; names go through
// AddSubjectAltNames so nothing user-supplied is ever parsed as config syntax).
Status AddExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  std::unique_ptr<X509_EXTENSION, ExtFree> ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return Fail(SslError(std::string("cannot add extension ") + OBJ_nid2sn(nid)));
  }
  return {};
}

Status AddSubjectAltNames(X509* cert, const LeafSpec& spec) {
  std::unique_ptr<GENERAL_NAMES, NamesFree> names(GENERAL_NAMES_new());
  if (!names) return Fail(SslError("out of memory"));
  for (const std::string& dns : spec.dns_names) {
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    if (ia5 == nullptr || ASN1_STRING_set(ia5, dns.data(), static_cast<int>(dns.size())) != 1) {
      ASN1_IA5STRING_free(ia5);
      return Fail(SslError("cannot encode dNSName \"" + dns + "\""));
    }
    GENERAL_NAME* gn = GENERAL_NAME_new();
    if (gn == nullptr) {
      ASN1_IA5STRING_free(ia5);
      return Fail(SslError("out of memory"));
    }
    GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
    if (sk_GENERAL_NAME_push(names.get(), gn) == 0) {
      GENERAL_NAME_free(gn);
      return Fail(SslError("out of memory"));
    }
  }
  for (const std::string& ip : spec.ip_addresses) {
    ASN1_OCTET_STRING* octets = a2i_IPADDRESS(ip.c_str());
    if (octets == nullptr) {
      ERR_clear_error();
      return Fail(ProblemType::kMalformed, "not an IP address: \"" + ip + "\"");
    }
    GENERAL_NAME* gn = GENERAL_NAME_new();
    if (gn == nullptr) {
      ASN1_OCTET_STRING_free(octets);
      return Fail(SslError("out of memory"));
    }
    GENERAL_NAME_set0_value(gn, GEN_IPADD, octets);
    if (sk_GENERAL_NAME_push(names.get(), gn) == 0) {
      GENERAL_NAME_free(gn);
      return Fail(SslError("out of memory"));
    }
  }
  if (sk_GENERAL_NAME_num(names.get()) == 0) return {};
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, 0) != 1) {
    return Fail(SslError("cannot add subjectAltName"));
  }
  return {};
}

// Fills version, serial, validity, subject, issuer and public key.
Status InitCertificate(X509* cert, EVP_PKEY* key, const std::string& common_name, X509_NAME* issuer,
                       std::chrono::hours validity) {
  if (X509_set_version(cert, X509_VERSION_3) != 1) return Fail(SslError("X509_set_version"));
  if (auto st = SetRandomSerial(cert); !st) return st;
  // An hour of back-dating absorbs clock skew between processes and machines.
  if (X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert),
                      static_cast<long>(std::chrono::seconds(validity).count())) == nullptr) {
    return Fail(SslError("cannot set the validity"));
  }
  if (auto st = SetCommonName(X509_get_subject_name(cert), common_name); !st) return st;
  if (X509_set_issuer_name(cert, issuer != nullptr ? issuer : X509_get_subject_name(cert)) != 1) {
    return Fail(SslError("cannot set the issuer"));
  }
  if (X509_set_pubkey(cert, key) != 1) return Fail(SslError("cannot set the public key"));
  return {};
}

}  // namespace

struct CertificateAuthority::State {
  Pkey key;
  Cert cert;
};

CertificateAuthority::CertificateAuthority(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
CertificateAuthority::CertificateAuthority(CertificateAuthority&&) noexcept = default;
CertificateAuthority& CertificateAuthority::operator=(CertificateAuthority&&) noexcept = default;
CertificateAuthority::~CertificateAuthority() = default;

Result<CertificateAuthority> CertificateAuthority::Create(const std::string& common_name,
                                                          std::chrono::hours validity) {
  if (common_name.empty()) return Fail(ProblemType::kMalformed, "empty CA common name");
  auto key = NewP256Key();
  if (!key) return Fail(key.error());
  Cert cert(X509_new());
  if (!cert) return Fail(SslError("out of memory"));
  if (auto st = InitCertificate(cert.get(), key->get(), common_name, nullptr, validity); !st) {
    return Fail(st.error());
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"}}) {
    if (auto st = AddExtension(cert.get(), &ctx, nid, value); !st) return Fail(st.error());
  }
  if (X509_sign(cert.get(), key->get(), EVP_sha256()) == 0) {
    return Fail(SslError("cannot sign the CA certificate"));
  }
  auto cert_pem = ToPem(cert.get());
  if (!cert_pem) return Fail(cert_pem.error());
  auto key_pem = ToPem(key->get());
  if (!key_pem) return Fail(key_pem.error());
  auto state = std::make_unique<State>();
  state->key = std::move(*key);
  state->cert = std::move(cert);
  CertificateAuthority ca(std::move(state));
  ca.cert_pem_ = std::move(*cert_pem);
  ca.key_pem_ = std::move(*key_pem);
  return ca;
}

Result<KeyAndCert> CertificateAuthority::Issue(const LeafSpec& spec) const {
  if (spec.common_name.empty() && spec.dns_names.empty() && spec.ip_addresses.empty()) {
    return Fail(ProblemType::kMalformed, "a leaf certificate needs a name");
  }
  if (!spec.server && !spec.client) {
    return Fail(ProblemType::kMalformed, "a leaf certificate must be for a server or a client");
  }
  auto key = NewP256Key();
  if (!key) return Fail(key.error());
  Cert cert(X509_new());
  if (!cert) return Fail(SslError("out of memory"));
  const std::string& cn = !spec.common_name.empty() ? spec.common_name
                          : !spec.dns_names.empty() ? spec.dns_names.front()
                                                    : spec.ip_addresses.front();
  if (auto st = InitCertificate(cert.get(), key->get(), cn,
                                X509_get_subject_name(state_->cert.get()), spec.validity);
      !st) {
    return Fail(st.error());
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, state_->cert.get(), cert.get(), nullptr, nullptr, 0);
  const char* eku = spec.server && spec.client ? "serverAuth,clientAuth"
                    : spec.server              ? "serverAuth"
                                               : "clientAuth";
  for (auto [nid, value] :
       {std::pair{NID_basic_constraints, "critical,CA:FALSE"},
        std::pair{NID_key_usage, "critical,digitalSignature"}, std::pair{NID_ext_key_usage, eku},
        std::pair{NID_subject_key_identifier, "hash"},
        std::pair{NID_authority_key_identifier, "keyid:always"}}) {
    if (auto st = AddExtension(cert.get(), &ctx, nid, value); !st) return Fail(st.error());
  }
  if (auto st = AddSubjectAltNames(cert.get(), spec); !st) return Fail(st.error());
  if (X509_sign(cert.get(), state_->key.get(), EVP_sha256()) == 0) {
    return Fail(SslError("cannot sign the certificate for \"" + cn + "\""));
  }
  auto cert_pem = ToPem(cert.get());
  if (!cert_pem) return Fail(cert_pem.error());
  auto key_pem = ToPem(key->get());
  if (!key_pem) return Fail(key_pem.error());
  return KeyAndCert{std::move(*cert_pem), std::move(*key_pem)};
}

Status WriteFile(const std::string& path, const std::string& contents, unsigned mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 07777);
  if (fd < 0) {
    return Fail(ProblemType::kServerInternal, "cannot create " + path + ": " + strerror(errno));
  }
  auto fail = [&](const char* what) {
    int e = errno;
    close(fd);
    return Fail(ProblemType::kServerInternal, std::string(what) + " " + path + ": " + strerror(e));
  };
  if (fchmod(fd, mode & 07777) != 0) return fail("cannot chmod");
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd) != 0) {
    return Fail(ProblemType::kServerInternal, "cannot close " + path + ": " + strerror(errno));
  }
  return {};
}

Result<Pki> Pki::Create(std::string dir, std::string ca_name) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Fail(ProblemType::kServerInternal, "cannot create " + dir + ": " + ec.message());
  auto ca = CertificateAuthority::Create(ca_name);
  if (!ca) return Fail(ca.error());
  Pki pki;
  pki.dir = dir;
  pki.ca_cert = dir + "/ca.pem";
  pki.ca_key = dir + "/ca.key";
  pki.ca_cert_pem = ca->cert_pem();
  pki.ca_key_pem = ca->key_pem();
  if (auto st = WriteFile(pki.ca_cert, pki.ca_cert_pem, 0644); !st) return Fail(st.error());
  if (auto st = WriteFile(pki.ca_key, pki.ca_key_pem, 0600); !st) return Fail(st.error());
  pki.authority = std::make_shared<const CertificateAuthority>(std::move(*ca));
  return pki;
}

Result<CertPair> Pki::Issue(const LeafSpec& spec) const {
  if (spec.common_name.empty() || spec.common_name.find('/') != std::string::npos) {
    return Fail(ProblemType::kMalformed, "bad common name \"" + spec.common_name + "\"");
  }
  if (!authority) return Fail(ProblemType::kServerInternal, "no CA");
  auto leaf = authority->Issue(spec);
  if (!leaf) return Fail(leaf.error());
  CertPair pair;
  pair.cert_file = dir + "/" + spec.common_name + ".pem";
  pair.key_file = dir + "/" + spec.common_name + ".key";
  pair.cert_pem = std::move(leaf->cert_pem);
  pair.key_pem = std::move(leaf->key_pem);
  if (auto st = WriteFile(pair.cert_file, pair.cert_pem, 0644); !st) return Fail(st.error());
  if (auto st = WriteFile(pair.key_file, pair.key_pem, 0600); !st) return Fail(st.error());
  return pair;
}

Result<CertPair> Pki::Issue(std::string common_name, std::vector<std::string> dns_sans,
                            std::vector<std::string> ip_sans) const {
  LeafSpec spec;
  spec.common_name = std::move(common_name);
  spec.dns_names = std::move(dns_sans);
  spec.ip_addresses = std::move(ip_sans);
  spec.server = true;
  spec.client = true;
  spec.validity = std::chrono::hours(24 * 30);
  return Issue(spec);
}

}  // namespace mpic::lab
