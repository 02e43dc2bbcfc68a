// The early-deciding quorum tally for one validation attempt (BR §3.2.2.9). Pure: feed it the
// primary's result and each remote's result as they arrive, and read `decision()` after each
// call. Corroborated as soon as enough remotes corroborated, their RIRs are diverse enough and
// the primary passed; not corroborated as soon as that can no longer happen. Anything unknown
// counts as non-corroboration (fail closed). When the policy is not enforced (the 2025-03-15
// phase, or before MPIC is required) the decision follows the primary alone, but the quorum is
// still computed for the log.
//
//   auto tally = mpic::quorum::Tally::Create(policy, cohort);  // cohort: remotes attempted
//   if (!tally) return mpic::Fail(tally.error());
//   (void)tally->SetPrimary(mpic::quorum::Outcome::kCorroborated);  // primary's check passed
//   if (mpic::Status ok = tally->Add("fra", mpic::quorum::Outcome::kTimeout); !ok) { ... }
//   if (tally->decision() != mpic::quorum::Decision::kPending) {
//     Answer(tally->decision(), tally->QuorumString() /* "3/4" */, tally->reason());
//   }
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "quorum/perspective.h"
#include "quorum/policy.h"

namespace mpic::quorum {

// One perspective's result. Only kCorroborated counts towards the quorum; the other kinds are
// all non-corroboration but are recorded distinctly for the audit record. For the primary,
// kCorroborated means "its own check passed".
enum class Outcome {
  kCorroborated,  // the check passed (for a remote: it agrees with the primary)
  kInvalid,       // the check ran and failed (wrong value, CAA forbids, ...)
  kError,         // the perspective could not run the check (RPC or internal error)
  kTimeout,       // no answer before the deadline
};

// "corroborated", "invalid", "error", "timeout"; any other value prints as "error".
[[nodiscard]] std::string_view OutcomeName(Outcome outcome);

enum class Decision { kPending, kCorroborated, kNotCorroborated };

// "pending", "corroborated", "not_corroborated".
[[nodiscard]] std::string_view DecisionName(Decision decision);

struct RemoteResult {
  Perspective perspective;
  std::optional<Outcome> outcome;  // nullopt while pending

  friend bool operator==(const RemoteResult&, const RemoteResult&) = default;
};

class Tally {
 public:
  // `attempted`: the remote perspectives this attempt actually asked (normally the output of
  // SelectCohort). kServerInternal for an empty or duplicate name. Fewer remotes than the policy
  // minimum is not an error here: the quorum is then unreachable and the tally says so.
  [[nodiscard]] static Result<Tally> Create(Policy policy, std::span<const Perspective> attempted);

  // Records a remote's result. kServerInternal (state unchanged) for a name that was not
  // attempted or already reported. An Outcome value outside the enum is recorded as kError.
  // Results arriving after the decision are still recorded; the decision never changes.
  [[nodiscard]] Status Add(std::string_view name, Outcome outcome);
  // Records the primary's own result; kServerInternal if already set.
  [[nodiscard]] Status SetPrimary(Outcome outcome);

  // The issuance decision so far; once not kPending it never changes.
  [[nodiscard]] Decision decision() const { return decision_; }
  // Why: e.g. "quorum met: 3/4 remotes corroborated (≥3 needed) across 2 RIRs (arin, ripe)".
  [[nodiscard]] const std::string& reason() const { return reason_; }
  // The remote quorum alone (primary excluded), computed even when not enforced; once not
  // kPending it never changes.
  [[nodiscard]] Decision quorum() const { return quorum_; }
  [[nodiscard]] const std::string& quorum_reason() const { return quorum_reason_; }
  // False when the decision follows the primary only (BR 2025-03-15 phase, or pre-MPIC).
  [[nodiscard]] bool enforced() const { return policy_.enforced(); }

  // BR §5.4.1 quorum result: corroborating remotes / attempted remotes, e.g. "3/4".
  [[nodiscard]] std::string QuorumString() const;

  [[nodiscard]] int attempted() const { return static_cast<int>(remotes_.size()); }
  [[nodiscard]] int corroborating() const { return corroborating_; }
  [[nodiscard]] int non_corroborating() const { return non_corroborating_; }
  [[nodiscard]] int pending() const { return attempted() - corroborating_ - non_corroborating_; }
  // Every remote and the primary have reported.
  [[nodiscard]] bool complete() const { return pending() == 0 && primary_.has_value(); }

  [[nodiscard]] std::optional<Outcome> primary() const { return primary_; }
  // In the order given to Create.
  [[nodiscard]] const std::vector<RemoteResult>& remotes() const { return remotes_; }
  [[nodiscard]] const Policy& policy() const { return policy_; }
  // Distinct RIRs of the corroborating remotes, in enum order.
  [[nodiscard]] std::vector<Rir> CorroboratingRirs() const;

 private:
  Tally(Policy policy, std::vector<RemoteResult> remotes);
  void Update();
  void UpdateQuorum();

  Policy policy_;
  std::vector<RemoteResult> remotes_;  // a handful: linear lookup by name is fine
  std::optional<Outcome> primary_;
  int corroborating_ = 0;
  int non_corroborating_ = 0;
  Decision quorum_ = Decision::kPending;
  std::string quorum_reason_ = "waiting for remote perspectives";
  Decision decision_ = Decision::kPending;
  std::string reason_ = "waiting for perspectives";
};

}  // namespace mpic::quorum
