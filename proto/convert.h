// Conversions between the wire API (mpic.v1 messages) and the in-process types of checks/:
// methods, RIRs, problems, evidence, outcomes, and a v1 CheckRequest into the checks it asks
// for. The wire carries problems as full URNs (RFC 8555 §6.7); checks carry mpic::Error.
//
//   auto plan = mpic::proto::CheckPlanFromProto(request, deadline);  // kMalformed if bad
//   if (!plan) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, plan.error().detail);
//   if (plan->dcv) checks::RunCheck(executor, deps, *plan->dcv, on_dcv);
//   ...
//   *response.mutable_dcv() = mpic::proto::OutcomeToProto(dcv_result);
//   auto back = mpic::proto::OutcomeFromProto(response.dcv());  // what the primary does
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <grpcpp/support/status.h>

#include "checks/check.h"
#include "common/error.h"
#include "mpic/v1/common.pb.h"
#include "mpic/v1/perspective.pb.h"

namespace mpic::proto {

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
// kMalformed when the type is neither a known URN nor a known short name.
[[nodiscard]] Result<Error> ProblemFromProto(const v1::Problem& problem);

// Evidence: every field, both ways, loss-free.
void EvidenceToProto(const checks::Evidence& evidence, v1::Evidence* out);
[[nodiscard]] checks::Evidence EvidenceFromProto(const v1::Evidence& evidence);

// Outcomes. FromProto fails closed: an unknown method or problem type is kMalformed, and an
// outcome marked valid that carries a problem (or invalid without one) is kMalformed too.
[[nodiscard]] v1::CheckOutcome OutcomeToProto(const checks::CheckResult& result);
[[nodiscard]] Result<checks::CheckResult> OutcomeFromProto(const v1::CheckOutcome& outcome);

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

// The inverse, for the primary's fan-out: fields of `plan` that the wire carries. `dcv` and
// `caa` should name the same identifier and wildcard flag (the dcv's win when both are set).
[[nodiscard]] v1::CheckRequest CheckPlanToProto(const CheckPlan& plan);

}  // namespace mpic::proto
