// What `mpic fleet up --keep-running` says when a remote perspective of its fleet dies: how many
// remotes are left and whether the BR §3.2.2.9 quorum can still be met, so the operator knows
// whether validations go on being CORROBORATED or will come back NOT_CORROBORATED. Pure: the
// fleet command polls its children and prints what this returns.
//
//   std::string line = mpic::tools::DescribeRemoteLoss("af-jnb-1", "killed by signal 9",
//                                                       policy, cohort, pool, running);
//   // "remote af-jnb-1 killed by signal 9; 4 of 5 remotes left; quorum 4 of 5 corroborating
//   //  remotes (>=2 RIRs) still reachable: validations continue"
#pragma once

#include <string>
#include <vector>

#include "quorum/perspective.h"
#include "quorum/policy.h"

namespace mpic::tools {

// Whether validations can still be corroborated with only the `running` remotes of `pool`
// (parallel vectors), `cohort` of them asked per validation (cohort == pool size: all).
struct QuorumOutlook {
  int left = 0;             // remotes running
  int required = 0;         // corroborating remotes needed in a cohort
  bool all_continue = false;   // every validation can still reach the quorum
  bool none_continue = false;  // no validation can (too few remotes or RIRs left)
};

[[nodiscard]] QuorumOutlook OutlookAfterLoss(const quorum::Policy& policy, int cohort,
                                             const std::vector<quorum::Perspective>& pool,
                                             const std::vector<bool>& running);

// One line (no newline) for the operator, naming the remote, how it ended and the outlook.
[[nodiscard]] std::string DescribeRemoteLoss(const std::string& name, const std::string& how,
                                             const quorum::Policy& policy, int cohort,
                                             const std::vector<quorum::Perspective>& pool,
                                             const std::vector<bool>& running);

}  // namespace mpic::tools
