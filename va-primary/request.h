// Checks a CA's ValidateRequest before any work starts: garbage is refused with
// INVALID_ARGUMENT (a kMalformed Error here), never sent to a perspective. Also builds the
// per-check requests the primary runs itself and sends to the remotes, so both sides check
// exactly the same thing.
//
//   auto request = mpic::va_primary::CheckValidateRequest(proto_request);
//   if (!request) return reactor->Finish({grpc::StatusCode::INVALID_ARGUMENT,
//                                         request.error().detail});
//   mpic::v1::CheckRequest remote = mpic::va_primary::RemoteCheckRequest(*request, id);
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "checks/check.h"
#include "common/error.h"
#include "mpic/v1/perspective.pb.h"
#include "mpic/v1/primary.pb.h"
#include "perspective/wire.h"

namespace mpic::va_primary {

inline constexpr std::size_t kMaxIssuerDomains = 16;
inline constexpr std::size_t kMaxAccountUriLength = 1024;

// A request that passed CheckValidateRequest.
struct CheckedRequest {
  std::string identifier;                      // lower-case, no trailing dot (or an IP literal)
  bool is_ip = false;                          // RFC 8738 identifier
  std::optional<checks::Method> dcv;           // absent with skip_dcv
  bool caa = false;                            // run the CAA check
  v1::Method method = v1::METHOD_UNSPECIFIED;  // as requested (may be unset when CAA only)
  std::string token;
  std::string key_authorization;
  // DNS_01 / TLS_ALPN_01 by digest only (ValidateRequest.key_authorization_sha256).
  std::optional<std::array<uint8_t, 32>> key_authorization_sha256;
  bool caa_smime = false;  // CAA for an S/MIME certificate (issuemail, RFC 9495)
  std::vector<std::string> caa_issuer_domains;
  std::string account_uri;
  // dns-persist-01 (draft-ietf-acme-dns-persist, BR §3.2.2.4.22).
  std::string persist_domain;
  std::string account_hash_prefix;
  std::vector<std::string> account_key_thumbprints;
  // The BR methods beyond ACME (DNS_CHANGE ... REVERSE_ADDRESS_LOOKUP): see checks/check.h.
  std::string challenge_value;
  std::string dns_name_prefix;
  std::string dns_record_type;
  bool require_exact_match = false;
  std::optional<bool> require_exact_case;
  std::string http_token_path;
  std::string url_scheme;
  std::string match_regex;
  bool wildcard = false;
  uint32_t attempt = 0;
};

// kMalformed with a detail naming the offending field.
[[nodiscard]] Result<CheckedRequest> CheckValidateRequest(const v1::ValidateRequest& request);

// "http-01", "dns-01", "tls-alpn-01", "" (unspecified): for CAA validationmethods= and logs;
// the BR methods beyond ACME get their RFC 8657 §4 "ca-" names ("ca-dns-change").
[[nodiscard]] std::string MethodLabel(v1::Method method);

// The primary's own checks: DCV (when requested) and CAA (when requested).
[[nodiscard]] checks::CheckRequest DcvCheckRequest(const CheckedRequest& request,
                                                   checks::Deadline deadline);
[[nodiscard]] checks::CheckRequest CaaCheckRequest(const CheckedRequest& request,
                                                   checks::Deadline deadline);
// Both, as the plan the perspective engine runs for the primary itself.
[[nodiscard]] perspective::CheckPlan OwnCheckPlan(const CheckedRequest& request,
                                                  const std::string& request_id,
                                                  checks::Deadline deadline);

// What each remote is asked.
[[nodiscard]] v1::CheckRequest RemoteCheckRequest(const CheckedRequest& request,
                                                  const std::string& request_id);

}  // namespace mpic::va_primary
