#include "routesim/generator.h"

#include <algorithm>
#include <unordered_set>
#include <vector>

#include "routesim/resilience.h"

namespace mpic::routesim {

Topology GenerateTopology(const GeneratorOptions& options) {
  const int n = std::max(options.ases, options.tier1 + 1);
  const int tier1 = std::max(2, std::min(options.tier1, n - 1));
  Rng rng(options.seed);
  // ASNs: a permutation of 1..4n (sparse like real ASNs), first n used.
  std::vector<Asn> asn(static_cast<size_t>(4 * n));
  for (size_t i = 0; i < asn.size(); ++i) asn[i] = static_cast<Asn>(i + 1);
  for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
    size_t j = i + static_cast<size_t>(rng.Below(asn.size() - i));
    std::swap(asn[i], asn[j]);
  }
  Topology topo;
  std::unordered_set<uint64_t> linked;
  auto key = [](int a, int b) {
    return (uint64_t{static_cast<uint32_t>(std::min(a, b))} << 32) |
           static_cast<uint32_t>(std::max(a, b));
  };
  auto link = [&](int a, int b, Rel rel) {
    if (a == b || !linked.insert(key(a, b)).second) return false;
    topo.links.push_back(Link{asn[static_cast<size_t>(a)], asn[static_cast<size_t>(b)], rel});
    return true;
  };
  for (int a = 0; a < tier1; ++a) {
    for (int b = a + 1; b < tier1; ++b) link(a, b, Rel::kPeer);
  }
  // Preferential attachment urn: each AS once, plus once per customer.
  std::vector<int> urn;
  urn.reserve(static_cast<size_t>(4 * n));
  for (int a = 0; a < tier1; ++a) {
    for (int w = 0; w < 8; ++w) urn.push_back(a);  // tier-1s start heavy
  }
  for (int v = tier1; v < n; ++v) {
    // 1 provider 45 %, 2: 35 %, 3: 15 %, 4: 5 %.
    uint64_t roll = rng.Below(100);
    int providers = roll < 45 ? 1 : roll < 80 ? 2 : roll < 95 ? 3 : 4;
    for (int p = 0, tries = 0; p < providers && tries < 32; ++tries) {
      int provider = urn[static_cast<size_t>(rng.Below(urn.size()))];
      if (link(provider, v, Rel::kProviderToCustomer)) {
        urn.push_back(provider);
        ++p;
      }
    }
    urn.push_back(v);
  }
  const auto peer_links = static_cast<size_t>(options.peer_links_per_as * n);
  for (size_t made = 0, tries = 0; made < peer_links && tries < 8 * peer_links; ++tries) {
    int a = urn[static_cast<size_t>(rng.Below(urn.size()))];
    // Half of the peer links go to any AS (small networks at IXPs), half preferentially.
    int b = rng.Below(2) == 0 ? urn[static_cast<size_t>(rng.Below(urn.size()))]
                              : static_cast<int>(rng.Below(static_cast<uint64_t>(n)));
    if (link(a, b, Rel::kPeer)) ++made;
  }
  return topo;
}

}  // namespace mpic::routesim
