#include "checks/internal/tls_cert.h"

#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>
#include <string>

#include "checks/internal/web_common.h"
#include "checks/key_authorization.h"

namespace mpic::checks::internal {
namespace {

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct Asn1ObjectDeleter {
  void operator()(ASN1_OBJECT* o) const { ASN1_OBJECT_free(o); }
};
struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* g) const { GENERAL_NAMES_free(g); }
};

Error Incorrect(std::string why) {
  return Error{ProblemType::kUnauthorized,
               "incorrect validation certificate for tls-alpn-01 challenge: " + std::move(why)};
}

std::string_view Bytes(const ASN1_STRING* s) {
  return std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                          static_cast<size_t>(ASN1_STRING_length(s)));
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lx = (x >= 'A' && x <= 'Z') ? static_cast<char>(x - 'A' + 'a') : x;
           auto ly = (y >= 'A' && y <= 'Z') ? static_cast<char>(y - 'A' + 'a') : y;
           return lx == ly;
         });
}

// "DNS:name", "IP:addr", or the GeneralName kind for names this check never accepts.
std::string DescribeName(const GENERAL_NAME* name) {
  int type = 0;
  const void* value = GENERAL_NAME_get0_value(name, &type);
  switch (type) {
    case GEN_DNS:
      return "DNS:" + PrintableText(Bytes(static_cast<const ASN1_STRING*>(value)), 253);
    case GEN_IPADD: {
      std::string_view raw = Bytes(static_cast<const ASN1_STRING*>(value));
      if (raw.size() == 4) {
        asio::ip::address_v4::bytes_type b;
        std::copy(raw.begin(), raw.end(), b.begin());
        return "IP:" + asio::ip::address_v4(b).to_string();
      }
      if (raw.size() == 16) {
        asio::ip::address_v6::bytes_type b;
        std::copy(raw.begin(), raw.end(), b.begin());
        return "IP:" + asio::ip::address_v6(b).to_string();
      }
      return "IP:<" + std::to_string(raw.size()) + " bytes>";
    }
    case GEN_EMAIL:
      return "email:" + PrintableText(Bytes(static_cast<const ASN1_STRING*>(value)), 64);
    case GEN_URI:
      return "URI:" + PrintableText(Bytes(static_cast<const ASN1_STRING*>(value)), 64);
    case GEN_OTHERNAME:
      return "otherName";
    case GEN_DIRNAME:
      return "dirName";
    case GEN_RID:
      return "registeredID";
    default:
      return "GeneralName type " + std::to_string(type);
  }
}

bool NameMatches(const GENERAL_NAME* name, const WebIdentifier& ident) {
  int type = 0;
  const void* value = GENERAL_NAME_get0_value(name, &type);
  std::string_view raw = Bytes(static_cast<const ASN1_STRING*>(value));
  if (ident.ip) {
    // RFC 8738 §6: the iPAddress entry, in network byte order.
    if (type != GEN_IPADD) return false;
    if (ident.ip->is_v4()) {
      auto b = ident.ip->to_v4().to_bytes();
      return raw == std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
    }
    auto b = ident.ip->to_v6().to_bytes();
    return raw == std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
  }
  // RFC 8737 §3: a single dNSName entry equal to the domain name being validated.
  return type == GEN_DNS && EqualsIgnoreCase(raw, ident.host);
}

}  // namespace

Status VerifyAcmeCertificate(std::span<const uint8_t> der, std::string_view identifier,
                             std::string_view key_authorization, Evidence* evidence) {
  return VerifyAcmeCertificateDigest(der, identifier, Sha256(key_authorization), evidence);
}

