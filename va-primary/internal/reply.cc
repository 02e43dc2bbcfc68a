#include "va-primary/internal/reply.h"

#include <vector>

#include "perspective/primary_config.h"
#include "perspective/wire.h"
#include "quorum/selection.h"

namespace mpic::va_primary::internal {
namespace {

std::string RirText(v1::Rir rir) {
  auto parsed = perspective::RirFromProto(rir);
  return parsed ? std::string(quorum::RirName(*parsed)) : "unspecified";
}

}  // namespace

ReplyVerdict ClassifyReply(const CheckedRequest& request,
                           const v1::PerspectiveIdentity& configured, const grpc::Status& status,
                           v1::CheckResponse reply, v1::PerspectiveResult* result) {
  v1::PerspectiveResult& r = *result;
  r.set_corroborates(false);
  if (!status.ok()) {
    const std::string code(perspective::GrpcCodeName(status.error_code()));
    r.set_error(code + ": " + status.error_message());
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      r.set_status(v1::TIMED_OUT);
      return {quorum::Outcome::kTimeout, code};
    }
    r.set_status(v1::RPC_ERROR);
    return {quorum::Outcome::kError, code};
  }
  // Moved, not copied (the evidence is most of the reply).
  if (reply.has_dcv()) *r.mutable_dcv() = std::move(*reply.mutable_dcv());
  if (reply.has_caa()) *r.mutable_caa() = std::move(*reply.mutable_caa());

  if (reply.perspective().name() != configured.name() ||
      reply.perspective().rir() != configured.rir()) {
    r.set_status(v1::IDENTITY_MISMATCH);
    r.set_error("replied as \"" + reply.perspective().name().substr(0, 64) + "\" (" +
                RirText(reply.perspective().rir()) + "), configured as \"" + configured.name() +
                "\" (" + RirText(configured.rir()) + ")");
    return {quorum::Outcome::kError, ""};
  }

  std::string malformed;
  const std::string identifier = quorum::NormalizeIdentifier(request.identifier);
  auto check_outcome = [&](bool requested, bool present, const v1::CheckOutcome& outcome,
                           v1::Method method, const char* name) {
    if (!requested || !malformed.empty()) return;
    if (!present) {
      malformed = std::string("reply lacks the requested ") + name + " outcome";
    } else if (outcome.method() != method) {
      malformed = std::string("the ") + name + " outcome is for another method";
    } else if (quorum::NormalizeIdentifier(outcome.identifier()) != identifier) {
      malformed = std::string("the ") + name + " outcome is for identifier \"" +
                  outcome.identifier().substr(0, 64) + "\"";
    }
  };
  check_outcome(request.dcv.has_value(), r.has_dcv(), r.dcv(), request.method, "dcv");
  check_outcome(request.caa, r.has_caa(), r.caa(), v1::CAA, "caa");
  if (!malformed.empty()) {
    r.set_status(v1::RPC_ERROR);
    r.set_error("malformed reply: " + malformed);
    return {quorum::Outcome::kError, "MALFORMED_REPLY"};
  }

  r.set_status(v1::ANSWERED);
  std::vector<const v1::CheckOutcome*> requested;
  if (request.dcv) requested.push_back(&r.dcv());
  if (request.caa) requested.push_back(&r.caa());
  const quorum::Outcome outcome = perspective::ClassifyOutcomes(requested);
  r.set_corroborates(outcome == quorum::Outcome::kCorroborated);
  return {outcome, ""};
}

}  // namespace mpic::va_primary::internal
