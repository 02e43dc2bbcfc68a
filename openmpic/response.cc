#include "openmpic/response.h"

#include <algorithm>
#include <array>
#include <string>

namespace mpic::openmpic {
namespace {

using json = nlohmann::json;

// Open MPIC: "the first 100 bytes of the page returned at the final URL", base64 encoded.
constexpr size_t kResponsePageBytes = 100;

std::string Base64(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = static_cast<uint8_t>(data[i]) << 16 | static_cast<uint8_t>(data[i + 1]) << 8 |
                 static_cast<uint8_t>(data[i + 2]);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  if (i < data.size()) {
    uint32_t v = static_cast<uint8_t>(data[i]) << 16;
    if (i + 1 < data.size()) v |= static_cast<uint8_t>(data[i + 1]) << 8;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += i + 1 < data.size() ? kAlphabet[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::string WithoutDot(std::string name) {
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

json StringsOrEmpty(const google::protobuf::RepeatedPtrField<std::string>& values) {
  json out = json::array();
  for (const std::string& value : values) out.push_back(value);
  return out;
}

json Nullable(const std::string& text) { return text.empty() ? json(nullptr) : json(text); }

json HttpDetails(const v1::Evidence& evidence, bool have_outcome, std::string_view method) {
  json details = {{"validation_method", std::string(method)}};
  json history = json::array();
  const int hops = evidence.http_hops_size();
  for (int i = 0; i + 1 < hops; ++i) {
    const v1::HttpHop& hop = evidence.http_hops(i);
    history.push_back({{"status_code", hop.status()}, {"url", hop.url()}});
  }
  details["response_history"] = have_outcome ? history : json(nullptr);
  if (hops > 0) {
    const v1::HttpHop& last = evidence.http_hops(hops - 1);
    details["response_url"] = Nullable(last.url());
    details["response_status_code"] = last.status() == 0 ? json(nullptr) : json(last.status());
  } else {
    details["response_url"] = nullptr;
    details["response_status_code"] = nullptr;
  }
  const std::string& body = evidence.http_body();
  details["response_page"] =
      body.empty() ? json(nullptr) : json(Base64(std::string_view(body).substr(
                                          0, std::min(body.size(), kResponsePageBytes))));
  details["resolved_ip"] = Nullable(evidence.address_used());
  return details;
}

// `acme`: acme-dns-01 and dns-persistent, whose challenge is the last TXT lookup and whose
// records are txt_values. The BR methods read TXT, CNAME, CAA, A/AAAA or PTR: their challenge
// is the last lookup made (for the CAA contact methods, the last step of the tree climb), and
// the records seen are that lookup's (RFC 1035 presentation format).
json DnsDetails(const v1::Evidence& evidence, bool have_outcome, std::string_view method,
                bool acme) {
  json details = {{"validation_method", std::string(method)}};
  const v1::DnsLookup* txt = nullptr;
  for (const v1::DnsLookup& lookup : evidence.lookups()) {
    if (!acme || lookup.type() == "TXT") txt = &lookup;  // the last one is the challenge's
  }
  if (!have_outcome) {
    details["records_seen"] = nullptr;
  } else if (acme || evidence.txt_values_size() > 0 || txt == nullptr) {
    details["records_seen"] = StringsOrEmpty(evidence.txt_values());
  } else {
    details["records_seen"] = StringsOrEmpty(txt->records());
  }
  if (txt != nullptr) {
    auto rcode = RcodeNumber(txt->rcode());
    details["response_code"] = rcode ? json(*rcode) : json(nullptr);
    details["ad_flag"] = txt->rcode().empty() ? json(nullptr) : json(txt->dnssec() == "secure");
    details["found_at"] = Nullable(WithoutDot(txt->name()));
    json chain = json::array();
    for (const std::string& name : txt->cname_chain()) chain.push_back(WithoutDot(name));
    details["cname_chain"] = std::move(chain);
  } else {
    details["response_code"] = nullptr;
    details["ad_flag"] = nullptr;
    details["found_at"] = nullptr;
    details["cname_chain"] = nullptr;
  }
  return details;
}

json TlsAlpnDetails(const v1::Evidence& evidence) {
  // The challenge certificate carries exactly one SAN, the identifier (RFC 8737 §3); mpic's
  // evidence records SANs, so that name is reported as the certificate's name.
  return {{"validation_method", "acme-tls-alpn-01"},
          {"common_name", evidence.cert_sans().empty() ? json(nullptr)
                                                       : json(evidence.cert_sans(0))}};
}

json CaaDetails(const v1::Evidence& evidence, bool have_outcome) {
  if (!have_outcome) {
    return {{"caa_record_present", nullptr}, {"found_at", nullptr}, {"records_seen", nullptr}};
  }
  const bool present = !evidence.caa_name().empty() && evidence.caa_records_size() > 0;
  return {{"caa_record_present", present},
          {"found_at", present ? json(WithoutDot(evidence.caa_name())) : json(nullptr)},
          {"records_seen", StringsOrEmpty(evidence.caa_records())}};
}

std::string_view StatusName(v1::PerspectiveStatus status) {
  switch (status) {
    case v1::ANSWERED: return "answered";
    case v1::RPC_ERROR: return "rpc-error";
    case v1::TIMED_OUT: return "timed-out";
    case v1::IDENTITY_MISMATCH: return "identity-mismatch";
    case v1::CANCELLED: return "cancelled";
    case v1::NOT_STARTED: return "not-started";
    default: return "unknown";
  }
}

std::string_view DecisionName(v1::Decision decision) {
  switch (decision) {
    case v1::CORROBORATED: return "corroborated";
    case v1::NOT_CORROBORATED: return "not_corroborated";
    default: return "unspecified";
  }
}

json Perspectives(const v1::ValidateResponse& response, CheckType check_type,
                  std::string_view method, int64_t timestamp_ns) {
  json out = json::array();
  if (response.has_primary()) {
    out.push_back(EncodePerspective(response.primary(), check_type, method, timestamp_ns));
  }
  for (const v1::PerspectiveResult& remote : response.remotes()) {
    out.push_back(EncodePerspective(remote, check_type, method, timestamp_ns));
  }
  return out;
}

// Open MPIC's mpic_completed: no more perspectives failed to complete than the quorum can
// spare, and (mpic) the primary's own check completed.
bool MpicCompleted(const v1::ValidateResponse& response, const Orchestration& orchestration,
                   CheckType check_type) {
  auto completed = [&](const v1::PerspectiveResult& result) {
    const v1::CheckOutcome& outcome = check_type == CheckType::kCaa ? result.caa() : result.dcv();
    return result.status() == v1::ANSWERED && outcome.method() != v1::METHOD_UNSPECIFIED;
  };
  if (!response.has_primary() || !completed(response.primary())) return false;
  int not_completed = 0;
  for (const v1::PerspectiveResult& remote : response.remotes()) {
    if (!completed(remote)) ++not_completed;
  }
  return not_completed <= orchestration.perspective_count - orchestration.quorum_count;
}

json RequestOrchestration(const RequestedOrchestration& requested) {
  if (!requested.present) return nullptr;
  auto value = [](const std::optional<int64_t>& v) { return v ? json(*v) : json(nullptr); };
  return {{"perspective_count", value(requested.perspective_count)},
          {"quorum_count", value(requested.quorum_count)},
          {"max_attempts", value(requested.max_attempts)},
          {"cohort_for_single_attempt", value(requested.cohort_for_single_attempt)}};
}

}  // namespace

std::optional<int> RcodeNumber(std::string_view rcode) {
  static constexpr std::array<std::string_view, 11> kNames = {
      "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
      "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"};
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == rcode) return static_cast<int>(i);
  }
  return std::nullopt;
}

json EncodePerspective(const v1::PerspectiveResult& result, CheckType check_type,
                       std::string_view validation_method, int64_t timestamp_ns) {
  const v1::CheckOutcome& outcome = check_type == CheckType::kCaa ? result.caa() : result.dcv();
  const bool answered = result.status() == v1::ANSWERED;
  const bool have_outcome = answered && outcome.method() != v1::METHOD_UNSPECIFIED;
  const bool passed = have_outcome && outcome.valid();

  json errors = nullptr;
  if (!answered) {
    errors = json::array({{{"error_type", "perspective:" + std::string(StatusName(
                                                                result.status()))},
                           {"error_message", result.error().empty()
                                                 ? std::string(StatusName(result.status()))
                                                 : result.error()}}});
  } else if (!have_outcome) {
    errors = json::array({{{"error_type", "perspective:no-result"},
                           {"error_message", "the perspective returned no result for this "
                                             "check"}}});
  } else if (!outcome.valid()) {
    const std::string type = check_type == CheckType::kCaa
                                 ? "validation:caa"
                                 : "validation:" + std::string(validation_method);
    std::string message = outcome.problem().type();
    if (!outcome.problem().detail().empty()) {
      message += (message.empty() ? "" : ": ") + outcome.problem().detail();
    }
    errors = json::array({{{"error_type", type}, {"error_message", message}}});
  }

  json details;
  if (check_type == CheckType::kCaa) {
    details = CaaDetails(outcome.evidence(), have_outcome);
  } else if (validation_method == "acme-http-01" || validation_method == "website-change") {
    details = HttpDetails(outcome.evidence(), have_outcome, validation_method);
  } else if (validation_method == "acme-dns-01" || validation_method == "dns-persistent") {
    details = DnsDetails(outcome.evidence(), have_outcome, validation_method, /*acme=*/true);
  } else if (validation_method == "acme-tls-alpn-01") {
    details = TlsAlpnDetails(outcome.evidence());
  } else {
    // dns-change, ip-address, contact-*, reverse-address-lookup: Open MPIC's DNS details.
    // (The spec's details have no field for the matched value; mpic's audit record and
    // `mpic validate` show evidence.matched_value.)
    details = DnsDetails(outcome.evidence(), have_outcome, validation_method, /*acme=*/false);
  }

  json check = {{"check_type", std::string(CheckTypeName(check_type))},
                {"check_passed", passed},
                {"check_completed", have_outcome},
                {"timestamp_ns", timestamp_ns},
                {"errors", std::move(errors)},
                {"details", std::move(details)}};
  return {{"perspective_code", result.perspective().name()}, {"check_response", std::move(check)}};
}

json EncodeResponse(const DecodedRequest& request, const Orchestration& orchestration,
                    const BackendResult& result) {
  const v1::ValidateResponse& final = result.final.response;
  const std::string_view method = request.validation_method;
  json body;
  body["mpic_completed"] = MpicCompleted(final, orchestration, request.check_type);
  body["request_orchestration_parameters"] = RequestOrchestration(request.orchestration);
  body["actual_orchestration_parameters"] = {
      {"perspective_count", final.remotes_size()},
      {"quorum_count", orchestration.quorum_count},
      {"attempt_count", static_cast<int64_t>(result.earlier.size()) + 1}};
  body["check_type"] = std::string(CheckTypeName(request.check_type));
  body["domain_or_ip_target"] = request.domain_or_ip_target;
  // Fail closed: only an explicit CORROBORATED is valid.
  body["is_valid"] = final.decision() == v1::CORROBORATED;
  body["trace_identifier"] =
      request.trace_identifier ? json(*request.trace_identifier) : json(nullptr);
  body["perspectives"] =
      Perspectives(final, request.check_type, method, result.final.finished_unix_ns);
  if (request.check_type == CheckType::kCaa) {
    body["caa_check_parameters"] = request.echo_parameters;
  } else {
    body["dcv_check_parameters"] = request.echo_parameters;
  }
  if (result.earlier.empty()) {
    body["previous_attempt_results"] = nullptr;
  } else {
    json earlier = json::array();
    for (const AttemptResult& attempt : result.earlier) {
      earlier.push_back(
          Perspectives(attempt.response, request.check_type, method, attempt.finished_unix_ns));
    }
    body["previous_attempt_results"] = std::move(earlier);
  }
  // mpic's own record of the decision (ignored by Open MPIC clients): what the audit log holds.
  json problem = nullptr;
  if (final.has_problem() && !final.problem().type().empty()) {
    problem = {{"type", final.problem().type()}, {"detail", final.problem().detail()}};
  }
  body["mpic"] = {{"request_id", final.request_id()},
                  {"decision", std::string(DecisionName(final.decision()))},
                  {"quorum", final.quorum()},
                  {"policy", final.policy()},
                  {"phase", final.phase()},
                  {"enforced", final.enforced()},
                  {"monitoring", orchestration.monitoring},
                  {"problem", std::move(problem)}};
  return body;
}

}  // namespace mpic::openmpic
