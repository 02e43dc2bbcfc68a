// One interface for the four checks a perspective performs (ACME HTTP-01, DNS-01, TLS-ALPN-01:
// RFC 8555 §8.3-8.4, RFC 8737; and CAA: RFC 8659/8657). A check returns a verdict AND the
// evidence behind it, so that a primary can compare perspectives, not just booleans
// (BR §3.2.2.9: remote results must let the CA assess the expected value).
//
//   CheckDeps deps{resolver, dialer, clock, metrics};
//   CheckRequest req{.method = Method::kDns01, .identifier = "example.com",
//                    .key_authorization = ka, .deadline = Clock::now() + 10s};
//   RunCheck(io.get_executor(), deps, req, [](CheckResult r) { print(ToJson(r)); });
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "checks/address_policy.h"
#include "common/asio.h"
#include "common/error.h"
#include "resolver/resolver.h"

namespace mpic::checks {

// The ACME challenges and CAA first, then the BR §3.2.2.4 / §3.2.2.5 methods beyond ACME (named
// as the Open MPIC API names them).
enum class Method {
  kHttp01,
  kDns01,
  kTlsAlpn01,
  kCaa,
  kDnsPersist01,
  kDnsAccount01,
  kDnsChange,            // BR §3.2.2.4.7   dns_change.h
  kWebsiteChange,        // BR §3.2.2.4.18  website_change.h
  kIpAddress,            // BR §3.2.2.4.8   ip_address.h
  kContactEmailTxt,      // BR §3.2.2.4.14  contact.h
  kContactEmailCaa,      // BR §3.2.2.4.13  contact.h
  kContactPhoneTxt,      // BR §3.2.2.4.16  contact.h
  kContactPhoneCaa,      // BR §3.2.2.4.17  contact.h
  kReverseAddressLookup  // BR §3.2.2.5.3   reverse_lookup.h
};

// Every method, in enum order (for listings and round trips).
inline constexpr Method kAllMethods[] = {
    Method::kHttp01,          Method::kDns01,           Method::kTlsAlpn01,
    Method::kCaa,             Method::kDnsPersist01,    Method::kDnsAccount01,
    Method::kDnsChange,       Method::kWebsiteChange,   Method::kIpAddress,
    Method::kContactEmailTxt, Method::kContactEmailCaa, Method::kContactPhoneTxt,
    Method::kContactPhoneCaa, Method::kReverseAddressLookup};

// "http-01", "dns-01", "tls-alpn-01", "caa", "dns-persist-01", "dns-account-01", "dns-change",
// "website-change", "ip-address", "contact-email-txt", "contact-email-caa",
// "contact-phone-txt", "contact-phone-caa", "reverse-address-lookup"
[[nodiscard]] std::string_view MethodName(Method method);
[[nodiscard]] Result<Method> ParseMethod(std::string_view text);

// The name of a DCV method in a CAA `validationmethods` parameter (RFC 8657 §4): the ACME
// challenge type for the ACME methods ("dns-01", "dns-persist-01", ...); a method that is not
// in the IANA ACME Validation Methods registry gets a CA-specific name, which RFC 8657 §4
// requires to begin with "ca-": "ca-dns-change", "ca-website-change", ... "" for kCaa.
[[nodiscard]] std::string CaaValidationMethodName(Method method);

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

struct CheckRequest {
  Method method = Method::kHttp01;
  std::string identifier;         // a DNS name, or an IP literal (RFC 8738) for http/tls-alpn
  std::string token;              // HTTP-01: the path segment
  std::string key_authorization;  // token "." base64url(JWK thumbprint), RFC 8555 §8.1
  // DNS-01 / TLS-ALPN-01 when only the key authorization's SHA-256 digest is known (the Open
  // MPIC API's key_authorization_hash): used when key_authorization is empty.
  std::optional<std::array<uint8_t, 32>> key_authorization_sha256;
  // CAA (RFC 8659/8657):
  std::vector<std::string> caa_issuer_domains;  // the CA's own issuer domain names
  std::string account_uri;                      // compared with accounturi=
  std::string caa_validation_method;            // the DCV method for validationmethods=
  bool wildcard = false;                        // the certificate will be for *.identifier
  // true: the certificate is an S/MIME one for addresses at identifier; only `issuemail`
  // governs (RFC 9495). false: a TLS server certificate (`issue`/`issuewild`, RFC 8659).
  bool caa_smime = false;
  // dns-persist-01 (draft-ietf-acme-dns-persist, BR §3.2.2.4.22): the issuer domain names are
  // caa_issuer_domains and the account is account_uri (above).
  std::string persist_domain;  // the ADN holding the record; "" = identifier without "*."
  // draft-02 hashed accounturi: when set, accounturi must be a hashed URI under this prefix
  // over one of the thumbprints (base64url SHA-256 JWK thumbprints, current key first);
  // when empty, accounturi must equal account_uri exactly (BR §3.2.2.4.22, draft-01).
  std::string account_hash_prefix;
  std::vector<std::string> account_key_thumbprints;
  // The BR methods beyond ACME (the Open MPIC parameters of the same names):
  //   challenge_value   the Random Value or Request Token (dns-change, website-change); the
  //                     address (ip-address); the email address or phone number (contact-*);
  //                     the expected domain name (reverse-address-lookup)
  //   dns_name_prefix   dns-change: "" (the ADN itself) or one label starting with "_"
  //   dns_record_type   dns-change: "TXT" (default), "CNAME" or "CAA"; ip-address: "A",
  //                     "AAAA" or "" (the challenge value's family)
  //   require_exact_match  dns-change, website-change: the whole value (true) or a substring
  //   require_exact_case   unset: the method's default (see each method's header)
  //   http_token_path   website-change: the path below /.well-known/pki-validation/
  //   url_scheme        website-change: "http" (default) or "https"
  //   match_regex       website-change: refused when set (see website_change.h)
  std::string challenge_value;
  std::string dns_name_prefix;
  std::string dns_record_type;
  bool require_exact_match = false;
  std::optional<bool> require_exact_case;
  std::string http_token_path;
  std::string url_scheme;
  std::string match_regex;
  Deadline deadline = Clock::now() + std::chrono::seconds(10);
};

// One DNS lookup as seen by the check, with its DNSSEC status.
struct DnsLookupEvidence {
  std::string name;
  std::string type;
  std::string rcode;                 // "" when the lookup produced no response
  std::string dnssec;                // "secure" | "insecure" | "bogus" | ""
  std::string why_bogus;
  std::vector<std::string> cname_chain;
  std::vector<std::string> records;  // presentation format
  std::string error;                 // empty on success
  double elapsed_ms = 0;
};

struct HttpHopEvidence {
  std::string url;
  std::string address;   // the address connected to, "" if none
  int status = 0;        // HTTP status, 0 if none
  std::string location;  // redirect target as received
  std::string error;
};

// dns-persist-01: how one TXT value at _validation-persist was judged.
struct PersistRecordEvidence {
  std::string value;    // escaped (RFC 1035 §5.1)
  std::string verdict;  // "authorizes" | "other-issuer" | "malformed" | "unauthorized"
  std::string reason;
};

struct Evidence {
  std::vector<DnsLookupEvidence> lookups;
  std::vector<std::string> addresses_resolved;  // every A/AAAA address the check saw
  std::string address_used;                     // the one the verdict came from
  std::vector<HttpHopEvidence> http_hops;       // HTTP-01 request and each redirect
  std::string http_body;                        // the (limited, trimmed) body received
  std::vector<std::string> txt_values;          // DNS-01: every TXT value seen
  std::string caa_name;                         // CAA: where the relevant RRset was found
  std::vector<std::string> caa_records;         // CAA: that RRset, presentation format
  std::vector<std::string> cert_sans;           // TLS-ALPN-01: the certificate's SANs
  std::string cert_sha256;                      // TLS-ALPN-01: certificate fingerprint, hex
  std::string acme_identifier_hex;              // TLS-ALPN-01: the extension's digest, hex
  std::string alpn;                             // TLS-ALPN-01: the negotiated protocol
  std::vector<PersistRecordEvidence> persist_records;  // dns-persist-01: every value, judged
  std::string persist_accounturi;  // dns-persist-01: the authorizing record's accounturi
                                   // (what corroborating perspectives must match, BR §3.2.2.4.22)
  std::optional<int64_t> persist_until;  // dns-persist-01: the authorizing record's persistUntil
  // The BR methods beyond ACME: the record value, address, PTR name or body excerpt that
  // matched the challenge value (escaped, RFC 1035 §5.1); "" when nothing matched.
  std::string matched_value;
};

struct CheckResult {
  Method method = Method::kHttp01;
  std::string identifier;
  bool valid = false;
  std::optional<Error> problem;  // set exactly when !valid
  Evidence evidence;
  std::chrono::microseconds duration{0};
};

[[nodiscard]] nlohmann::ordered_json ToJson(const CheckResult& result);
[[nodiscard]] nlohmann::ordered_json ToJson(const Evidence& evidence);

// Records a resolver outcome into evidence.
void RecordLookup(const resolver::LookupResult& result, std::string_view name, uint16_t type,
                  Evidence* evidence);

// Time source for checks (tests may substitute one).
class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual Clock::time_point Now() const { return Clock::now(); }
  virtual std::chrono::system_clock::time_point WallNow() const {
    return std::chrono::system_clock::now();
  }
};

