#include "quorum/policy.h"

#include <algorithm>

#include "quorum/perspective.h"

namespace mpic::quorum {

Policy::Policy() {
  const Phase& strictest = kBrPhases.back();
  effective_date_ = strictest.effective;
  phase_ = strictest;
  mpic_required_ = strictest.mpic_required;
  enforced_ = strictest.enforced;
  min_remotes_ = strictest.min_remotes;
  min_rirs_ = strictest.min_rirs;
}

Result<Policy> Policy::BaselineRequirements(const Date& effective) {
  if (!IsValidDate(effective)) {
    return Fail(ProblemType::kMalformed,
                "policy effective date " + FormatDate(effective) + " is not a calendar date");
  }
  const Phase& phase = PhaseFor(effective);
  Policy policy;
  policy.effective_date_ = effective;
  policy.phase_ = phase;
  policy.mpic_required_ = phase.mpic_required;
  policy.enforced_ = phase.enforced;
  policy.min_remotes_ = phase.min_remotes;
  policy.min_rirs_ = phase.min_rirs;
  return policy;
}

Result<Policy> Policy::KOfN(int k, int n, int min_rirs, bool primary_required) {
  if (n < 1 || n > kMaxRemotes) {
    return Fail(ProblemType::kMalformed, "k-of-n policy: n=" + std::to_string(n) + " outside 1.." +
                                             std::to_string(kMaxRemotes));
  }
  if (k < 1 || k > n) {
    return Fail(ProblemType::kMalformed, "k-of-n policy: k=" + std::to_string(k) +
                                             " outside 1..n (n=" + std::to_string(n) + ")");
  }
  if (min_rirs < 0 || min_rirs > static_cast<int>(kAllRirs.size()) || min_rirs > k) {
    return Fail(ProblemType::kMalformed,
                "k-of-n policy: min_rirs=" + std::to_string(min_rirs) + " outside 0..min(5, k)");
  }
  Policy policy;
  policy.kind_ = PolicyKind::kKOfN;
  policy.effective_date_ = Date{};
  policy.phase_ = Phase{};
  policy.mpic_required_ = true;
  policy.enforced_ = true;
  policy.min_remotes_ = n;
  policy.min_rirs_ = min_rirs;
  policy.primary_required_ = primary_required;
  policy.k_ = k;
  policy.n_ = n;
  return policy;
}

std::optional<Date> Policy::effective_date() const {
  if (kind_ != PolicyKind::kBaselineRequirements) return std::nullopt;
  return effective_date_;
}

std::optional<Phase> Policy::phase() const {
  if (kind_ != PolicyKind::kBaselineRequirements) return std::nullopt;
  return phase_;
}

int Policy::AllowedNonCorroborations(int attempted) const {
  if (attempted <= 0) return 0;
  if (kind_ == PolicyKind::kKOfN) return std::max(0, attempted - k_);
  return quorum::AllowedNonCorroborations(attempted);
}

int Policy::RequiredCorroborations(int attempted) const {
  if (kind_ == PolicyKind::kKOfN) return k_;
  return std::max(0, attempted - AllowedNonCorroborations(attempted));
}

std::string Policy::Describe() const {
  if (kind_ == PolicyKind::kKOfN) {
    std::string out = "research k-of-n " + std::to_string(k_) + "/" + std::to_string(n_);
    if (min_rirs_ >= 2) out += ", ≥" + std::to_string(min_rirs_) + " RIRs";
    if (!primary_required_) out += ", primary not required";
    return out + " (NOT BR-compliant)";
  }
  if (!phase_.mpic_required) {
    return "BR 3.2.2.9 before " + FormatDate(kBrPhases.front().effective) +
           ": MPIC not required (quorum logged only, decision follows the primary)";
  }
  std::string out = "BR 3.2.2.9 phase " + FormatDate(phase_.effective) + " (min " +
                    std::to_string(phase_.min_remotes) + " remotes, ≤" +
                    std::to_string(quorum::AllowedNonCorroborations(phase_.min_remotes)) +
                    " non-corroborating, ";
  if (!phase_.enforced) {
    out += "not enforced: quorum logged only";
  } else if (phase_.min_rirs >= 2) {
    out += "≥" + std::to_string(phase_.min_rirs) + " RIRs";
  } else {
    out += "no RIR rule";
  }
  return out + ")";
}

}  // namespace mpic::quorum
