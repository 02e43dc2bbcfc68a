#include "openmpic/request.h"

#include <arpa/inet.h>

#include <algorithm>
#include <set>
#include <utility>

#include "common/dns_name.h"
#include "openmpic/methods.h"

namespace mpic::openmpic {
namespace {

using json = nlohmann::json;

// Collects issues; every Check* helper appends and returns whether the value was usable.
class Issues {
 public:
  void Add(std::string type, std::string message) {
    issues_.push_back({std::move(type), std::move(message)});
  }
  bool empty() const { return issues_.empty(); }
  ValidationIssues Take() { return std::move(issues_); }

 private:
  ValidationIssues issues_;
};

// A value for a message: short, printable, quoted as JSON so nothing odd reaches a log line.
std::string Shown(const json& value) {
  std::string text = value.dump(-1, ' ', true, json::error_handler_t::replace);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

std::string TypeName(const json& value) {
  if (value.is_number_integer()) return "integer";
  if (value.is_number()) return "number";
  return value.type_name();
}

// Rejects members other than `allowed` (Open MPIC's models ignore them; a typo there silently
// drops a parameter, so mpic refuses).
void CheckKnownFields(const json& object, std::string_view where,
                      std::initializer_list<std::string_view> allowed, Issues& issues) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      issues.Add("unknown-field", "unknown field " + std::string(where) + Shown(json(key)));
    }
  }
}

// Present and not null.
const json* Member(const json& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string Path(std::string_view where, std::string_view key) {
  return std::string(where) + std::string(key);
}

// A string member. Missing (or null) is an issue only when `required`.
std::optional<std::string> GetString(const json& object, std::string_view where,
                                     std::string_view key, bool required, Issues& issues) {
  const json* value = Member(object, key);
  if (value == nullptr) {
    if (required) issues.Add("missing-field", Path(where, key) + " is required");
    return std::nullopt;
  }
  if (!value->is_string()) {
    issues.Add("invalid-field-type",
               Path(where, key) + " must be a string, not " + TypeName(*value));
    return std::nullopt;
  }
  const auto& text = value->get_ref<const std::string&>();
  if (text.size() > kMaxFieldLength) {
    issues.Add("invalid-field-length", Path(where, key) + " is longer than " +
                                           std::to_string(kMaxFieldLength) + " bytes");
    return std::nullopt;
  }
  return text;
}

std::optional<bool> GetBool(const json& object, std::string_view where, std::string_view key,
                            Issues& issues) {
  const json* value = Member(object, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) {
    issues.Add("invalid-field-type",
               Path(where, key) + " must be a boolean, not " + TypeName(*value));
    return std::nullopt;
  }
  return value->get<bool>();
}

// JSON integers only: 3.0, "3" and true are refused (no silent coercion).
std::optional<int64_t> GetInt(const json& object, std::string_view where, std::string_view key,
                              Issues& issues, bool* bad) {
  const json* value = Member(object, key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_number_integer()) {
    issues.Add("invalid-field-type",
               Path(where, key) + " must be an integer, not " + TypeName(*value));
    *bad = true;
    return std::nullopt;
  }
  if (value->is_number_unsigned()) {
    uint64_t u = value->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) {
      issues.Add("invalid-field-type", Path(where, key) + " is out of range");
      *bad = true;
      return std::nullopt;
    }
    return static_cast<int64_t>(u);
  }
  return value->get<int64_t>();
}

// An object member (null counts as absent).
const json* GetObject(const json& object, std::string_view where, std::string_view key,
                      Issues& issues, bool* bad) {
  const json* value = Member(object, key);
  if (value == nullptr) return nullptr;
  if (!value->is_object()) {
    issues.Add("invalid-field-type",
               Path(where, key) + " must be an object, not " + TypeName(*value));
    *bad = true;
    return nullptr;
  }
  return value;
}

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool IsBase64Url(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), IsBase64UrlChar);
}

int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// base64url without padding of 32 octets: 43 characters, the last one carrying 2 zero bits.
std::optional<std::array<uint8_t, 32>> DecodeDigestBase64Url(std::string_view text) {
  if (text.size() != 43) return std::nullopt;
  std::array<uint8_t, 32> out{};
  uint32_t acc = 0;
  int bits = 0;
  size_t n = 0;
  for (char c : text) {
    int v = Base64UrlValue(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n == out.size()) return std::nullopt;
      out[n++] = static_cast<uint8_t>((acc >> bits) & 0xff);
    }
  }
  if (n != out.size() || (acc & ((1u << bits) - 1)) != 0) return std::nullopt;  // canonical
  return out;
}

