#include "openmpic/orchestration.h"

#include <algorithm>
#include <string>

namespace mpic::openmpic {
namespace {

std::string N(int64_t value) { return std::to_string(value); }

}  // namespace

int CohortCount(const OrchestrationFloor& floor, int perspective_count) {
  if (perspective_count <= 0) return 0;
  return floor.pool_size / perspective_count;
}

tl::expected<Orchestration, ValidationIssues> ResolveOrchestration(
    const RequestedOrchestration& requested, const OrchestrationFloor& floor) {
  ValidationIssues issues;
  Orchestration out;
  const std::string policy = floor.policy.Describe();

  // Perspective count: the configured cohort size is the floor (it already satisfies the BR
  // phase minimum, or the configuration would not have loaded); the pool is the ceiling.
  const int64_t n = requested.perspective_count.value_or(floor.min_perspectives);
  if (n < 1 || n < floor.min_perspectives) {
    issues.push_back({"invalid-perspective-count",
                      "Invalid perspective count: " + N(n) + ": this primary uses at least " +
                          N(floor.min_perspectives) + " remote perspectives (" + policy + ")"});
  } else if (n > floor.pool_size) {
    issues.push_back({"invalid-perspective-count",
                      "Invalid perspective count: " + N(n) + ": only " + N(floor.pool_size) +
                          " remote perspectives are configured"});
  }
  if (!issues.empty()) return tl::unexpected(std::move(issues));
  out.perspective_count = static_cast<int>(n);

  // Quorum: at least what the policy requires for n remotes (BR §3.2.2.9 table), at most n.
  const int required = floor.policy.RequiredCorroborations(out.perspective_count);
  const int64_t q = requested.quorum_count.value_or(required);
  if (q == 0 && requested.quorum_count) {
    if (!floor.allow_monitoring) {
      issues.push_back({"monitoring-mode-disabled",
                        "Invalid quorum count: 0: monitoring mode (quorum_count 0) is not enabled "
                        "on this server"});
    } else {
      out.monitoring = true;
    }
  } else if (q < 0 || q > n) {
    issues.push_back({"invalid-quorum-count", "Invalid quorum count: " + N(q) +
                                                  ": it must be between " + N(required) +
                                                  " and the perspective count " + N(n)});
  } else if (q < required) {
    issues.push_back({"invalid-quorum-count",
                      "Invalid quorum count: " + N(q) + ": with " + N(n) +
                          " remote perspectives at least " + N(required) +
                          " must corroborate (" + policy + ")"});
  }
  out.quorum_count = static_cast<int>(std::clamp<int64_t>(q, 0, n));

  // Attempts: each uses a fresh disjoint cohort, so the pool bounds them too.
  const int cohorts = CohortCount(floor, out.perspective_count);
  if (requested.cohort_for_single_attempt) {
    const int64_t c = *requested.cohort_for_single_attempt;
    if (c < 1 || c > cohorts) {
      issues.push_back({"invalid-cohort-for-single-attempt",
                        "Invalid cohort for single attempt: " + N(c) + ": cohorts are numbered 1 "
                        "to " + N(cohorts) + " for " + N(n) + " perspectives"});
    } else {
      out.cohort = static_cast<int>(c);
    }
    if (requested.max_attempts && *requested.max_attempts != 1) {
      issues.push_back({"invalid-max-attempts",
                        "Invalid max attempts: " + N(*requested.max_attempts) +
                            ": cohort_for_single_attempt means exactly one attempt"});
    }
    out.max_attempts = 1;
  } else {
    const int64_t m = requested.max_attempts.value_or(1);
    if (m < 1) {
      issues.push_back({"invalid-max-attempts",
                        "Invalid max attempts: " + N(m) + ": at least 1 attempt"});
    }
    // Capped, as Open MPIC caps at its global maximum: fewer attempts are never less safe.
    out.max_attempts =
        static_cast<int>(std::clamp<int64_t>(m, 1, std::max(1, std::min(floor.max_attempts,
                                                                         cohorts))));
  }
  if (!issues.empty()) return tl::unexpected(std::move(issues));
  return out;
}

}  // namespace mpic::openmpic
