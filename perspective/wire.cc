#include "perspective/wire.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <utility>

namespace mpic::perspective {
namespace {

struct RirNames {
  v1::Rir rir;
  std::string_view name;     // config and labels
  std::string_view display;  // the registry's own name, for people
};
constexpr std::array<RirNames, 5> kRirNames{{
    {v1::ARIN, "arin", "ARIN"},
    {v1::RIPE_NCC, "ripe", "RIPE NCC"},
    {v1::APNIC, "apnic", "APNIC"},
    {v1::LACNIC, "lacnic", "LACNIC"},
    {v1::AFRINIC, "afrinic", "AFRINIC"},
}};

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

template <typename Repeated>
std::vector<std::string> ToVector(const Repeated& values) {
  return std::vector<std::string>(values.begin(), values.end());
}

template <typename Repeated>
void Append(const std::vector<std::string>& values, Repeated* out) {
  for (const auto& v : values) out->Add(std::string(v));
}

}  // namespace

namespace {

// checks::Method <-> v1::Method, one row per method.
struct MethodPair {
  checks::Method method;
  v1::Method proto;
};
constexpr MethodPair kMethodPairs[] = {
    {checks::Method::kHttp01, v1::HTTP_01},
    {checks::Method::kDns01, v1::DNS_01},
    {checks::Method::kTlsAlpn01, v1::TLS_ALPN_01},
    {checks::Method::kCaa, v1::CAA},
    {checks::Method::kDnsPersist01, v1::DNS_PERSIST_01},
    {checks::Method::kDnsAccount01, v1::DNS_ACCOUNT_01},
    {checks::Method::kDnsChange, v1::DNS_CHANGE},
    {checks::Method::kWebsiteChange, v1::WEBSITE_CHANGE},
    {checks::Method::kIpAddress, v1::IP_ADDRESS},
    {checks::Method::kContactEmailTxt, v1::CONTACT_EMAIL_TXT},
    {checks::Method::kContactEmailCaa, v1::CONTACT_EMAIL_CAA},
    {checks::Method::kContactPhoneTxt, v1::CONTACT_PHONE_TXT},
    {checks::Method::kContactPhoneCaa, v1::CONTACT_PHONE_CAA},
    {checks::Method::kReverseAddressLookup, v1::REVERSE_ADDRESS_LOOKUP},
};

// "HTTP_01, DNS_01, ..." (without CAA when `dcv_only`).
std::string ProtoMethodList(bool dcv_only) {
  std::string out;
  for (const auto& p : kMethodPairs) {
    if (dcv_only && p.proto == v1::CAA) continue;
    out += (out.empty() ? "" : ", ") + v1::Method_Name(p.proto);
  }
  return out;
}

}  // namespace

v1::Method MethodToProto(checks::Method method) {
  for (const auto& p : kMethodPairs) {
    if (p.method == method) return p.proto;
  }
  return v1::METHOD_UNSPECIFIED;
}

Result<checks::Method> MethodFromProto(v1::Method method) {
  for (const auto& p : kMethodPairs) {
    if (p.proto == method) return p.method;
  }
  return Fail(ProblemType::kMalformed, "method " + std::to_string(static_cast<int>(method)) +
                                           " is not one of " + ProtoMethodList(false));
}

Result<checks::Method> DcvMethodFromProto(v1::Method method) {
  if (method != v1::CAA) {
    if (auto m = MethodFromProto(method)) return m;
  }
  std::string name = v1::Method_IsValid(method) ? v1::Method_Name(method)
                                                : std::to_string(static_cast<int>(method));
  return Fail(ProblemType::kMalformed,
              "dcv.method " + name + " is not a DCV method (" + ProtoMethodList(true) + ")");
}

std::string_view RirName(v1::Rir rir) {
  for (const RirNames& names : kRirNames) {
    if (names.rir == rir) return names.name;
  }
  return "";
}

std::string_view RirDisplayName(v1::Rir rir) {
  for (const RirNames& names : kRirNames) {
    if (names.rir == rir) return names.display;
  }
  return "";
}

Result<v1::Rir> ParseRir(std::string_view text) {
  std::string lower = Lower(text);
  if (lower == "ripe ncc" || lower == "ripe-ncc" || lower == "ripe_ncc" || lower == "ripencc") {
    return v1::RIPE_NCC;
  }
  for (const RirNames& names : kRirNames) {
    if (names.name == lower) return names.rir;
  }
  return Fail(ProblemType::kMalformed, "unknown RIR \"" + std::string(text) +
                                           "\" (want one of arin, ripe, apnic, lacnic, afrinic)");
}

v1::Problem ProblemToProto(const Error& error) {
  v1::Problem p;
  p.set_type(ProblemTypeUrn(error.type));
  p.set_detail(error.detail);
  return p;
}

void EvidenceToProto(const checks::Evidence& ev, v1::Evidence* out) {
  out->Clear();
  for (const auto& l : ev.lookups) {
    v1::DnsLookup* x = out->add_lookups();
    x->set_name(l.name);
    x->set_type(l.type);
    x->set_rcode(l.rcode);
    x->set_dnssec(l.dnssec);
    x->set_why_bogus(l.why_bogus);
    Append(l.cname_chain, x->mutable_cname_chain());
    Append(l.records, x->mutable_records());
    x->set_error(l.error);
    x->set_elapsed_ms(l.elapsed_ms);
  }
  Append(ev.addresses_resolved, out->mutable_addresses_resolved());
  out->set_address_used(ev.address_used);
  for (const auto& h : ev.http_hops) {
    v1::HttpHop* x = out->add_http_hops();
    x->set_url(h.url);
    x->set_address(h.address);
    x->set_status(h.status);
    x->set_location(h.location);
    x->set_error(h.error);
  }
  out->set_http_body(ev.http_body);
  Append(ev.txt_values, out->mutable_txt_values());
  out->set_caa_name(ev.caa_name);
  Append(ev.caa_records, out->mutable_caa_records());
  Append(ev.cert_sans, out->mutable_cert_sans());
  out->set_cert_sha256(ev.cert_sha256);
  out->set_acme_identifier_hex(ev.acme_identifier_hex);
  out->set_alpn(ev.alpn);
  for (const auto& r : ev.persist_records) {
    auto* x = out->add_persist_records();
    x->set_value(r.value);
    x->set_verdict(r.verdict);
    x->set_reason(r.reason);
  }
  out->set_persist_accounturi(ev.persist_accounturi);
  out->set_persist_until(ev.persist_until.value_or(0));
  out->set_matched_value(ev.matched_value);
}

v1::CheckOutcome OutcomeToProto(const checks::CheckResult& result) {
  v1::CheckOutcome o;
  o.set_method(MethodToProto(result.method));
  o.set_identifier(result.identifier);
  // Fail closed: a result with a problem is never sent as valid.
  o.set_valid(result.valid && !result.problem);
  if (result.problem) {
    *o.mutable_problem() = ProblemToProto(*result.problem);
  } else if (!result.valid) {
    *o.mutable_problem() =
        ProblemToProto(Error{ProblemType::kServerInternal, "check ended without a verdict"});
  }
  EvidenceToProto(result.evidence, o.mutable_evidence());
  o.set_duration_ms(static_cast<double>(result.duration.count()) / 1000.0);
  return o;
}

Result<CheckPlan> CheckPlanFromProto(const v1::CheckRequest& request, checks::Deadline deadline) {
  if (request.identifier().empty()) {
    return Fail(ProblemType::kMalformed, "identifier is empty");
  }
  if (!request.has_dcv() && !request.has_caa()) {
    return Fail(ProblemType::kMalformed, "request names no check (neither dcv nor caa)");
  }
  CheckPlan plan;
  plan.request_id = request.request_id();
  checks::CheckRequest base;
  base.identifier = request.identifier();
  base.wildcard = request.wildcard();
  base.deadline = deadline;
  std::optional<checks::Method> dcv_method;
  if (request.has_dcv()) {
    auto method = DcvMethodFromProto(request.dcv().method());
    if (!method) return Fail(method.error());
    dcv_method = *method;
    checks::CheckRequest dcv = base;
    dcv.method = *method;
    dcv.token = request.dcv().token();
    dcv.key_authorization = request.dcv().key_authorization();
    if (const std::string& digest = request.dcv().key_authorization_sha256(); !digest.empty()) {
      if (digest.size() != 32 || !dcv.key_authorization.empty() ||
          (*method != checks::Method::kDns01 && *method != checks::Method::kTlsAlpn01)) {
        return Fail(ProblemType::kMalformed,
                    "key_authorization_sha256 must be 32 octets, for DNS_01 or TLS_ALPN_01, "
                    "without key_authorization");
      }
      std::array<uint8_t, 32> bytes{};
      std::memcpy(bytes.data(), digest.data(), bytes.size());
      dcv.key_authorization_sha256 = bytes;
    }
    dcv.caa_issuer_domains = ToVector(request.dcv().issuer_domains());
    dcv.account_uri = request.dcv().account_uri();
    dcv.persist_domain = request.dcv().persist_domain();
    dcv.account_hash_prefix = request.dcv().account_hash_prefix();
    dcv.account_key_thumbprints = ToVector(request.dcv().account_key_thumbprints());
    const auto& d = request.dcv();
    dcv.challenge_value = d.challenge_value();
    dcv.dns_name_prefix = d.dns_name_prefix();
    dcv.dns_record_type = d.dns_record_type();
    dcv.require_exact_match = d.require_exact_match();
    if (d.has_require_exact_case()) dcv.require_exact_case = d.require_exact_case();
    dcv.http_token_path = d.http_token_path();
    dcv.url_scheme = d.url_scheme();
    dcv.match_regex = d.match_regex();
    dcv.caa_validation_method = checks::CaaValidationMethodName(*method);
    plan.dcv = std::move(dcv);
  }
  if (request.has_caa()) {
    checks::CheckRequest caa = base;
    caa.method = checks::Method::kCaa;
    caa.caa_issuer_domains = ToVector(request.caa().issuer_domains());
    caa.account_uri = request.caa().account_uri();
    caa.caa_validation_method = request.caa().validation_method();
    switch (request.caa().certificate_type()) {
      case v1::CERTIFICATE_TYPE_TLS_SERVER:
        break;
      case v1::CERTIFICATE_TYPE_S_MIME:
        caa.caa_smime = true;
        break;
      default:  // a type this perspective does not know: refuse rather than guess
        return Fail(ProblemType::kMalformed, "caa.certificate_type " +
                                                 std::to_string(static_cast<int>(request.caa().certificate_type())) +
                                                 " is unknown");
    }
    if (caa.caa_validation_method.empty() && dcv_method) {
      caa.caa_validation_method = checks::CaaValidationMethodName(*dcv_method);
    }
    plan.caa = std::move(caa);
  }
  return plan;
}

bool OutcomeValid(const v1::CheckOutcome& outcome) {
  return outcome.valid() && outcome.problem().type().empty();
}

quorum::Outcome ClassifyOutcomes(const std::vector<const v1::CheckOutcome*>& outcomes) {
  if (outcomes.empty()) return quorum::Outcome::kError;  // nothing checked: fail closed
  const std::string internal = ProblemTypeUrn(ProblemType::kServerInternal);
  bool all_valid = true;
  for (const v1::CheckOutcome* outcome : outcomes) {
    if (outcome == nullptr || outcome->problem().type() == internal) return quorum::Outcome::kError;
    all_valid = all_valid && OutcomeValid(*outcome);
  }
  return all_valid ? quorum::Outcome::kCorroborated : quorum::Outcome::kInvalid;
}

std::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    default:
      break;
  }
  return "UNKNOWN";
}

}  // namespace mpic::perspective