std::optional<std::array<uint8_t, 32>> DecodeDigestHex(std::string_view text) {
  if (text.size() != 64) return std::nullopt;
  std::array<uint8_t, 32> out{};
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(text[2 * i]);
    int lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

// RFC 8555 §8.1 / §8.3: token = base64url with >= 128 bits of entropy (22+ characters); key
// authorization = token "." base64url(JWK thumbprint) (SHA-256: 43 characters).
bool CheckToken(std::string_view token, std::string_view where, Issues& issues) {
  if (token.size() < 22 || !IsBase64Url(token)) {
    issues.Add("invalid-token", std::string(where) +
                                    "token must be base64url of at least 128 bits (22+ "
                                    "characters, RFC 8555 §8.3)");
    return false;
  }
  return true;
}

bool CheckKeyAuthorization(std::string_view ka, std::optional<std::string_view> token,
                           std::string_view where, Issues& issues) {
  const size_t dot = ka.find('.');
  if (dot == std::string_view::npos || !IsBase64Url(ka.substr(0, dot)) ||
      !IsBase64Url(ka.substr(dot + 1))) {
    issues.Add("invalid-key-authorization",
               std::string(where) +
                   "key_authorization must be token \".\" base64url(thumbprint) (RFC 8555 §8.1)");
    return false;
  }
  if (token && ka.substr(0, dot) != *token) {
    issues.Add("invalid-key-authorization",
               std::string(where) + "key_authorization does not start with the token "
                                    "(RFC 8555 §8.1)");
    return false;
  }
  return true;
}

bool IsPrintableAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// The target: FQDN without a trailing dot, "*." + FQDN, or an IP literal. A-labels only: a
// Unicode name must be converted (RFC 5891 ToASCII) by the caller, so no two spellings of one
// name reach the checks.
struct Target {
  std::string identifier;
  bool wildcard = false;
  bool is_ip = false;
};

std::optional<Target> ParseTarget(std::string_view text, Issues& issues) {
  constexpr std::string_view kType = "invalid-domain-or-ip-target";
  if (text.empty()) {
    issues.Add(std::string(kType), "domain_or_ip_target is empty");
    return std::nullopt;
  }
  if (!std::all_of(text.begin(), text.end(),
                   [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    issues.Add(std::string(kType),
               "domain_or_ip_target must be ASCII: convert an internationalized name to its "
               "A-label form (xn--..., RFC 5891) first");
    return std::nullopt;
  }
  Target out;
  std::string_view name = text;
  if (name.size() >= 2 && name.substr(0, 2) == "*.") {
    out.wildcard = true;
    name.remove_prefix(2);
  }
  std::string literal(name);
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, literal.c_str(), &v4) == 1) {
    char buf[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &v4, buf, sizeof(buf));
    out.identifier = buf;
    out.is_ip = true;
  } else if (literal.find(':') != std::string::npos &&
             inet_pton(AF_INET6, literal.c_str(), &v6) == 1) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, &v6, buf, sizeof(buf));  // RFC 5952 canonical form
    out.identifier = buf;
    out.is_ip = true;
  }
  if (out.is_ip) {
    if (out.wildcard) {
      issues.Add(std::string(kType), "an IP address cannot be a wildcard");
      return std::nullopt;
    }
    return out;
  }
  if (!name.empty() && name.back() == '.') {
    issues.Add(std::string(kType),
               "domain_or_ip_target must be a FQDN without the trailing dot");
    return std::nullopt;
  }
  auto host = NormalizeHostname(name);
  if (!host) {
    issues.Add(std::string(kType), "domain_or_ip_target " + Shown(json(std::string(text))) +
                                       " is neither a domain name nor an IP address: " +
                                       host.error().detail);
    return std::nullopt;
  }
  out.identifier = *host;
  return out;
}

void DecodeOrchestration(const json& body, RequestedOrchestration& out, Issues& issues) {
  bool bad = false;
  const json* params = GetObject(body, "", "orchestration_parameters", issues, &bad);
  if (params == nullptr) return;
  constexpr std::string_view kWhere = "orchestration_parameters.";
  CheckKnownFields(*params, kWhere,
                   {"perspective_count", "quorum_count", "max_attempts",
                    "cohort_for_single_attempt"},
                   issues);
  out.present = true;
  out.perspective_count = GetInt(*params, kWhere, "perspective_count", issues, &bad);
  out.quorum_count = GetInt(*params, kWhere, "quorum_count", issues, &bad);
  out.max_attempts = GetInt(*params, kWhere, "max_attempts", issues, &bad);
  out.cohort_for_single_attempt =
      GetInt(*params, kWhere, "cohort_for_single_attempt", issues, &bad);
}

