// Internet-like AS graphs for tests and benchmarks (CAIDA data is licensed and never
// committed). Deterministic by seed on every platform (own RNG, no std distributions).
//
// Shape: a clique of tier-1 ASes that all peer; every later AS buys transit from 1-4 earlier
// ASes chosen by preferential attachment (weight 1 + customers), so the provider graph is
// acyclic and heavy-tailed like the real one; then peer links between ASes picked the same
// way (IXP-style peering concentrates on large networks), never doubling an existing link.
// ASNs are a seeded permutation so tie-breaks do not follow the tiers.
//
//   GeneratorOptions options{.ases = 80000, .seed = 7};
//   Topology topo = GenerateTopology(options);  // ~80k ASes, ~450k links
#pragma once

#include <cstdint>

#include "routesim/topology.h"

namespace mpic::routesim {

struct GeneratorOptions {
  int ases = 1000;  // >= tier1 + 1
  uint64_t seed = 1;
  int tier1 = 16;                  // the peering clique at the top
  double peer_links_per_as = 3.6;  // peer links / ASes (CAIDA 2024: ~5 with IXP data)
};

[[nodiscard]] Topology GenerateTopology(const GeneratorOptions& options);

}  // namespace mpic::routesim
