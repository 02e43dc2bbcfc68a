// Config-time check that a fleet of perspectives can satisfy a policy (BR §3.2.2.9): every
// remote at least 500 km from the primary and from every other remote, enough remotes for the
// phase, at least two RIRs available when the phase requires corroboration across RIRs, unique
// names, valid coordinates. Run it when loading config and exit non-zero on error.
//
//   mpic::quorum::Perspective primary{"primary", mpic::quorum::Rir::kArin, {40.71, -74.01}};
//   std::vector<mpic::quorum::Perspective> remotes = LoadRemotes();
//   if (mpic::Status ok = mpic::quorum::ValidateFleet(policy, primary, remotes); !ok) {
//     std::cerr << ok.error().detail << "\n";  // names the offending perspectives and distance
//     return 2;
//   }
#pragma once

#include <span>

#include "common/error.h"
#include "quorum/perspective.h"
#include "quorum/policy.h"

namespace mpic::quorum {

// kMalformed with every violation found, joined by "; ". The primary is not a remote and is not
// counted towards min_remotes or the RIR rule.
[[nodiscard]] Status ValidateFleet(const Policy& policy, const Perspective& primary,
                                   std::span<const Perspective> remotes);

}  // namespace mpic::quorum
