// The Open MPIC request (`POST /mpic` body) decoded, validated and mapped to mpic.v1. Every
// rule of the Open MPIC validator is applied here, plus mpic's stricter ones (unknown fields
// and wrong JSON types refused, ACME identifier rules of RFC 8555/8738). Bad input never
// reaches the primary: it comes back as the list of issues a 400 body carries.
//
//   mpic::openmpic::DecodeOptions options;
//   options.default_caa_domains = {"ca.example"};
//   auto request = mpic::openmpic::DecodeRequest(body, options);
//   if (!request) return Reply400(mpic::openmpic::ValidationErrorBody(request.error()));
//   backend.Validate(request->validate, ...);  // request->validate is a v1::ValidateRequest
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "mpic/v1/primary.pb.h"

namespace mpic::openmpic {

// One entry of a 400 body's `validation_issues` (the reference implementation's shape).
struct ValidationIssue {
  std::string issue_type;  // kebab-case key, e.g. "invalid-quorum-count"
  std::string message;     // a sentence a person can act on

  friend bool operator==(const ValidationIssue&, const ValidationIssue&) = default;
};
using ValidationIssues = std::vector<ValidationIssue>;

// `{"error":"request-validation-failed","validation_issues":[{"issue_type","message"},...]}`.
[[nodiscard]] nlohmann::json ValidationErrorBody(const ValidationIssues& issues);

enum class CheckType { kDcv, kCaa };
[[nodiscard]] std::string_view CheckTypeName(CheckType type);  // "dcv" | "caa"

// The request's `orchestration_parameters`, as given (absent members stay nullopt).
struct RequestedOrchestration {
  bool present = false;  // the object was in the request (not absent or null)
  std::optional<int64_t> perspective_count;
  std::optional<int64_t> quorum_count;
  std::optional<int64_t> max_attempts;
  std::optional<int64_t> cohort_for_single_attempt;
};

// What the operator's configuration lets a request ask for (see config fields in
// docs/openmpic.md). Defaults fail closed.
struct DecodeOptions {
  // Issuer domains for CAA when a request gives no `caa_domains` (Open MPIC: "the default
  // configured CAA domain name(s)"). Empty: such a request is refused.
  std::vector<std::string> default_caa_domains;
  // `key_authorization_hash` alone (acme-dns-01, acme-tls-alpn-01, as Open MPIC sends it),
  // mapped to ValidateRequest.key_authorization_sha256. A backend that cannot check a digest
  // leaves this false: such a request is then refused and the client told to send
  // `key_authorization`. va-primary sets it.
  bool accept_key_authorization_hash = false;
  // CAA for S/MIME (`issuemail`, RFC 9495), mapped to ValidateRequest.certificate_type; refused
  // unless set (va-primary sets it).
  bool accept_smime = false;
};

inline constexpr std::size_t kMaxTraceIdentifierLength = 256;
inline constexpr std::size_t kMaxCaaDomains = 16;
inline constexpr std::size_t kMaxFieldLength = 1024;  // tokens, key authorizations, domains
inline constexpr int kMaxJsonDepth = 8;               // the deepest valid request has 4

// A request that passed every rule.
struct DecodedRequest {
  CheckType check_type = CheckType::kDcv;
  std::string domain_or_ip_target;  // exactly as sent (echoed in the response)
  std::string identifier;           // lower-case, no "*.", IPv6 in RFC 5952 form
  bool wildcard = false;            // the target began with "*."
  bool is_ip = false;
  std::optional<std::string> trace_identifier;
  RequestedOrchestration orchestration;
  std::string validation_method;  // DCV: e.g. "acme-http-01"
  std::string certificate_type;   // CAA: "tls-server" | "s-mime"
  std::vector<std::string> caa_domains;  // CAA: effective (request's or the default)
  // acme-dns-01 / acme-tls-alpn-01 given as `key_authorization_hash` only: the SHA-256 digest
  // of the key authorization (also in validate.key_authorization_sha256).
  std::optional<std::array<uint8_t, 32>> key_authorization_sha256;
  // The request's check parameters as the response echoes them (defaults filled in).
  nlohmann::json echo_parameters;
  // What the primary is asked (mpic.v1.Primary/Validate).
  v1::ValidateRequest validate;
};

// Decodes and checks a `POST /mpic` body. All issues found are returned, not just the first.
[[nodiscard]] tl::expected<DecodedRequest, ValidationIssues> DecodeRequest(
    std::string_view body, const DecodeOptions& options);

}  // namespace mpic::openmpic
