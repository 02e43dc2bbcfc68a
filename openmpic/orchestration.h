// The effective orchestration of one Open MPIC request: the caller may ask for more remote
// perspectives or a stricter quorum than the primary's configuration, never for less than the
// BR §3.2.2.9 table and phase the primary enforces. Pure; table-tested.
//
//   mpic::openmpic::OrchestrationFloor floor{policy, /*min_perspectives=*/4,
//                                            /*pool_size=*/12, /*max_attempts=*/3,
//                                            /*allow_monitoring=*/false};
//   auto orchestration = mpic::openmpic::ResolveOrchestration(request.orchestration, floor);
//   if (!orchestration) return Reply400(ValidationErrorBody(orchestration.error()));
//   // orchestration->perspective_count remotes, orchestration->quorum_count must corroborate
#pragma once

#include <optional>

#include <tl/expected.hpp>

#include "openmpic/request.h"
#include "quorum/policy.h"

namespace mpic::openmpic {

// What the primary's configuration enforces.
struct OrchestrationFloor {
  quorum::Policy policy;     // BR table and phase (or an acknowledged research policy)
  int min_perspectives = 0;  // the configured cohort size (remotes_per_validation)
  int pool_size = 0;         // remotes configured
  int max_attempts = 1;      // operator's cap on attempts (disjoint cohorts) per request
  bool allow_monitoring = false;  // Open MPIC quorum_count 0; off unless configured
};

// What the primary runs. Attempt N (0-based) uses the N-th disjoint cohort of
// perspective_count remotes; a `cohort` pins the one attempt to cohort (cohort - 1).
struct Orchestration {
  int perspective_count = 0;  // remote perspectives per attempt
  int quorum_count = 0;       // corroborating remotes required; 0 only with `monitoring`
  int max_attempts = 1;       // attempts allowed, each with a fresh disjoint cohort
  std::optional<int> cohort;  // 1-based cohort for a single attempt (cohort_for_single_attempt)
  // Open MPIC's monitoring mode (quorum_count 0): the quorum is computed and logged but does
  // not decide; the decision follows the primary's own check (never "valid" without it), and
  // the audit record must say so.
  bool monitoring = false;

  friend bool operator==(const Orchestration&, const Orchestration&) = default;
};

// Disjoint cohorts of `perspective_count` that the pool holds.
[[nodiscard]] int CohortCount(const OrchestrationFloor& floor, int perspective_count);

// The effective orchestration, or the 400 issues saying why the request asks for too little or
// the impossible.
[[nodiscard]] tl::expected<Orchestration, ValidationIssues> ResolveOrchestration(
    const RequestedOrchestration& requested, const OrchestrationFloor& floor);

}  // namespace mpic::openmpic
