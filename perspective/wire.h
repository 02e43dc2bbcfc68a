// The wire layer both servers share: conversions between the API (mpic.v1 messages) and the
// in-process types of checks/ (methods, RIRs, problems, evidence, outcomes), a v1 CheckRequest
// into the check plan it asks for, and the one rule that turns a perspective's outcomes into a
// quorum outcome. The wire carries problems as full URNs (RFC 8555 §6.7); checks carry
// mpic::Error.
//
//   auto plan = mpic::perspective::CheckPlanFromProto(request, deadline);  // kMalformed if bad
//   if (!plan) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, plan.error().detail);
//   ...
//   *response.mutable_dcv() = mpic::perspective::OutcomeToProto(dcv_result);
//   quorum::Outcome o = mpic::perspective::ClassifyOutcomes({&response.dcv()});
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <grpcpp/support/status.h>

#include "checks/check.h"
#include "common/error.h"
#include "quorum/quorum.h"
#include "mpic/v1/common.pb.h"
#include "mpic/v1/perspective.pb.h"

namespace mpic::perspective {

namespace v1 = ::mpic::v1;

// Methods. METHOD_UNSPECIFIED and unknown enum values are kMalformed.
// "DEADLINE_EXCEEDED", ... for metric labels and logs; "UNKNOWN" for codes gRPC does not define.
[[nodiscard]] std::string_view GrpcCodeName(grpc::StatusCode code);

[[nodiscard]] v1::Method MethodToProto(checks::Method method);
[[nodiscard]] Result<checks::Method> MethodFromProto(v1::Method method);
// Only HTTP_01, DNS_01 and TLS_ALPN_01 are DCV methods (CAA is a separate check).
[[nodiscard]] Result<checks::Method> DcvMethodFromProto(v1::Method method);

// RIRs, spelled as quorum::RirName spells them: "arin", "ripe", "apnic", "lacnic", "afrinic".
// RirName(RIR_UNSPECIFIED) is "". ParseRir is case-insensitive and also accepts the proto
// enum names ("RIPE_NCC") and "ripe ncc" / "ripe-ncc"; kMalformed for anything else.
[[nodiscard]] std::string_view RirName(v1::Rir rir);
[[nodiscard]] Result<v1::Rir> ParseRir(std::string_view text);
// The registry's own name for people: "ARIN", "RIPE NCC", "APNIC", "LACNIC", "AFRINIC"
// ("" for RIR_UNSPECIFIED).
[[nodiscard]] std::string_view RirDisplayName(v1::Rir rir);

// Problems: type as the full URN ("urn:ietf:params:acme:error:dns").
[[nodiscard]] v1::Problem ProblemToProto(const Error& error);

// Evidence: every field, loss-free.
void EvidenceToProto(const checks::Evidence& evidence, v1::Evidence* out);

// Outcomes. Fails closed: a result marked valid that carries a problem, or invalid without one,
// becomes invalid with a serverInternal problem.
[[nodiscard]] v1::CheckOutcome OutcomeToProto(const checks::CheckResult& result);

// True only for an outcome marked valid that carries no problem (fail closed on anything else).
[[nodiscard]] bool OutcomeValid(const v1::CheckOutcome& outcome);

// How one perspective's answered outcomes count in the quorum, the same for the primary's own
// checks and a remote's reply: corroborated when every requested outcome is valid; an error
// when any carries a serverInternal problem (the perspective failed, it did not see the
// applicant fail); invalid otherwise. A null entry (a requested outcome that is missing) is an
// error.
[[nodiscard]] quorum::Outcome ClassifyOutcomes(const std::vector<const v1::CheckOutcome*>& outcomes);

// The checks one v1::CheckRequest asks for.
struct CheckPlan {
  std::string request_id;
  std::optional<checks::CheckRequest> dcv;
  std::optional<checks::CheckRequest> caa;
};

// Validates and converts: the identifier must be present, at least one of dcv/caa must be,
// and the DCV method must be HTTP_01, DNS_01 or TLS_ALPN_01; errors are kMalformed with a
// detail fit for an INVALID_ARGUMENT status. Both checks get `deadline`. An empty
// caa.validation_method defaults to the DCV method's name when a DCV check is present
// (RFC 8657 §4 validationmethods). Token/key-authorization syntax is the checks' business
// (a bad one is a failed check, not a malformed RPC).
[[nodiscard]] Result<CheckPlan> CheckPlanFromProto(const v1::CheckRequest& request,
                                                   checks::Deadline deadline);

}  // namespace mpic::perspective
