#include "va-primary/internal/response.h"

#include "perspective/wire.h"
#include "va-primary/divergence.h"

namespace mpic::va_primary::internal {

v1::Problem DecisionProblem(const FinalState& state) {
  if (state.forced) return perspective::ProblemToProto(*state.forced);
  const auto& policy = state.settings->policy;
  const v1::PerspectiveResult& p = state.primary;
  if (p.status() == v1::ANSWERED && !p.corroborates() &&
      (policy.primary_required() || !policy.enforced())) {
    if (state.request->dcv && p.has_dcv() && !perspective::OutcomeValid(p.dcv()) &&
        p.dcv().has_problem()) {
      return p.dcv().problem();
    }
    if (p.has_caa() && p.caa().has_problem()) return p.caa().problem();
  }
  if (state.tally == nullptr) {
    return perspective::ProblemToProto(
        Error{ProblemType::kServerInternal, "MPIC: not corroborated: no tally"});
  }
  if (state.monitoring) {
    return perspective::ProblemToProto(Error{
        ProblemType::kServerInternal, "MPIC monitoring mode: the primary's own check did not "
                                      "corroborate: " + state.primary.error()});
  }
  if (state.tally->quorum() == quorum::Decision::kCorroborated &&
      state.tally->corroborating() < state.min_corroborations) {
    return perspective::ProblemToProto(Error{
        ProblemType::kUnauthorized,
        "MPIC: remote perspectives did not corroborate: quorum " + state.tally->QuorumString() +
            " is below the requested quorum_count " + std::to_string(state.min_corroborations)});
  }
  if (state.tally->quorum() == quorum::Decision::kNotCorroborated) {
    return perspective::ProblemToProto(
        Error{ProblemType::kUnauthorized, "MPIC: remote perspectives did not corroborate (quorum " +
                                              state.tally->QuorumString() + ", " +
                                              policy.Describe() + "): " + state.tally->reason()});
  }
  return perspective::ProblemToProto(
      Error{ProblemType::kServerInternal, "MPIC: not corroborated: " + state.tally->reason()});
}

v1::ValidateResponse BuildResponse(FinalState state) {
  v1::ValidateResponse out;
  out.set_request_id(state.request_id);
  bool corroborated = state.forced == nullptr && state.tally != nullptr;
  if (corroborated && state.monitoring) {
    corroborated = state.primary.status() == v1::ANSWERED && state.primary.corroborates();
  } else if (corroborated) {
    corroborated = state.tally->decision() == quorum::Decision::kCorroborated &&
                   state.tally->corroborating() >= state.min_corroborations;
  }
  out.set_decision(corroborated ? v1::CORROBORATED : v1::NOT_CORROBORATED);
  if (!corroborated) *out.mutable_problem() = DecisionProblem(state);  // before the moves
  *out.mutable_primary() = std::move(state.primary);
  for (v1::PerspectiveResult& r : state.remotes) *out.add_remotes() = std::move(r);
  out.set_quorum(state.tally ? state.tally->QuorumString()
                             : "0/" + std::to_string(state.settings->remotes_per_validation));
  out.set_decided_quorum(state.decided_quorum.empty() ? out.quorum() : state.decided_quorum);
  out.set_policy(state.settings->policy.Describe());
  out.set_phase(state.settings->phase);
  out.set_enforced(state.settings->policy.enforced() && !state.monitoring);

  std::vector<const v1::PerspectiveResult*> answered;
  if (out.primary().status() == v1::ANSWERED) answered.push_back(&out.primary());
  for (const v1::PerspectiveResult& r : out.remotes()) {
    if (r.status() == v1::ANSWERED) answered.push_back(&r);
  }
  for (v1::Divergence& d : ComputeDivergences(answered)) *out.add_divergences() = std::move(d);
  return out;
}

}  // namespace mpic::va_primary::internal
