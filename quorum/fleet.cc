#include "quorum/fleet.h"

#include <cstdio>
#include <set>
#include <string>
#include <vector>

namespace mpic::quorum {
namespace {

std::string Km(double km) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f km", km);
  return buffer;
}

std::string Quoted(const std::string& name) { return "\"" + name + "\""; }

}  // namespace

Status ValidateFleet(const Policy& policy, const Perspective& primary,
                     std::span<const Perspective> remotes) {
  std::vector<std::string> problems;

  // Names: results are keyed by name, so they must be unique and non-empty.
  std::set<std::string> names;
  if (primary.name.empty()) problems.push_back("the primary has an empty name");
  names.insert(primary.name);
  for (const Perspective& remote : remotes) {
    if (remote.name.empty()) {
      problems.push_back("a remote perspective has an empty name");
    } else if (!names.insert(remote.name).second) {
      problems.push_back("perspective name " + Quoted(remote.name) + " is used more than once");
    }
  }

  // Coordinates; distances are only meaningful between valid locations.
  std::vector<bool> located(remotes.size(), false);
  bool primary_located = true;
  if (Status ok = ValidateLocation(primary.location); !ok) {
    primary_located = false;
    problems.push_back("primary " + Quoted(primary.name) + ": " + ok.error().detail);
  }
  for (std::size_t i = 0; i < remotes.size(); ++i) {
    if (Status ok = ValidateLocation(remotes[i].location); !ok) {
      problems.push_back("remote " + Quoted(remotes[i].name) + ": " + ok.error().detail);
    } else {
      located[i] = true;
    }
  }

  // BR §3.2.2.9: each remote >= 500 km from the primary and from every other remote.
  for (std::size_t i = 0; i < remotes.size(); ++i) {
    if (!located[i]) continue;
    if (primary_located) {
      const double km = DistanceKm(primary.location, remotes[i].location);
      if (km < kMinDistinctKm) {
        problems.push_back("remote " + Quoted(remotes[i].name) + " is " + Km(km) +
                           " from primary " + Quoted(primary.name) + " (BR 3.2.2.9 needs ≥ " +
                           Km(kMinDistinctKm) + ")");
      }
    }
    for (std::size_t j = i + 1; j < remotes.size(); ++j) {
      if (!located[j]) continue;
      const double km = DistanceKm(remotes[i].location, remotes[j].location);
      if (km < kMinDistinctKm) {
        problems.push_back("remotes " + Quoted(remotes[i].name) + " and " +
                           Quoted(remotes[j].name) + " are " + Km(km) +
                           " apart (BR 3.2.2.9 needs ≥ " + Km(kMinDistinctKm) + ")");
      }
    }
  }

  // Enough remotes for the policy.
  if (static_cast<int>(remotes.size()) < policy.min_remotes()) {
    problems.push_back(std::to_string(remotes.size()) + " remote perspective(s) configured; " +
                       policy.Describe() + " needs at least " +
                       std::to_string(policy.min_remotes()));
  }

  // RIR diversity must at least be available in the pool.
  if (policy.min_rirs() >= 2) {
    std::set<Rir> rirs;
    for (const Perspective& remote : remotes) rirs.insert(remote.rir);
    if (static_cast<int>(rirs.size()) < policy.min_rirs()) {
      std::string seen;
      for (Rir rir : rirs) seen += (seen.empty() ? "" : ", ") + std::string(RirName(rir));
      problems.push_back("remote perspectives span " + std::to_string(rirs.size()) + " RIR(s) (" +
                         (seen.empty() ? "none" : seen) + "); " + policy.Describe() +
                         " needs at least " + std::to_string(policy.min_rirs()));
    }
  }

  if (problems.empty()) return {};
  std::string detail = "perspective fleet does not satisfy the MPIC policy: ";
  for (std::size_t i = 0; i < problems.size(); ++i) {
    if (i > 0) detail += "; ";
    detail += problems[i];
  }
  return Fail(ProblemType::kMalformed, std::move(detail));
}

}  // namespace mpic::quorum