// acme-dns-01 and acme-tls-alpn-01: `key_authorization_hash` (the spec) or `key_authorization`
// (mpic: lets the perspectives compute and report the digest themselves).
void DecodeDigestOrKeyAuthorization(const json& params, std::string_view where, bool hex,
                                    const DecodeOptions& options, DecodedRequest& out,
                                    json& echo, Issues& issues) {
  auto hash = GetString(params, where, "key_authorization_hash", false, issues);
  auto ka = GetString(params, where, "key_authorization", false, issues);
  if (hash && ka) {
    issues.Add("conflicting-fields", std::string(where) +
                                         "give key_authorization_hash or key_authorization, "
                                         "not both");
    return;
  }
  if (ka) {
    if (CheckKeyAuthorization(*ka, std::nullopt, where, issues)) {
      out.validate.set_key_authorization(*ka);
      echo["key_authorization"] = *ka;
    }
    return;
  }
  if (!hash) {
    if (!Member(params, "key_authorization_hash") && !Member(params, "key_authorization")) {
      issues.Add("missing-field", std::string(where) + "key_authorization_hash is required");
    }
    return;
  }
  auto digest = hex ? DecodeDigestHex(*hash) : DecodeDigestBase64Url(*hash);
  if (!digest) {
    issues.Add("invalid-key-authorization-hash",
               std::string(where) + "key_authorization_hash must be the SHA-256 digest of the "
                                    "key authorization as " +
                   (hex ? "64 hex digits (RFC 8737 §3)"
                        : "43 characters of base64url without padding (RFC 8555 §8.4)"));
    return;
  }
  if (!options.accept_key_authorization_hash) {
    issues.Add("unsupported-key-authorization-hash",
               std::string(where) +
                   "this server needs the key_authorization itself (send key_authorization "
                   "instead of key_authorization_hash): its perspectives derive and report the "
                   "digest");
    return;
  }
  out.key_authorization_sha256 = *digest;
  out.validate.set_key_authorization_sha256(digest->data(), digest->size());
  echo["key_authorization_hash"] = *hash;
}

void DecodeRequireExactCase(const json& params, std::string_view where, bool must_be_exact,
                            json& echo, Issues& issues) {
  auto exact = GetBool(params, where, "require_exact_case", issues);
  if (must_be_exact && exact && !*exact) {
    issues.Add("unsupported-require-exact-case",
               std::string(where) +
                   "require_exact_case false is not supported: ACME challenge values are "
                   "compared exactly (RFC 8555 §8.3, §8.4)");
    return;
  }
  echo["require_exact_case"] = exact.value_or(must_be_exact);
}

// dns-persistent (open-mpic-core 3.8; draft-ietf-acme-dns-persist, BR §3.2.2.4.22): a TXT
// record at _validation-persist.<domain> naming one of the CA's disclosed issuer domain names
// and the expected account URI. mpic.v1 carries them as caa_issuer_domains and account_uri.
void DecodeDnsPersistent(const json& params, std::string_view where, DecodedRequest& out,
                         json& echo, Issues& issues) {
  CheckKnownFields(params, where,
                   {"validation_method", "issuer_domain_names", "expected_account_uri",
                    "dns_record_type", "dns_name_prefix", "require_exact_case"},
                   issues);
  const std::string at(where);
  const json* names = Member(params, "issuer_domain_names");
  if (names == nullptr) {
    issues.Add("missing-field", at + "issuer_domain_names is required");
  } else if (!names->is_array() || names->empty()) {
    issues.Add("invalid-issuer-domain-names",
               at + "issuer_domain_names must be a non-empty array of domain names");
  } else if (names->size() > kMaxCaaDomains) {
    issues.Add("invalid-issuer-domain-names", at + "issuer_domain_names has more than " +
                                                  std::to_string(kMaxCaaDomains) + " entries");
  } else {
    for (const json& name : *names) {
      auto normalized = name.is_string() ? NormalizeDnsName(name.get_ref<const std::string&>())
                                         : decltype(NormalizeDnsName(std::string())){};
      if (!normalized || normalized->empty()) {
        issues.Add("invalid-issuer-domain-names",
                   at + "issuer_domain_names: " + Shown(name) + " is not a domain name");
        continue;
      }
      out.validate.add_caa_issuer_domains(*normalized);
    }
    echo["issuer_domain_names"] = *names;
  }
  auto uri = GetString(params, where, "expected_account_uri", true, issues);
  if (uri) {
    const std::size_t scheme = uri->find("://");
    if (scheme == std::string::npos || scheme == 0 || uri->size() > kMaxFieldLength ||
        uri->find_first_of(" \t\r\n") != std::string::npos) {
      issues.Add("invalid-expected-account-uri",
                 at + "expected_account_uri must be an absolute URI");
    } else {
      out.validate.set_account_uri(*uri);
      echo["expected_account_uri"] = *uri;
    }
  }
  auto type = GetString(params, where, "dns_record_type", false, issues);
  if (type && *type != "TXT") {
    issues.Add("invalid-dns-record-type", at + "dns_record_type must be TXT for dns-persistent");
  }
  echo["dns_record_type"] = "TXT";
  auto prefix = GetString(params, where, "dns_name_prefix", false, issues);
  if (prefix && *prefix != "_validation-persist") {
    issues.Add("invalid-dns-name-prefix",
               at + "dns_name_prefix must be _validation-persist for dns-persistent");
  }
  echo["dns_name_prefix"] = "_validation-persist";
  // Issuer domain names compare case-insensitively (they are DNS names): any value is accepted.
  DecodeRequireExactCase(params, where, /*must_be_exact=*/false, echo, issues);
}

