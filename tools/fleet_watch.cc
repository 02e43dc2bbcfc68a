#include "tools/fleet_watch.h"

#include <algorithm>
#include <set>

namespace mpic::tools {

QuorumOutlook OutlookAfterLoss(const quorum::Policy& policy, int cohort,
                               const std::vector<quorum::Perspective>& pool,
                               const std::vector<bool>& running) {
  QuorumOutlook out;
  const int n = static_cast<int>(pool.size());
  cohort = std::clamp(cohort, 0, n);
  std::set<quorum::Rir> rirs;
  for (std::size_t i = 0; i < pool.size() && i < running.size(); ++i) {
    if (!running[i]) continue;
    ++out.left;
    rirs.insert(pool[i].rir);
  }
  const int dead = n - out.left;
  out.required = policy.RequiredCorroborations(cohort);
  const bool rirs_ok = policy.min_rirs() <= 1 || static_cast<int>(rirs.size()) >= policy.min_rirs();
  // At best every running remote is in the cohort; at worst every stopped one is.
  const int best = std::min(out.left, cohort);
  const int worst = cohort - std::min(dead, cohort);
  if (!policy.enforced()) {
    // The quorum is computed and logged only; decisions follow the primary's own check.
    out.all_continue = true;
    return out;
  }
  out.none_continue = cohort == 0 || best < out.required || !rirs_ok;
  out.all_continue = !out.none_continue && worst >= out.required;
  return out;
}

std::string DescribeRemoteLoss(const std::string& name, const std::string& how,
                               const quorum::Policy& policy, int cohort,
                               const std::vector<quorum::Perspective>& pool,
                               const std::vector<bool>& running) {
  const QuorumOutlook o = OutlookAfterLoss(policy, cohort, pool, running);
  const int n = static_cast<int>(pool.size());
  const int c = std::clamp(cohort, 0, n);
  std::string quorum = std::to_string(o.required) + " of " + std::to_string(c) +
                       " corroborating remotes";
  if (policy.min_rirs() > 1) {
    quorum += " from at least " + std::to_string(policy.min_rirs()) + " RIRs";
  }
  std::string line = "remote " + name + " " + (how.empty() ? "ended" : how) + "; " +
                     std::to_string(o.left) + " of " + std::to_string(n) + " remotes left; ";
  if (!policy.enforced()) {
    return line + "the quorum is not enforced in this phase (logged only): validations continue";
  }
  if (o.all_continue) {
    return line + "quorum " + quorum + " still reachable: validations continue";
  }
  if (o.none_continue) {
    return line + "below quorum (" + quorum +
           " needed): validations will be NOT_CORROBORATED until the fleet is restarted";
  }
  return line + "quorum " + quorum + ": a validation whose cohort of " + std::to_string(c) +
         " includes more than " + std::to_string(c - o.required) + " of the " +
         std::to_string(n - o.left) +
         " stopped remotes will be NOT_CORROBORATED (a retry gets another cohort); others "
         "continue";
}

}  // namespace mpic::tools
