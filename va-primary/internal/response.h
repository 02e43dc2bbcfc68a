// Building the primary's answer from a validation's final state (pure: no I/O, no clock): the
// decision, the problem that explains a refusal, the quorum strings, the policy and the
// divergences between the perspectives that answered.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "mpic/v1/primary.pb.h"
#include "perspective/primary_config.h"
#include "quorum/quorum.h"
#include "va-primary/request.h"

namespace mpic::va_primary::internal {

struct FinalState {
  const perspective::PrimarySettings* settings = nullptr;
  const CheckedRequest* request = nullptr;
  std::string request_id;
  const quorum::Tally* tally = nullptr;  // null when the validation failed before its tally
  const Error* forced = nullptr;         // a fail-closed decision, if any
  std::string decided_quorum;            // the quorum when the decision was fixed
  v1::PerspectiveResult primary;         // moved into the response
  std::vector<v1::PerspectiveResult> remotes;
  int min_corroborations = 0;  // a stricter quorum asked for (ValidationOptions)
  bool monitoring = false;     // the decision follows the primary; the quorum is only logged
};

// CORROBORATED only when nothing forced the decision and the tally corroborated with at least
// min_corroborations remotes (in monitoring mode: the primary's own check corroborated).
[[nodiscard]] v1::ValidateResponse BuildResponse(FinalState state);

// Why a validation was not corroborated: the primary's own problem when its check failed (and
// the policy requires it, or is not enforced), else the quorum's.
[[nodiscard]] v1::Problem DecisionProblem(const FinalState& state);

}  // namespace mpic::va_primary::internal