// The one label a TXT-based contact method reads from (BR §3.2.2.4.14, §3.2.2.4.16); "" for
// the methods that look at the name itself.
std::string_view FixedPrefix(v1::Method method) {
  switch (method) {
    case v1::CONTACT_EMAIL_TXT: return "_validation-contactemail";
    case v1::CONTACT_PHONE_TXT: return "_validation-contactphone";
    default: return "";
  }
}

// The record type a method reads when it has only one ("" when the request chooses).
std::string_view FixedRecordType(v1::Method method) {
  switch (method) {
    case v1::CONTACT_EMAIL_TXT:
    case v1::CONTACT_PHONE_TXT: return "TXT";
    case v1::CONTACT_EMAIL_CAA:
    case v1::CONTACT_PHONE_CAA: return "CAA";
    case v1::REVERSE_ADDRESS_LOOKUP: return "PTR";
    default: return "";
  }
}

// One DNS label beginning with "_" (BR §3.2.2.4.7: the ADN "prefixed with a Domain Label that
// begins with an underscore character").
bool IsUnderscoreLabel(std::string_view label) {
  if (label.size() < 2 || label.size() > 63 || label.front() != '_') return false;
  return std::all_of(label.begin() + 1, label.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
  });
}

// The BR methods beyond ACME (open-mpic-core's DcvWebsiteChange/DnsChange/IpAddress/Contact*/
// ReverseAddressLookup parameters): BR §3.2.2.4.7, .8, .13-.18, §3.2.2.5.3. What each
// parameter means to the check: checks/check.h (CheckRequest).
void DecodeBrMethod(const json& params, std::string_view where, v1::Method method,
                    std::string_view name, DecodedRequest& out, json& echo, Issues& issues) {
  const std::string at(where);
  const bool website = method == v1::WEBSITE_CHANGE;
  if (website) {
    CheckKnownFields(params, where,
                     {"validation_method", "challenge_value", "http_token_path", "url_scheme",
                      "http_headers", "match_regex", "require_exact_case"},
                     issues);
  } else if (method == v1::DNS_CHANGE) {
    CheckKnownFields(params, where,
                     {"validation_method", "challenge_value", "dns_name_prefix",
                      "dns_record_type", "require_exact_match", "require_exact_case"},
                     issues);
  } else {
    CheckKnownFields(params, where,
                     {"validation_method", "challenge_value", "dns_name_prefix",
                      "dns_record_type", "require_exact_case"},
                     issues);
  }
  v1::ValidateRequest& v = out.validate;

  // challenge_value: the Random Value / Request Token, the address (ip-address), the email
  // address or phone number (contact-*), the expected domain name (reverse-address-lookup).
  auto value = GetString(params, where, "challenge_value", true, issues);
  if (value && value->empty()) {
    issues.Add("invalid-challenge-value", at + "challenge_value is empty");
    value.reset();
  }
  if (value && method == v1::IP_ADDRESS) {
    std::string literal(*value);
    in_addr v4{};
    in6_addr v6{};
    char buf[INET6_ADDRSTRLEN] = {};
    if (inet_pton(AF_INET, literal.c_str(), &v4) == 1) {
      inet_ntop(AF_INET, &v4, buf, sizeof(buf));
    } else if (inet_pton(AF_INET6, literal.c_str(), &v6) == 1) {
      inet_ntop(AF_INET6, &v6, buf, sizeof(buf));  // RFC 5952 canonical form
    } else {
      issues.Add("invalid-challenge-value",
                 at + "challenge_value must be the IP address the A/AAAA records must contain "
                      "(BR §3.2.2.4.8), not " + Shown(json(*value)));
      value.reset();
    }
    if (value) value = std::string(buf);
  } else if (value && method == v1::REVERSE_ADDRESS_LOOKUP) {
    auto host = NormalizeDnsName(*value);
    if (!host || host->empty()) {
      issues.Add("invalid-challenge-value",
                 at + "challenge_value must be the domain name the PTR records must name "
                      "(BR §3.2.2.5.3), not " + Shown(json(*value)));
      value.reset();
    } else {
      value = *host;
    }
  }
  if (value) {
    v.set_challenge_value(*value);
    echo["challenge_value"] = *value;
  }

  if (website) {
    auto path = GetString(params, where, "http_token_path", true, issues);
    if (path) {
      const bool ok = !path->empty() && IsPrintableAscii(*path) &&
                      path->find_first_of(" ?#\\") == std::string::npos &&
                      path->find("..") == std::string::npos && path->front() != '/';
      if (!ok) {
        issues.Add("invalid-http-token-path",
                   at + "http_token_path must be a relative path below "
                        "/.well-known/pki-validation/ (printable ASCII, no \"..\", \"?\", \"#\" "
                        "or leading \"/\"; BR §3.2.2.4.18)");
      } else {
        v.set_http_token_path(*path);
        echo["http_token_path"] = *path;
      }
    }
    auto scheme = GetString(params, where, "url_scheme", false, issues);
    if (scheme && *scheme != "http" && *scheme != "https") {
      issues.Add("invalid-url-scheme", at + "url_scheme must be \"http\" or \"https\"");
    } else {
      v.set_url_scheme(scheme.value_or("http"));
      echo["url_scheme"] = scheme.value_or("http");
    }
    bool bad = false;
    const json* headers = GetObject(params, where, "http_headers", issues, &bad);
    if (headers != nullptr && !headers->empty()) {
      issues.Add("unsupported-http-headers",
                 at + "http_headers is not supported: every perspective sends the same fixed "
                      "request");
    }
    echo["http_headers"] = nullptr;
    auto regex = GetString(params, where, "match_regex", false, issues);
    if (regex && !regex->empty()) {
      issues.Add("unsupported-match-regex",
                 at + "match_regex is not supported: the page must contain challenge_value "
                      "itself (BR §3.2.2.4.18); a caller-supplied pattern could match content "
                      "the Applicant did not place");
    }
    echo["match_regex"] = nullptr;
  } else {
    // dns_name_prefix: dns-change only (one "_" label); the TXT contact methods accept their
    // own fixed label (the spec's literal), every other value is refused.
    auto prefix = GetString(params, where, "dns_name_prefix", false, issues);
    const std::string_view fixed = FixedPrefix(method);
    if (method == v1::DNS_CHANGE) {
      if (prefix && !prefix->empty() && !IsUnderscoreLabel(*prefix)) {
        issues.Add("invalid-dns-name-prefix",
                   at + "dns_name_prefix must be one DNS label beginning with \"_\" "
                        "(BR §3.2.2.4.7)");
      } else if (prefix && !prefix->empty()) {
        v.set_dns_name_prefix(*prefix);
      }
      echo["dns_name_prefix"] = prefix && !prefix->empty() ? json(*prefix) : json(nullptr);
    } else {
      if (prefix && !prefix->empty() && *prefix != fixed) {
        issues.Add("invalid-dns-name-prefix",
                   at + "dns_name_prefix is not supported for " + std::string(name) +
                       (fixed.empty() ? std::string(" (only dns-change takes one)")
                                      : " (its label is always " + std::string(fixed) + ")"));
      }
      echo["dns_name_prefix"] = fixed.empty() ? json(nullptr) : json(std::string(fixed));
    }

    auto type = GetString(params, where, "dns_record_type", false, issues);
    const std::string_view fixed_type = FixedRecordType(method);
    if (method == v1::DNS_CHANGE) {
      if (!type) {
        if (!Member(params, "dns_record_type")) {
          issues.Add("missing-field", at + "dns_record_type is required (TXT, CNAME or CAA)");
        }
      } else if (*type != "TXT" && *type != "CNAME" && *type != "CAA") {
        issues.Add("invalid-dns-record-type",
                   at + "dns_record_type must be TXT, CNAME or CAA for dns-change");
      } else {
        v.set_dns_record_type(*type);
        echo["dns_record_type"] = *type;
      }
    } else if (method == v1::IP_ADDRESS) {
      if (!type) {
        if (!Member(params, "dns_record_type")) {
          issues.Add("missing-field", at + "dns_record_type is required (A or AAAA)");
        }
      } else if (*type != "A" && *type != "AAAA") {
        issues.Add("invalid-dns-record-type",
                   at + "dns_record_type must be A or AAAA for ip-address");
      } else if (value && (*type == "A") != (value->find(':') == std::string::npos)) {
        issues.Add("invalid-dns-record-type",
                   at + "dns_record_type " + *type + " cannot hold the address " + *value);
      } else {
        v.set_dns_record_type(*type);
        echo["dns_record_type"] = *type;
      }
    } else {
      if (type && *type != fixed_type) {
        issues.Add("invalid-dns-record-type", at + "dns_record_type must be " +
                                                  std::string(fixed_type) + " for " +
                                                  std::string(name));
      }
      echo["dns_record_type"] = std::string(fixed_type);
    }
  }

  if (method == v1::DNS_CHANGE) {
    auto exact = GetBool(params, where, "require_exact_match", issues);
    v.set_require_exact_match(exact.value_or(false));
    echo["require_exact_match"] = exact.value_or(false);
  }
  // Given: passed to the check; absent: the check's default for the method (true for
  // dns-change TXT and website-change, false for the others, as open-mpic-core).
  auto exact_case = GetBool(params, where, "require_exact_case", issues);
  if (exact_case) v.set_require_exact_case(*exact_case);
  echo["require_exact_case"] =
      exact_case.value_or(method == v1::DNS_CHANGE || method == v1::WEBSITE_CHANGE);
}