Status VerifyAcmeCertificateDigest(std::span<const uint8_t> der, std::string_view identifier,
                                   const std::array<uint8_t, 32>& expected, Evidence* evidence) {
  Evidence scratch;
  Evidence* ev = evidence ? evidence : &scratch;
  auto ident = ParseWebIdentifier(identifier);
  if (!ident) return tl::unexpected(ident.error());

  auto fingerprint =
      Sha256(std::string_view(reinterpret_cast<const char*>(der.data()), der.size()));
  ev->cert_sha256 = Hex(fingerprint);

  if (der.empty() || der.size() > 64 * 1024) {
    return Fail(ProblemType::kTls, "the server's certificate is empty or implausibly large");
  }
  const unsigned char* p = der.data();
  std::unique_ptr<X509, X509Deleter> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != der.data() + der.size()) {
    return Fail(ProblemType::kTls,
                "the server's certificate is not a single DER X.509 certificate");
  }

  // subjectAltName: exactly one extension, exactly one name, the identifier.
  int san_index = -1;
  int san_count = 0;
  for (int i = X509_get_ext_by_NID(cert.get(), NID_subject_alt_name, -1); i >= 0;
       i = X509_get_ext_by_NID(cert.get(), NID_subject_alt_name, i)) {
    ++san_count;
    san_index = i;
  }
  if (san_count != 1) {
    return Fail(Incorrect(san_count == 0 ? "no subjectAltName extension"
                                         : "more than one subjectAltName extension"));
  }
  std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter> names(
      static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(X509_get_ext(cert.get(), san_index))));
  if (!names) return Fail(Incorrect("the subjectAltName extension does not parse"));
  int name_count = sk_GENERAL_NAME_num(names.get());
  for (int i = 0; i < name_count; ++i) {
    ev->cert_sans.push_back(DescribeName(sk_GENERAL_NAME_value(names.get(), i)));
  }
  const std::string want = ident->ip ? "IP:" + ident->host : "DNS:" + ident->host;
  if (name_count != 1) {
    return Fail(Incorrect("the subjectAltName must hold exactly one name, " + want + ", not " +
                          std::to_string(name_count)));
  }
  if (!NameMatches(sk_GENERAL_NAME_value(names.get(), 0), *ident)) {
    return Fail(Incorrect("the subjectAltName is " + ev->cert_sans[0] + ", expected " + want));
  }

  // acmeIdentifier: exactly one, critical, OCTET STRING (SIZE (32)) = SHA-256(key authorization).
  std::unique_ptr<ASN1_OBJECT, Asn1ObjectDeleter> oid(
      OBJ_txt2obj(std::string(kAcmeIdentifierOid).c_str(), 1));
  if (!oid) return Fail(ProblemType::kServerInternal, "cannot build the acmeIdentifier OID");
  int acme_index = -1;
  int acme_count = 0;
  for (int i = X509_get_ext_by_OBJ(cert.get(), oid.get(), -1); i >= 0;
       i = X509_get_ext_by_OBJ(cert.get(), oid.get(), i)) {
    ++acme_count;
    acme_index = i;
  }
  if (acme_count != 1) {
    return Fail(Incorrect(acme_count == 0 ? "no acmeIdentifier extension (RFC 8737 §3)"
                                          : "more than one acmeIdentifier extension"));
  }
  X509_EXTENSION* ext = X509_get_ext(cert.get(), acme_index);
  std::string_view value = Bytes(X509_EXTENSION_get_data(ext));
  // The extnValue holds the DER of the inner OCTET STRING: tag 0x04, length 0x20, 32 bytes.
  bool well_formed = value.size() == 34 && static_cast<uint8_t>(value[0]) == 0x04 &&
                     static_cast<uint8_t>(value[1]) == 32;
  std::string_view digest = well_formed ? value.substr(2) : value;
  ev->acme_identifier_hex = Hex(std::span(reinterpret_cast<const uint8_t*>(digest.data()),
                                          std::min<size_t>(digest.size(), 64)));
  if (X509_EXTENSION_get_critical(ext) != 1) {
    return Fail(Incorrect("the acmeIdentifier extension is not marked critical (RFC 8737 §3)"));
  }
  if (!well_formed) {
    return Fail(Incorrect("the acmeIdentifier extension is not an OCTET STRING of 32 bytes (" +
                          std::to_string(value.size()) + " bytes of value)"));
  }
  if (CRYPTO_memcmp(expected.data(), digest.data(), expected.size()) != 0) {
    return Fail(Incorrect("the acmeIdentifier is " + ev->acme_identifier_hex +
                          ", expected SHA-256 of the key authorization " + Hex(expected)));
  }
  return {};
}

std::string ReverseDnsName(const asio::ip::address& address) {
  std::string out;
  if (address.is_v4()) {
    auto b = address.to_v4().to_bytes();
    for (int i = 3; i >= 0; --i) out += std::to_string(b[static_cast<size_t>(i)]) + ".";
    return out + "in-addr.arpa";
  }
  static constexpr char kHex[] = "0123456789abcdef";
  auto b = address.to_v6().to_bytes();
  for (int i = 15; i >= 0; --i) {
    uint8_t byte = b[static_cast<size_t>(i)];
    out += kHex[byte & 15];
    out += '.';
    out += kHex[byte >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

}  // namespace mpic::checks::internal
