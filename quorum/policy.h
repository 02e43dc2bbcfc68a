// What a validation's quorum must reach. The default kind is the BR §3.2.2.9 rule for an
// effective date; research kinds exist for simulations and are clearly NOT BR-compliant.
//
//   mpic::Result<mpic::quorum::Policy> br =
//       mpic::quorum::Policy::BaselineRequirements(mpic::quorum::Date{2026, 6, 15});
//   br->Describe();
//   // "BR 3.2.2.9 phase 2026-06-15 (min 4 remotes, ≤1 non-corroborating, ≥2 RIRs)"
//   br->RequiredCorroborations(6);  // 4: six remotes used, two may fail
//
//   auto research = mpic::quorum::Policy::KOfN(/*k=*/3, /*n=*/5, /*min_rirs=*/0,
//                                              /*primary_required=*/false);
//   research->Describe();  // "research k-of-n 3/5, primary not required (NOT BR-compliant)"
#pragma once

#include <optional>
#include <string>

#include "common/error.h"
#include "quorum/phase.h"

namespace mpic::quorum {

enum class PolicyKind {
  kBaselineRequirements,  // BR §3.2.2.9 table and phase for the effective date
  kKOfN,                  // research: k corroborations out of n remotes; NOT BR-compliant
};

// Immutable once built; copy freely.
class Policy {
 public:
  // Fail closed: the strictest BR phase (the last row of kBrPhases).
  Policy();

  // BR §3.2.2.9 as in force on `effective` (config input, never a hidden clock). kMalformed for
  // an invalid date.
  [[nodiscard]] static Result<Policy> BaselineRequirements(const Date& effective);

  // Research only. 1 <= k <= n <= kMaxRemotes; min_rirs in 0..5 (0 or 1 = no RIR rule) and
  // <= k. Always enforced. kMalformed on bad parameters.
  [[nodiscard]] static Result<Policy> KOfN(int k, int n, int min_rirs, bool primary_required);

  static constexpr int kMaxRemotes = 64;

  [[nodiscard]] PolicyKind kind() const { return kind_; }
  [[nodiscard]] bool br_compliant() const { return kind_ == PolicyKind::kBaselineRequirements; }
  // BR kind only: the input date and the phase it selected.
  [[nodiscard]] std::optional<Date> effective_date() const;
  [[nodiscard]] std::optional<Phase> phase() const;

  // MPIC must run (false only before the first BR date).
  [[nodiscard]] bool mpic_required() const { return mpic_required_; }
  // The quorum decides issuance; when false the decision follows the primary and the quorum is
  // only computed and logged.
  [[nodiscard]] bool enforced() const { return enforced_; }
  // Remote perspectives that must be attempted (BR: the phase minimum; k-of-n: n).
  [[nodiscard]] int min_remotes() const { return min_remotes_; }
  // Distinct RIRs the corroborating remotes must span; <= 1 means no rule.
  [[nodiscard]] int min_rirs() const { return min_rirs_; }
  // The primary's own check must pass (always true for BR).
  [[nodiscard]] bool primary_required() const { return primary_required_; }
  // Research kind only (0 for BR).
  [[nodiscard]] int k() const { return k_; }
  [[nodiscard]] int n() const { return n_; }

  // Non-corroborations tolerated when `attempted` remotes were used (BR: the §3.2.2.9 table).
  [[nodiscard]] int AllowedNonCorroborations(int attempted) const;
  // Corroborating remotes needed when `attempted` remotes were used.
  [[nodiscard]] int RequiredCorroborations(int attempted) const;

  // One line for logs and audit records, e.g.
  // "BR 3.2.2.9 phase 2026-06-15 (min 4 remotes, ≤1 non-corroborating, ≥2 RIRs)".
  [[nodiscard]] std::string Describe() const;

  friend bool operator==(const Policy&, const Policy&) = default;

 private:
  PolicyKind kind_ = PolicyKind::kBaselineRequirements;
  Date effective_date_;
  Phase phase_;
  bool mpic_required_ = true;
  bool enforced_ = true;
  int min_remotes_ = 0;
  int min_rirs_ = 0;
  bool primary_required_ = true;
  int k_ = 0;
  int n_ = 0;
};

}  // namespace mpic::quorum