void DecodeDcv(const json& body, const DecodeOptions& options, DecodedRequest& out,
               Issues& issues) {
  constexpr std::string_view kWhere = "dcv_check_parameters.";
  bool bad = false;
  const json* params = GetObject(body, "", "dcv_check_parameters", issues, &bad);
  if (params == nullptr) {
    if (!bad) issues.Add("missing-field", "dcv_check_parameters is required for check_type dcv");
    return;
  }
  auto method_name = GetString(*params, kWhere, "validation_method", true, issues);
  if (!method_name) return;
  const MethodInfo* method = FindMethod(*method_name);
  if (method == nullptr) {
    std::string known;
    for (const MethodInfo& info : Methods()) known += (known.empty() ? "" : ", ") +
                                                      std::string(info.name);
    issues.Add("invalid-validation-method", "Invalid 'validation_method' specified: " +
                                                Shown(json(*method_name)) + " (known: " + known +
                                                ")");
    return;
  }
  if (method->v1_method == v1::METHOD_UNSPECIFIED) {
    issues.Add("unsupported-validation-method",
               "validation_method " + std::string(method->name) + " (BR §" +
                   std::string(method->br_section) +
                   ") is not supported by mpic (it has no such check; docs/openmpic.md)");
    return;
  }
  out.validation_method = *method_name;
  out.validate.set_method(method->v1_method);
  json echo = json::object();
  echo["validation_method"] = *method_name;
  switch (method->v1_method) {
    case v1::HTTP_01: {
      CheckKnownFields(*params, kWhere,
                       {"validation_method", "token", "key_authorization", "http_headers",
                        "require_exact_case"},
                       issues);
      auto token = GetString(*params, kWhere, "token", true, issues);
      auto ka = GetString(*params, kWhere, "key_authorization", true, issues);
      bool token_ok = token && CheckToken(*token, kWhere, issues);
      if (token_ok && ka &&
          CheckKeyAuthorization(*ka, std::string_view(*token), kWhere, issues)) {
        out.validate.set_token(*token);
        out.validate.set_key_authorization(*ka);
        echo["token"] = *token;
        echo["key_authorization"] = *ka;
      }
      const json* headers = GetObject(*params, kWhere, "http_headers", issues, &bad);
      if (headers != nullptr && !headers->empty()) {
        issues.Add("unsupported-http-headers",
                   "dcv_check_parameters.http_headers is not supported: every perspective sends "
                   "the same fixed request (RFC 8555 §8.3)");
      }
      echo["http_headers"] = nullptr;
      DecodeRequireExactCase(*params, kWhere, /*must_be_exact=*/true, echo, issues);
      break;
    }
    case v1::DNS_01:
      CheckKnownFields(*params, kWhere,
                       {"validation_method", "key_authorization_hash", "key_authorization",
                        "require_exact_case"},
                       issues);
      DecodeDigestOrKeyAuthorization(*params, kWhere, /*hex=*/false, options, out, echo, issues);
      DecodeRequireExactCase(*params, kWhere, /*must_be_exact=*/true, echo, issues);
      break;
    case v1::TLS_ALPN_01:
      CheckKnownFields(*params, kWhere,
                       {"validation_method", "key_authorization_hash", "key_authorization",
                        "require_exact_case"},
                       issues);
      DecodeDigestOrKeyAuthorization(*params, kWhere, /*hex=*/true, options, out, echo, issues);
      // The digest is compared as bytes; the flag changes nothing, so any value is accepted.
      DecodeRequireExactCase(*params, kWhere, /*must_be_exact=*/false, echo, issues);
      break;
    case v1::DNS_PERSIST_01:
      DecodeDnsPersistent(*params, kWhere, out, echo, issues);
      break;
    case v1::DNS_CHANGE:
    case v1::WEBSITE_CHANGE:
    case v1::IP_ADDRESS:
    case v1::CONTACT_EMAIL_TXT:
    case v1::CONTACT_EMAIL_CAA:
    case v1::CONTACT_PHONE_TXT:
    case v1::CONTACT_PHONE_CAA:
    case v1::REVERSE_ADDRESS_LOOKUP:
      DecodeBrMethod(*params, kWhere, method->v1_method, method->name, out, echo, issues);
      break;
    default:
      issues.Add("unsupported-validation-method", "validation_method not mapped");
      return;
  }
  out.echo_parameters = std::move(echo);
}

