// Resilience of a perspective placement under a quorum policy (Birge-Lee et al. 2021,
// Cimaszewski et al. 2023): for each victim and a seeded random sample of adversary ASes,
// which perspectives the adversary captures (a bitset over the catalogue), and whether that
// capture lets it obtain a certificate under the policy. Resilience of a victim = the fraction
// of its adversaries that fail.
//
// The verdict is the fleet's own rule (quorum/): the BR §3.2.2.9 phase, non-corroboration
// table and two-RIR rule, or a research k-of-n policy. A captured perspective corroborates the
// attacker; an uncaptured one (including one with no route at all) sees the real victim and
// does not. Without a primary in the catalogue the primary is assumed captured (the worst case
// for the defender).
//
//   auto verdict = Verdict::Create(policy, identities, /*primary=*/0);
//   auto captures = ComputeCaptures(job, victims);   // many threads, one simulation each
//   std::vector<double> r = Resilience(captures, *verdict, verdict->remotes());
//   auto best = SearchPlacements(captures, identities, policy, 0, /*size=*/5, /*top=*/10, 2);
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "quorum/perspective.h"
#include "quorum/policy.h"
#include "routesim/attack.h"

namespace mpic::routesim {

inline constexpr int kMaxCatalogue = 64;

// Runs fn(worker, index) for index in [0, count) on `threads` std::threads (the caller's
// thread is one of them). Work is handed out one index at a time.
void ParallelFor(int threads, size_t count, const std::function<void(int, size_t)>& fn);

// Deterministic 64-bit generator (splitmix64): the same seed gives the same sample on every
// platform and library version.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next();
  // Uniform in [0, bound), bound > 0.
  uint64_t Below(uint64_t bound);

 private:
  uint64_t state_;
};

// `count` distinct real (non-pseudo) nodes, none in `exclude`, by seed; fewer if the graph
// has fewer. In sample order.
[[nodiscard]] std::vector<NodeId> SampleNodes(const Graph& graph, size_t count, uint64_t seed,
                                              std::span<const NodeId> exclude);

// A seeded fraction of the real ASes as ROV adopters: one flag per node.
[[nodiscard]] std::vector<uint8_t> SampleRovAdopters(const Graph& graph, double fraction,
                                                     uint64_t seed);

// The policy compiled for bitsets over a catalogue of perspectives; AttackerWins is exactly
// the decision quorum::Tally reaches (tests compare them on every capture set).
class Verdict {
 public:
  // `primary`: index into `catalogue`, or -1 for none (then assumed captured). kMalformed for
  // more than kMaxCatalogue perspectives or a bad primary index.
  [[nodiscard]] static Result<Verdict> Create(const quorum::Policy& policy,
                                              std::span<const quorum::Perspective> catalogue,
                                              int primary);

  // True when an attacker holding the `captured` perspectives obtains a certificate from a
  // fleet that uses the primary and the `remotes` (bits of catalogue indices).
  [[nodiscard]] bool AttackerWins(uint64_t captured, uint64_t remotes) const {
    const bool primary_captured = primary_ < 0 || ((captured >> primary_) & 1) != 0;
    if (!enforced_) return primary_captured;
    if (primary_required_ && !primary_captured) return false;
    const int used = __builtin_popcountll(remotes);
    if (used < min_remotes_) return false;
    const uint64_t corroborating = captured & remotes;
    if (__builtin_popcountll(corroborating) < required_[static_cast<size_t>(used)]) return false;
    if (min_rirs_ < 2) return true;
    int rirs = 0;
    for (uint64_t mask : rir_masks_) rirs += (corroborating & mask) != 0 ? 1 : 0;
    return rirs >= min_rirs_;
  }

  // Every catalogue perspective but the primary.
  [[nodiscard]] uint64_t remotes() const { return remotes_; }
  [[nodiscard]] int primary() const { return primary_; }

 private:
  Verdict() = default;
  int primary_ = -1;
  bool enforced_ = true;
  bool primary_required_ = true;
  int min_remotes_ = 0;
  int min_rirs_ = 0;
  std::vector<int> required_;  // by number of remotes used, 0..kMaxCatalogue
  std::vector<uint64_t> rir_masks_;
  uint64_t remotes_ = 0;
};

// A victim: one or more origin ASes (web server, name servers); the union of their capture is
// the attack surface.
struct Victim {
  std::string name;
  std::vector<NodeId> origins;
};

struct CaptureJob {
  const Graph* graph = nullptr;
  TieBreak tie_break;
  AttackKind attack = AttackKind::kOrigin;
  const std::vector<uint8_t>* rov_adopters = nullptr;
  std::vector<NodeId> perspectives;  // catalogue order, <= kMaxCatalogue
  size_t adversaries = 1000;         // per victim
  uint64_t seed = 1;                 // adversary sample; victim i uses a seed derived from it
  int threads = 1;
};

struct VictimCaptures {
  std::string name;
  std::vector<Asn> origins;
  std::vector<Asn> adversaries;    // real ASes, never one of the origins
  std::vector<uint64_t> captured;  // per adversary: perspectives whose packets reach it
  // Per perspective: simulations (adversary x origin) in which it had no route to the victim
  // (counted as not captured).
  std::vector<uint32_t> no_route;
  size_t simulations = 0;
};

// `global_index[i]`: victim i's index in the whole run (its adversary sample depends on it, so a
// shard computes exactly what the whole run would). Parallel over victims.
[[nodiscard]] std::vector<VictimCaptures> ComputeCaptures(const CaptureJob& job,
                                                          std::span<const Victim> victims,
                                                          std::span<const size_t> global_index);

// Per victim: fraction of adversaries that fail against the primary plus `remotes`
// (1.0 for a victim without adversaries).
[[nodiscard]] std::vector<double> Resilience(std::span<const VictimCaptures> captures,
                                             const Verdict& verdict, uint64_t remotes);

struct Summary {
  double median = 0;
  double mean = 0;
  double min = 0;
  double max = 0;
};
[[nodiscard]] Summary Summarize(std::span<const double> values);

// Config-time check of one placement (quorum::ValidateFleet with a primary; without one, the
// same 500 km, count and RIR checks among the remotes).
[[nodiscard]] Status CheckPlacement(const quorum::Policy& policy,
                                    std::span<const quorum::Perspective> catalogue, int primary,
                                    uint64_t remotes);

struct Placement {
  uint64_t remotes = 0;  // catalogue bits
  Summary summary;
  std::vector<double> per_victim;
};

struct PlacementSearch {
  std::vector<Placement> ranked;  // best first: median, then mean, then lowest bits
  size_t evaluated = 0;
  size_t rejected = 0;  // subsets the policy's fleet check refuses (e.g. closer than 500 km)
  std::string first_rejection;
};

// Ranks every `size`-subset of the catalogue's remotes by median resilience, from the
// capture bitsets alone. kMalformed when there are more than 10 million subsets.
[[nodiscard]] Result<PlacementSearch> SearchPlacements(
    std::span<const VictimCaptures> captures, std::span<const quorum::Perspective> catalogue,
    const quorum::Policy& policy, int primary, int size, int top, int threads);

}  // namespace mpic::routesim
