// Which remote perspectives to ask for one identifier. When more remotes are configured than a
// validation needs, the cohort is chosen by a keyed hash (HMAC-SHA256 with a secret from config)
// so an attacker cannot predict which networks will look, yet the choice is deterministic per
// identifier. Retries get disjoint cohorts: attempt N never reuses a perspective of attempts
// 0..N-1, so no corroboration from an earlier attempt is reused (BR §3.2.2.9).
//
//   auto cohort = mpic::quorum::SelectCohort(config.selection_secret, "Example.COM.",
//                                            /*attempt=*/0, config.remotes,
//                                            policy.min_remotes());
//   if (!cohort) return mpic::Fail(cohort.error());  // e.g. pool exhausted on a retry
//   auto tally = mpic::quorum::Tally::Create(policy, *cohort);
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "quorum/perspective.h"

namespace mpic::quorum {

// A shorter key would make the cohort guessable; 32 random bytes are recommended.
inline constexpr std::size_t kMinSelectionSecretBytes = 16;

// ASCII lowercase, one trailing dot removed: "Example.COM." -> "example.com".
[[nodiscard]] std::string NormalizeIdentifier(std::string_view identifier);

// `count` remotes for retry number `attempt` (0 = first try), ordered by keyed rank.
//
// The pool is ranked by HMAC-SHA256(secret, normalized identifier, remote name); attempt N takes
// from the remotes left over after attempts 0..N-1 (recomputed, so every primary replica agrees).
// Within an attempt the top `count` by rank are taken; if they all share one RIR while a remote
// of another RIR is left, the lowest-ranked pick is swapped for the best-ranked remote of another
// RIR, so a cohort spans >= 2 RIRs whenever the remaining pool allows it.
//
// Errors: kMalformed for a secret shorter than kMinSelectionSecretBytes, count < 1, attempt < 0,
// an empty or duplicate remote name; kServerInternal when fewer than `count` unused remotes are
// left for this attempt (pool exhausted).
[[nodiscard]] Result<std::vector<Perspective>> SelectCohort(std::string_view secret,
                                                            std::string_view identifier,
                                                            int attempt,
                                                            std::span<const Perspective> remotes,
                                                            int count);

}  // namespace mpic::quorum