void DecodeCaa(const json& body, const DecodeOptions& options, DecodedRequest& out,
               Issues& issues) {
  constexpr std::string_view kWhere = "caa_check_parameters.";
  bool bad = false;
  const json* params = GetObject(body, "", "caa_check_parameters", issues, &bad);
  static const json kEmpty = json::object();
  if (params == nullptr) {
    if (bad) return;
    params = &kEmpty;
  }
  CheckKnownFields(*params, kWhere, {"certificate_type", "caa_domains", "allow_lookup_failure"},
                   issues);
  json echo = json::object();
  auto type = GetString(*params, kWhere, "certificate_type", false, issues);
  out.certificate_type = type.value_or("tls-server");
  if (out.certificate_type != "tls-server" && out.certificate_type != "s-mime") {
    issues.Add("invalid-certificate-type", "Invalid 'certificate_type' specified: " +
                                               Shown(json(out.certificate_type)) +
                                               " (tls-server or s-mime)");
  } else if (out.certificate_type == "s-mime" && !options.accept_smime) {
    issues.Add("unsupported-certificate-type",
               "certificate_type s-mime (CAA issuemail, RFC 9495) is not supported by this "
               "server yet");
  }
  echo["certificate_type"] = out.certificate_type;
  if (out.certificate_type == "s-mime") out.validate.set_certificate_type(v1::CERTIFICATE_TYPE_S_MIME);

  const json* domains = Member(*params, "caa_domains");
  if (domains != nullptr) {
    if (!domains->is_array()) {
      issues.Add("invalid-field-type", "caa_check_parameters.caa_domains must be an array, not " +
                                           TypeName(*domains));
    } else if (domains->size() > kMaxCaaDomains) {
      issues.Add("invalid-caa-domains", "caa_check_parameters.caa_domains has more than " +
                                            std::to_string(kMaxCaaDomains) + " entries");
    } else {
      for (const json& domain : *domains) {
        if (!domain.is_string()) {
          issues.Add("invalid-field-type",
                     "caa_check_parameters.caa_domains entries must be strings");
          break;
        }
        auto name = NormalizeDnsName(domain.get_ref<const std::string&>());
        if (!name || name->empty()) {
          issues.Add("invalid-caa-domains", "caa_check_parameters.caa_domains: " +
                                                Shown(domain) + " is not a domain name");
          continue;
        }
        out.caa_domains.push_back(*name);
      }
    }
    echo["caa_domains"] = *domains;
  } else {
    echo["caa_domains"] = nullptr;
  }
  if (out.caa_domains.empty() && (domains == nullptr || domains->empty())) {
    out.caa_domains.clear();
    for (const std::string& domain : options.default_caa_domains) out.caa_domains.push_back(domain);
    if (out.caa_domains.empty()) {
      issues.Add("missing-field",
                 "caa_check_parameters.caa_domains is required: no default issuer domain is "
                 "configured");
    }
  }
  auto allow_failure = GetBool(*params, kWhere, "allow_lookup_failure", issues);
  if (allow_failure.value_or(false)) {
    issues.Add("unsupported-allow-lookup-failure",
               "caa_check_parameters.allow_lookup_failure true is not supported: a CAA lookup "
               "failure is always a denial here (BR §3.2.2.8 lets a CA treat it as permission "
               "only under conditions mpic does not assume)");
  }
  echo["allow_lookup_failure"] = allow_failure.value_or(false);
  for (const std::string& domain : out.caa_domains) out.validate.add_caa_issuer_domains(domain);
  out.echo_parameters = std::move(echo);
}

