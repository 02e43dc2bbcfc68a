#include "quorum/quorum.h"

#include <algorithm>
#include <set>
#include <utility>

namespace mpic::quorum {
namespace {

// Fail closed: a value outside the enum (e.g. cast from a newer wire format) is an error.
Outcome Normalize(Outcome outcome) {
  switch (outcome) {
    case Outcome::kCorroborated:
    case Outcome::kInvalid:
    case Outcome::kError:
    case Outcome::kTimeout:
      return outcome;
  }
  return Outcome::kError;
}

std::string RirList(const std::set<Rir>& rirs) {
  std::string out;
  for (Rir rir : rirs) {
    if (!out.empty()) out += ", ";
    out += RirName(rir);
  }
  return out.empty() ? "none" : out;
}

std::string Quoted(std::string_view name) { return "\"" + std::string(name) + "\""; }

}  // namespace

std::string_view OutcomeName(Outcome outcome) {
  switch (Normalize(outcome)) {
    case Outcome::kCorroborated:
      return "corroborated";
    case Outcome::kInvalid:
      return "invalid";
    case Outcome::kTimeout:
      return "timeout";
    case Outcome::kError:
      break;
  }
  return "error";
}

std::string_view DecisionName(Decision decision) {
  switch (decision) {
    case Decision::kCorroborated:
      return "corroborated";
    case Decision::kNotCorroborated:
      return "not_corroborated";
    case Decision::kPending:
      break;
  }
  return "pending";
}

Result<Tally> Tally::Create(Policy policy, std::span<const Perspective> attempted) {
  std::set<std::string_view> names;
  std::vector<RemoteResult> remotes;
  remotes.reserve(attempted.size());
  for (const Perspective& perspective : attempted) {
    if (perspective.name.empty()) {
      return Fail(ProblemType::kServerInternal, "quorum tally: a remote perspective has no name");
    }
    if (!names.insert(perspective.name).second) {
      return Fail(ProblemType::kServerInternal, "quorum tally: remote perspective " +
                                                    Quoted(perspective.name) + " attempted twice");
    }
    remotes.push_back(RemoteResult{perspective, std::nullopt});
  }
  return Tally(std::move(policy), std::move(remotes));
}

Tally::Tally(Policy policy, std::vector<RemoteResult> remotes)
    : policy_(std::move(policy)), remotes_(std::move(remotes)) {
  Update();  // some outcomes are known before any result (too few remotes, 0/0)
}

Status Tally::Add(std::string_view name, Outcome outcome) {
  for (RemoteResult& remote : remotes_) {
    if (remote.perspective.name != name) continue;
    if (remote.outcome.has_value()) {
      return Fail(ProblemType::kServerInternal,
                  "quorum tally: remote perspective " + Quoted(name) + " already reported (" +
                      std::string(OutcomeName(*remote.outcome)) + ")");
    }
    remote.outcome = Normalize(outcome);
    if (*remote.outcome == Outcome::kCorroborated) {
      ++corroborating_;
    } else {
      ++non_corroborating_;
    }
    Update();
    return {};
  }
  return Fail(ProblemType::kServerInternal,
              "quorum tally: no remote perspective " + Quoted(name) + " in this attempt");
}

Status Tally::SetPrimary(Outcome outcome) {
  if (primary_.has_value()) {
    return Fail(ProblemType::kServerInternal, "quorum tally: primary result already set (" +
                                                  std::string(OutcomeName(*primary_)) + ")");
  }
  primary_ = Normalize(outcome);
  Update();
  return {};
}

std::string Tally::QuorumString() const {
  return std::to_string(corroborating_) + "/" + std::to_string(attempted());
}

std::vector<Rir> Tally::CorroboratingRirs() const {
  std::set<Rir> rirs;
  for (const RemoteResult& remote : remotes_) {
    if (remote.outcome == Outcome::kCorroborated) rirs.insert(remote.perspective.rir);
  }
  return {rirs.begin(), rirs.end()};
}

void Tally::UpdateQuorum() {
  if (quorum_ != Decision::kPending) return;
  const int attempted_count = attempted();
  if (attempted_count < policy_.min_remotes()) {
    quorum_ = Decision::kNotCorroborated;
    quorum_reason_ = "quorum unreachable: " + std::to_string(attempted_count) +
                     " remote perspective(s) attempted, policy needs at least " +
                     std::to_string(policy_.min_remotes());
    return;
  }
  const int required = policy_.RequiredCorroborations(attempted_count);
  const int allowed = std::max(0, attempted_count - required);
  if (corroborating_ + pending() < required) {
    quorum_ = Decision::kNotCorroborated;
    quorum_reason_ = "quorum unreachable: " + std::to_string(non_corroborating_) + " of " +
                     std::to_string(attempted_count) +
                     " remote perspectives did not corroborate (at most " +
                     std::to_string(allowed) + " allowed)";
    return;
  }
  std::set<Rir> corroborating_rirs;
  std::set<Rir> possible_rirs;  // if every pending remote corroborated
  for (const RemoteResult& remote : remotes_) {
    if (remote.outcome == Outcome::kCorroborated) corroborating_rirs.insert(remote.perspective.rir);
    if (!remote.outcome.has_value() || remote.outcome == Outcome::kCorroborated) {
      possible_rirs.insert(remote.perspective.rir);
    }
  }
  const int min_rirs = policy_.min_rirs() >= 2 ? policy_.min_rirs() : 0;
  if (static_cast<int>(possible_rirs.size()) < min_rirs) {
    quorum_ = Decision::kNotCorroborated;
    quorum_reason_ = "quorum unreachable: corroborating remote perspectives can span at most " +
                     std::to_string(possible_rirs.size()) + " RIR(s) (" + RirList(possible_rirs) +
                     "), policy needs " + std::to_string(min_rirs);
    return;
  }
  if (corroborating_ >= required && static_cast<int>(corroborating_rirs.size()) >= min_rirs) {
    quorum_ = Decision::kCorroborated;
    quorum_reason_ = "quorum met: " + QuorumString() + " remote perspectives corroborated (" +
                     std::to_string(required) + " needed) across " +
                     std::to_string(corroborating_rirs.size()) + " RIR(s) (" +
                     RirList(corroborating_rirs) + ")";
  }
}

void Tally::Update() {
  UpdateQuorum();
  if (decision_ != Decision::kPending) return;

  const bool primary_passed = primary_ == Outcome::kCorroborated;
  const bool primary_failed = primary_.has_value() && !primary_passed;
  if (!policy_.enforced()) {
    // BR 2025-03-15 phase (and before): MPIC runs and is logged; the primary decides.
    if (!primary_.has_value()) return;
    decision_ = primary_passed ? Decision::kCorroborated : Decision::kNotCorroborated;
    reason_ = "MPIC quorum not enforced (" + policy_.Describe() +
              "): decision follows the primary, whose check " +
              (primary_passed ? std::string("passed")
                              : "failed (" + std::string(OutcomeName(*primary_)) + ")");
    return;
  }
  if (policy_.primary_required() && primary_failed) {
    decision_ = Decision::kNotCorroborated;
    reason_ = "the primary's own check failed (" + std::string(OutcomeName(*primary_)) + ")";
    return;
  }
  if (quorum_ == Decision::kNotCorroborated) {
    decision_ = Decision::kNotCorroborated;
    reason_ = quorum_reason_;
    return;
  }
  if (quorum_ == Decision::kCorroborated && (primary_passed || !policy_.primary_required())) {
    decision_ = Decision::kCorroborated;
    reason_ = quorum_reason_;
  }
}

}  // namespace mpic::quorum