// Counters and timings a check reports; the fleet binds them to Prometheus.
class CheckMetrics {
 public:
  virtual ~CheckMetrics() = default;
  virtual void ObserveCheck(Method /*method*/, bool /*valid*/, double /*seconds*/) {}
  virtual void ObserveRefusedAddress() {}
};

// Opens TCP connections for checks. The address policy is enforced immediately before each
// connect (defeats DNS rebinding between filtering and use). Ports: 80/443 unless a lab
// configuration overrides them.
class Dialer {
 public:
  using ConnectCallback = std::function<void(Result<asio::ip::tcp::socket>)>;
  virtual ~Dialer() = default;
  virtual void Connect(const asio::ip::address& address, uint16_t port, Deadline deadline,
                       ConnectCallback callback) = 0;
  virtual const AddressPolicy& policy() const = 0;
  virtual uint16_t http_port() const { return 80; }
  virtual uint16_t tls_port() const { return 443; }
};

struct CheckDeps {
  resolver::Resolver& resolver;
  Dialer& dialer;
  const TimeSource& clock;
  CheckMetrics& metrics;
};

// Runs one check; `done` is called exactly once on `executor`, by the request's deadline
// (plus scheduling slack). Never throws.
void RunCheck(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
              std::function<void(CheckResult)> done);

}  // namespace mpic::checks