// Parses with duplicate-key and depth checks (neither is JSON syntax, both are ambiguity).
std::optional<json> ParseJson(std::string_view body, Issues& issues) {
  std::vector<std::set<std::string>> keys;
  bool duplicate = false;
  bool too_deep = false;
  std::string duplicate_key;
  json::parser_callback_t callback = [&](int depth, json::parse_event_t event,
                                         json& parsed) -> bool {
    if (depth > kMaxJsonDepth) too_deep = true;
    switch (event) {
      case json::parse_event_t::object_start:
        keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        if (!keys.empty()) keys.pop_back();
        break;
      case json::parse_event_t::key:
        if (!keys.empty() && parsed.is_string() &&
            !keys.back().insert(parsed.get<std::string>()).second) {
          duplicate = true;
          duplicate_key = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  };
  json parsed = json::parse(body.begin(), body.end(), callback, /*allow_exceptions=*/false,
                            /*ignore_comments=*/false);
  if (parsed.is_discarded()) {
    issues.Add("malformed-json", "the request body is not valid JSON (RFC 8259)");
    return std::nullopt;
  }
  if (too_deep) {
    issues.Add("malformed-json", "the request body nests deeper than " +
                                     std::to_string(kMaxJsonDepth) + " levels");
    return std::nullopt;
  }
  if (duplicate) {
    issues.Add("duplicate-field", "the field " + Shown(json(duplicate_key)) +
                                      " appears more than once in one object");
    return std::nullopt;
  }
  if (!parsed.is_object()) {
    issues.Add("invalid-request-body", "the request body must be a JSON object");
    return std::nullopt;
  }
  return parsed;
}

}  // namespace

nlohmann::json ValidationErrorBody(const ValidationIssues& issues) {
  json list = json::array();
  for (const ValidationIssue& issue : issues) {
    list.push_back({{"issue_type", issue.issue_type}, {"message", issue.message}});
  }
  return {{"error", "request-validation-failed"}, {"validation_issues", std::move(list)}};
}

std::string_view CheckTypeName(CheckType type) {
  return type == CheckType::kCaa ? "caa" : "dcv";
}

tl::expected<DecodedRequest, ValidationIssues> DecodeRequest(std::string_view body,
                                                             const DecodeOptions& options) {
  Issues issues;
  std::optional<json> parsed = ParseJson(body, issues);
  if (!parsed) return tl::unexpected(issues.Take());
  const json& root = *parsed;

  DecodedRequest out;
  auto check_type = GetString(root, "", "check_type", true, issues);
  if (check_type && *check_type != "dcv" && *check_type != "caa") {
    issues.Add("invalid-check-type",
               "check_type must be \"dcv\" or \"caa\", not " + Shown(json(*check_type)));
    check_type.reset();
  }
  if (check_type) out.check_type = *check_type == "caa" ? CheckType::kCaa : CheckType::kDcv;
  if (check_type) {
    if (out.check_type == CheckType::kDcv) {
      CheckKnownFields(root, "",
                       {"check_type", "domain_or_ip_target", "orchestration_parameters",
                        "trace_identifier", "dcv_check_parameters"},
                       issues);
    } else {
      CheckKnownFields(root, "",
                       {"check_type", "domain_or_ip_target", "orchestration_parameters",
                        "trace_identifier", "caa_check_parameters"},
                       issues);
    }
  }

  std::optional<Target> target;
  if (auto text = GetString(root, "", "domain_or_ip_target", true, issues)) {
    out.domain_or_ip_target = *text;
    target = ParseTarget(*text, issues);
  }

  if (auto trace = GetString(root, "", "trace_identifier", false, issues)) {
    if (trace->size() > kMaxTraceIdentifierLength || !IsPrintableAscii(*trace)) {
      issues.Add("invalid-trace-identifier",
                 "trace_identifier must be printable ASCII of at most " +
                     std::to_string(kMaxTraceIdentifierLength) + " characters");
    } else {
      out.trace_identifier = *trace;
    }
  }

  DecodeOrchestration(root, out.orchestration, issues);

  if (check_type) {
    if (out.check_type == CheckType::kDcv) {
      out.validate.set_skip_caa(true);
      DecodeDcv(root, options, out, issues);
    } else {
      out.validate.set_skip_dcv(true);
      DecodeCaa(root, options, out, issues);
    }
  }

  if (target && check_type) {
    out.identifier = target->identifier;
    out.wildcard = target->wildcard;
    out.is_ip = target->is_ip;
    const v1::Method method = out.validate.method();
    if (out.check_type == CheckType::kCaa && target->wildcard &&
        out.certificate_type == "s-mime") {
      issues.Add("invalid-domain-or-ip-target",
                 "certificate_type s-mime certifies email addresses at a domain, which has no "
                 "wildcard form (RFC 9495): give the domain without \"*.\"");
    }
    if (out.check_type == CheckType::kCaa && target->is_ip) {
      issues.Add("invalid-domain-or-ip-target",
                 "CAA applies to domain names only (RFC 8659); an IP address has no CAA records");
    }
    if (target->is_ip && method == v1::DNS_01) {
      issues.Add("invalid-domain-or-ip-target",
                 "acme-dns-01 cannot validate an IP address (RFC 8738 §7)");
    }
    if (target->wildcard && (method == v1::HTTP_01 || method == v1::TLS_ALPN_01)) {
      issues.Add("invalid-domain-or-ip-target",
                 "a wildcard name can only be validated with acme-dns-01 (RFC 8555 §7.1.3)");
    }
    if (target->wildcard && method == v1::WEBSITE_CHANGE) {
      issues.Add("invalid-domain-or-ip-target",
                 "website-change cannot validate a wildcard name (BR §3.2.2.6)");
    }
    if (out.check_type == CheckType::kDcv && method == v1::REVERSE_ADDRESS_LOOKUP &&
        !target->is_ip) {
      issues.Add("invalid-domain-or-ip-target",
                 "reverse-address-lookup validates an IP address (BR §3.2.2.5.3): "
                 "domain_or_ip_target must be one");
    }
    if (target->is_ip && (method == v1::DNS_CHANGE || method == v1::IP_ADDRESS ||
                          method == v1::CONTACT_EMAIL_TXT || method == v1::CONTACT_EMAIL_CAA ||
                          method == v1::CONTACT_PHONE_TXT || method == v1::CONTACT_PHONE_CAA)) {
      issues.Add("invalid-domain-or-ip-target",
                 out.validation_method + " validates a domain name, not an IP address");
    }
    out.validate.set_identifier(target->identifier);
    out.validate.set_wildcard(target->wildcard);
  }

  if (!issues.empty()) return tl::unexpected(issues.Take());
  return out;
}

}  // namespace mpic::openmpic
