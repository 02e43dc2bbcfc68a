#include "va-primary/request.h"

#include <algorithm>
#include <cstring>

#include "checks/key_authorization.h"
#include "common/asio.h"
#include "common/dns_name.h"
#include "perspective/wire.h"

namespace mpic::va_primary {
namespace {

tl::unexpected<Error> Malformed(std::string detail) {
  return Fail(ProblemType::kMalformed, std::move(detail));
}

// The BR methods beyond ACME (checks/check.h), or nullopt.
std::optional<checks::Method> BrMethod(v1::Method method) {
  switch (method) {
    case v1::DNS_CHANGE:
    case v1::WEBSITE_CHANGE:
    case v1::IP_ADDRESS:
    case v1::CONTACT_EMAIL_TXT:
    case v1::CONTACT_EMAIL_CAA:
    case v1::CONTACT_PHONE_TXT:
    case v1::CONTACT_PHONE_CAA:
    case v1::REVERSE_ADDRESS_LOOKUP: {
      auto m = perspective::MethodFromProto(method);
      if (m) return *m;
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

bool IsPrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

std::string MethodLabel(v1::Method method) {
  auto m = perspective::MethodFromProto(method);
  return m ? checks::CaaValidationMethodName(*m) : "";
}

Result<CheckedRequest> CheckValidateRequest(const v1::ValidateRequest& request) {
  CheckedRequest out;
  out.method = request.method();
  out.wildcard = request.wildcard();
  out.attempt = request.attempt();
  if (request.skip_dcv() && request.skip_caa()) {
    return Malformed("skip_dcv and skip_caa are both set: nothing to validate");
  }

  // The method: a DCV method, or (CAA only) unset.
  switch (request.method()) {
    case v1::HTTP_01:
      out.dcv = checks::Method::kHttp01;
      break;
    case v1::DNS_01:
      out.dcv = checks::Method::kDns01;
      break;
    case v1::TLS_ALPN_01:
      out.dcv = checks::Method::kTlsAlpn01;
      break;
    case v1::DNS_PERSIST_01:
      out.dcv = checks::Method::kDnsPersist01;
      break;
    case v1::DNS_ACCOUNT_01:
      out.dcv = checks::Method::kDnsAccount01;
      break;
    case v1::METHOD_UNSPECIFIED:
      if (!request.skip_dcv()) {
        return Malformed(
            "method is required (HTTP_01, DNS_01, TLS_ALPN_01, DNS_PERSIST_01, DNS_ACCOUNT_01)");
      }
      break;
    default:
      if (auto br = BrMethod(request.method())) {
        out.dcv = *br;
        break;
      }
      return Malformed("method " + std::to_string(static_cast<int>(request.method())) +
                       " is not a DCV method (HTTP_01, DNS_01, TLS_ALPN_01, DNS_PERSIST_01, "
                       "DNS_ACCOUNT_01)");
  }
  if (request.skip_dcv()) out.dcv.reset();
  out.caa = !request.skip_caa();
  // The BR methods beyond ACME carry a challenge value instead of a token and key authorization.
  const bool br_method = out.dcv && BrMethod(request.method()).has_value();
  const bool br_ip_method = out.dcv == checks::Method::kWebsiteChange ||
                            out.dcv == checks::Method::kReverseAddressLookup;
  const bool dns_method = out.dcv == checks::Method::kDns01 ||
                          out.dcv == checks::Method::kDnsPersist01 ||
                          out.dcv == checks::Method::kDnsAccount01;
  const bool persist = out.dcv == checks::Method::kDnsPersist01;

  // The identifier: a hostname, or an IP literal for HTTP-01 / TLS-ALPN-01 (RFC 8738).
  const std::string& identifier = request.identifier();
  if (identifier.empty()) return Malformed("identifier is required");
  if (identifier.size() > kMaxNameLength + 1) return Malformed("identifier is too long");
  boost::system::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(identifier, ec);
  if (!ec) {
    out.is_ip = true;
    out.identifier = ip.to_string();
    if (br_method && !br_ip_method) {
      return Malformed(MethodLabel(request.method()) + " validates a domain name, not an IP");
    }
    if (dns_method) {
      return Malformed("an IP identifier cannot be validated with DNS-01 or another DNS method (RFC 8738 §7)");
    }
    if (out.caa) {
      return Malformed("CAA does not apply to IP identifiers (RFC 8738); set skip_caa");
    }
    if (out.wildcard) return Malformed("an IP identifier cannot be a wildcard");
  } else {
    if (out.dcv == checks::Method::kReverseAddressLookup) {
      return Malformed("REVERSE_ADDRESS_LOOKUP validates an IP address (BR §3.2.2.5.3)");
    }
    auto name = NormalizeHostname(identifier);
    if (!name) return Malformed("identifier: " + name.error().detail);
    out.identifier = *name;
  }

  // RFC 8555 §7.1.3: wildcard authorizations are validated with DNS-01 only; of the BR methods,
  // those that validate an ADN in the DNS may validate a wildcard (BR §3.2.2.4.7, .8, .13-.17).
  const bool br_wildcard_ok = br_method && !br_ip_method;
  if (out.wildcard && out.dcv && !dns_method && !br_wildcard_ok) {
    return Malformed(
        "a wildcard identifier can only be validated with a DNS method (RFC 8555 §7.1.3)");
  }

  // The BR methods' parameters: bounded printable text, checked in full by the checks.
  const std::string* br_text[] = {&request.challenge_value(), &request.dns_name_prefix(),
                                  &request.dns_record_type(), &request.http_token_path(),
                                  &request.url_scheme(),      &request.match_regex()};
  bool br_fields = request.require_exact_match() || request.has_require_exact_case();
  for (const std::string* text : br_text) {
    // Blanks are allowed here (a phone number may be written "+1 (555) 123-4567").
    bool printable = std::all_of(text->begin(), text->end(),
                                 [](char c) { return c >= 0x20 && c < 0x7f; });
    if (text->size() > 1024 || !printable) {
      return Malformed("challenge_value, dns_name_prefix, dns_record_type, http_token_path, "
                       "url_scheme and match_regex must be printable ASCII, at most 1024");
    }
    br_fields = br_fields || !text->empty();
  }
  if (br_fields && !br_method) {
    return Malformed("challenge_value and the other BR method parameters are for DNS_CHANGE ... "
                     "REVERSE_ADDRESS_LOOKUP only");
  }
  if (br_method) {
    if (request.challenge_value().empty()) {
      return Malformed("challenge_value is required with " + MethodLabel(request.method()));
    }
    out.challenge_value = request.challenge_value();
    out.dns_name_prefix = request.dns_name_prefix();
    out.dns_record_type = request.dns_record_type();
    out.require_exact_match = request.require_exact_match();
    if (request.has_require_exact_case()) out.require_exact_case = request.require_exact_case();
    out.http_token_path = request.http_token_path();
    out.url_scheme = request.url_scheme();
    out.match_regex = request.match_regex();
  }

  // CAA's certificate type: TLS server (issue/issuewild) or S/MIME (issuemail, RFC 9495).
  switch (request.certificate_type()) {
    case v1::CERTIFICATE_TYPE_TLS_SERVER:
      break;
    case v1::CERTIFICATE_TYPE_S_MIME:
      if (!out.caa) return Malformed("certificate_type S_MIME is for the CAA check; not with skip_caa");
      if (out.wildcard) {
        return Malformed("certificate_type S_MIME cannot be a wildcard: email addresses have no "
                         "wildcard form (RFC 9495)");
      }
      out.caa_smime = true;
      break;
    default:
      return Malformed("certificate_type " +
                       std::to_string(static_cast<int>(request.certificate_type())) +
                       " is unknown (TLS_SERVER, S_MIME)");
  }

  // DNS-01 / TLS-ALPN-01 by the key authorization's digest alone (the Open MPIC API's
  // key_authorization_hash): exactly 32 octets, and then no token or key authorization.
  if (!request.key_authorization_sha256().empty()) {
    if (out.dcv != checks::Method::kDns01 && out.dcv != checks::Method::kTlsAlpn01) {
      return Malformed("key_authorization_sha256 is for DNS_01 and TLS_ALPN_01 only");
    }
    if (request.key_authorization_sha256().size() != 32) {
      return Malformed("key_authorization_sha256 must be the 32 octets of a SHA-256 digest");
    }
    if (!request.key_authorization().empty() || !request.token().empty()) {
      return Malformed("give key_authorization or key_authorization_sha256, not both (and no "
                       "token with the digest)");
    }
    std::array<uint8_t, 32> digest{};
    std::memcpy(digest.data(), request.key_authorization_sha256().data(), digest.size());
    out.key_authorization_sha256 = digest;
  } else if (out.dcv && !persist && !br_method) {
    // Token and key authorization (RFC 8555 §8.1, §8.3); dns-persist-01 has neither.
    if (Status ok = checks::ValidateKeyAuthorization(request.key_authorization()); !ok) {
      return Malformed(ok.error().detail);
    }
    const std::string& ka = request.key_authorization();
    const std::size_t dot = ka.find('.');
    if (dot == 0 || dot + 1 == ka.size()) {
      return Malformed("key authorization must be token \".\" thumbprint (RFC 8555 §8.1)");
    }
    if (out.dcv == checks::Method::kHttp01 || !request.token().empty()) {
      if (Status ok = checks::ValidateToken(request.token()); !ok) {
        return Malformed(ok.error().detail);
      }
      if (ka.compare(0, dot, request.token()) != 0) {
        return Malformed("key authorization does not start with the token (RFC 8555 §8.1)");
      }
    }
    out.token = request.token();
    out.key_authorization = ka;
  } else if (!request.token().empty() || !request.key_authorization().empty()) {
    return Malformed(persist || br_method
                         ? "token / key_authorization given with " + MethodLabel(request.method())
                         : "token / key_authorization given with skip_dcv");
  }

  // The issuer domain names: CAA's (RFC 8659, RFC 8657), and dns-persist-01's issuer names.
  if (out.caa || persist) {
    if (request.caa_issuer_domains().empty()) {
      return Malformed(persist ? "caa_issuer_domains is required with DNS_PERSIST_01"
                               : "caa_issuer_domains is required unless skip_caa");
    }
    if (static_cast<std::size_t>(request.caa_issuer_domains_size()) > kMaxIssuerDomains) {
      return Malformed("caa_issuer_domains: at most " + std::to_string(kMaxIssuerDomains));
    }
    for (const std::string& domain : request.caa_issuer_domains()) {
      auto name = NormalizeDnsName(domain);
      if (!name || name->empty()) {
        return Malformed("caa_issuer_domains: \"" + domain.substr(0, 64) +
                         "\" is not a domain name");
      }
      out.caa_issuer_domains.push_back(*name);
    }
  }
  if (request.account_uri().size() > kMaxAccountUriLength ||
      !IsPrintableAscii(request.account_uri())) {
    return Malformed("account_uri must be at most " + std::to_string(kMaxAccountUriLength) +
                     " printable ASCII characters");
  }
  out.account_uri = request.account_uri();
  if ((persist || out.dcv == checks::Method::kDnsAccount01) && out.account_uri.empty()) {
    return Malformed("account_uri is required with " + MethodLabel(request.method()));
  }
  if (!persist && (!request.persist_domain().empty() || !request.account_hash_prefix().empty() ||
                   request.account_key_thumbprints_size() > 0)) {
    return Malformed("persist_domain / account_hash_prefix / account_key_thumbprints are for "
                     "DNS_PERSIST_01 only");
  }
  if (!request.persist_domain().empty()) {
    auto name = NormalizeHostname(request.persist_domain());
    if (!name) return Malformed("persist_domain: " + name.error().detail);
    out.persist_domain = *name;
  }
  if (request.account_hash_prefix().size() > kMaxAccountUriLength ||
      !IsPrintableAscii(request.account_hash_prefix())) {
    return Malformed("account_hash_prefix must be printable ASCII");
  }
  out.account_hash_prefix = request.account_hash_prefix();
  if (request.account_key_thumbprints_size() > 4) {
    return Malformed("account_key_thumbprints: at most 4");
  }
  for (const std::string& t : request.account_key_thumbprints()) {
    if (t.empty() || t.size() > 128 || !IsPrintableAscii(t)) {
      return Malformed("account_key_thumbprints: each must be base64url, at most 128 characters");
    }
    out.account_key_thumbprints.push_back(t);
  }
  return out;
}

checks::CheckRequest DcvCheckRequest(const CheckedRequest& request, checks::Deadline deadline) {
  checks::CheckRequest out;
  out.method = request.dcv.value_or(checks::Method::kHttp01);
  out.identifier = request.identifier;
  out.token = request.token;
  out.key_authorization = request.key_authorization;
  out.key_authorization_sha256 = request.key_authorization_sha256;
  out.caa_issuer_domains = request.caa_issuer_domains;
  out.account_uri = request.account_uri;
  out.persist_domain = request.persist_domain;
  out.account_hash_prefix = request.account_hash_prefix;
  out.account_key_thumbprints = request.account_key_thumbprints;
  out.challenge_value = request.challenge_value;
  out.dns_name_prefix = request.dns_name_prefix;
  out.dns_record_type = request.dns_record_type;
  out.require_exact_match = request.require_exact_match;
  out.require_exact_case = request.require_exact_case;
  out.http_token_path = request.http_token_path;
  out.url_scheme = request.url_scheme;
  out.match_regex = request.match_regex;
  out.wildcard = request.wildcard;
  out.deadline = deadline;
  return out;
}

perspective::CheckPlan OwnCheckPlan(const CheckedRequest& request, const std::string& request_id,
                                    checks::Deadline deadline) {
  perspective::CheckPlan plan;
  plan.request_id = request_id;
  if (request.dcv) plan.dcv = DcvCheckRequest(request, deadline);
  if (request.caa) plan.caa = CaaCheckRequest(request, deadline);
  return plan;
}

checks::CheckRequest CaaCheckRequest(const CheckedRequest& request, checks::Deadline deadline) {
  checks::CheckRequest out;
  out.method = checks::Method::kCaa;
  out.identifier = request.identifier;
  out.caa_issuer_domains = request.caa_issuer_domains;
  out.account_uri = request.account_uri;
  out.caa_validation_method = MethodLabel(request.method);
  out.wildcard = request.wildcard;
  out.caa_smime = request.caa_smime;
  out.deadline = deadline;
  return out;
}

v1::CheckRequest RemoteCheckRequest(const CheckedRequest& request, const std::string& request_id) {
  v1::CheckRequest out;
  out.set_request_id(request_id);
  out.set_identifier(request.identifier);
  out.set_wildcard(request.wildcard);
  out.set_attempt(request.attempt);
  if (request.dcv) {
    v1::DcvParams* dcv = out.mutable_dcv();
    dcv->set_method(request.method);
    dcv->set_token(request.token);
    dcv->set_key_authorization(request.key_authorization);
    if (request.key_authorization_sha256) {
      dcv->set_key_authorization_sha256(request.key_authorization_sha256->data(),
                                        request.key_authorization_sha256->size());
    }
    if (request.dcv == checks::Method::kDnsPersist01 ||
        request.dcv == checks::Method::kDnsAccount01) {
      for (const std::string& domain : request.caa_issuer_domains) dcv->add_issuer_domains(domain);
      dcv->set_account_uri(request.account_uri);
      dcv->set_persist_domain(request.persist_domain);
      dcv->set_account_hash_prefix(request.account_hash_prefix);
      for (const std::string& t : request.account_key_thumbprints) {
        dcv->add_account_key_thumbprints(t);
      }
    }
    dcv->set_challenge_value(request.challenge_value);
    dcv->set_dns_name_prefix(request.dns_name_prefix);
    dcv->set_dns_record_type(request.dns_record_type);
    dcv->set_require_exact_match(request.require_exact_match);
    if (request.require_exact_case) dcv->set_require_exact_case(*request.require_exact_case);
    dcv->set_http_token_path(request.http_token_path);
    dcv->set_url_scheme(request.url_scheme);
    dcv->set_match_regex(request.match_regex);
  }
  if (request.caa) {
    v1::CaaParams* caa = out.mutable_caa();
    for (const std::string& domain : request.caa_issuer_domains) caa->add_issuer_domains(domain);
    caa->set_account_uri(request.account_uri);
    caa->set_validation_method(MethodLabel(request.method));
    caa->set_certificate_type(request.caa_smime ? v1::CERTIFICATE_TYPE_S_MIME
                                                : v1::CERTIFICATE_TYPE_TLS_SERVER);
  }
  return out;
}

}  // namespace mpic::va_primary
