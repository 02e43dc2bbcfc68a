// The Open MPIC response body built from what the primary decided (mpic.v1.ValidateResponse of
// the last attempt, plus the earlier attempts, reported but never counted: BR §3.2.2.9).
//
//   nlohmann::json body = mpic::openmpic::EncodeResponse(request, orchestration, result);
//   Reply(200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
#pragma once

#include <nlohmann/json.hpp>

#include "openmpic/backend.h"
#include "openmpic/orchestration.h"
#include "openmpic/request.h"

namespace mpic::openmpic {

// One perspective as Open MPIC reports it: {perspective_code, check_response{...}}.
[[nodiscard]] nlohmann::json EncodePerspective(const v1::PerspectiveResult& result,
                                               CheckType check_type,
                                               std::string_view validation_method,
                                               int64_t timestamp_ns);

// The full 200 body. `trace_identifier` is the one the request carried (null when absent).
[[nodiscard]] nlohmann::json EncodeResponse(const DecodedRequest& request,
                                            const Orchestration& orchestration,
                                            const BackendResult& result);

// DNS rcode mnemonic -> number (RFC 1035 §4.1.1, RFC 6895); nullopt for "" or unknown.
[[nodiscard]] std::optional<int> RcodeNumber(std::string_view rcode);

}  // namespace mpic::openmpic
