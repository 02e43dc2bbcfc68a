// Properties on generated Internet-like graphs: the three-phase algorithm and the staged-BFS
// oracle agree route for route; every selected route is valley-free and shortest within its
// class; swapping victim and attacker mirrors the outcome (the tie-breaks never look at which
// announcement a route carries).
#include <gtest/gtest.h>

#include <algorithm>

#include "routesim/attack.h"
#include "routesim/generator.h"
#include "routesim/oracle.h"
#include "routesim/resilience.h"

namespace mpic::routesim {
namespace {

Graph Generated(int ases, uint64_t seed) {
  auto g = Graph::Build(GenerateTopology(GeneratorOptions{.ases = ases, .seed = seed}));
  EXPECT_TRUE(g) << g.error().detail;
  return std::move(*g);
}

bool Contains(std::span<const NodeId> list, NodeId v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

TEST(PropertyTest, GeneratorIsDeterministicAndAcyclic) {
  Topology a = GenerateTopology(GeneratorOptions{.ases = 2000, .seed = 9});
  Topology b = GenerateTopology(GeneratorOptions{.ases = 2000, .seed = 9});
  Topology c = GenerateTopology(GeneratorOptions{.ases = 2000, .seed = 10});
  EXPECT_EQ(a.links, b.links);
  EXPECT_NE(a.links, c.links);
  auto g = Graph::Build(a);
  ASSERT_TRUE(g) << g.error().detail;
  EXPECT_EQ(g->size(), 2000);
  EXPECT_GT(g->link_count(), 2000u * 3);
}

TEST(PropertyTest, BothFormulationsAgreeRouteForRoute) {
  for (uint64_t seed : {1, 2, 3}) {
    Graph g = Generated(3000, seed);
    std::vector<uint8_t> rov = SampleRovAdopters(g, 0.3, seed);
    Rng rng(seed * 77);
    for (int run = 0; run < 12; ++run) {
      auto v = static_cast<NodeId>(rng.Below(static_cast<uint64_t>(g.size())));
      auto a = static_cast<NodeId>(rng.Below(static_cast<uint64_t>(g.size())));
      if (v == a) continue;
      TieBreak tb{static_cast<TieBreakKind>(run % 3), seed + static_cast<uint64_t>(run)};
      std::vector<Announcement> anns{{v}, {a, static_cast<uint16_t>(1 + run % 2), run % 2 == 0, 0}};
      const std::vector<uint8_t>* adopters = run % 4 < 2 ? &rov : nullptr;
      RouteTable fast;
      RouteTable oracle;
      Propagate(g, anns, tb, adopters, &fast);
      testing::PropagateStagedBfs(g, anns, tb, adopters, &oracle);
      ASSERT_EQ(fast.route_class, oracle.route_class) << "seed " << seed << " run " << run;
      ASSERT_EQ(fast.length, oracle.length) << "seed " << seed << " run " << run;
      ASSERT_EQ(fast.next_hop, oracle.next_hop) << "seed " << seed << " run " << run;
      ASSERT_EQ(fast.ann, oracle.ann) << "seed " << seed << " run " << run;
    }
  }
}

TEST(PropertyTest, EveryRouteIsValleyFreeAndShortestInItsClass) {
  Graph g = Generated(4000, 5);
  Rng rng(5);
  RouteTable t;
  for (int run = 0; run < 8; ++run) {
    auto v = static_cast<NodeId>(rng.Below(static_cast<uint64_t>(g.size())));
    auto a = static_cast<NodeId>((v + 1 + static_cast<NodeId>(rng.Below(100))) % g.size());
    std::vector<Announcement> anns{{v}, {a, 1, true, 0}};
    Propagate(g, anns, TieBreak{TieBreakKind::kHash, 3}, nullptr, &t);
    size_t routed = 0;
    for (NodeId x = 0; x < g.size(); ++x) {
      auto i = static_cast<size_t>(x);
      RouteClass cls = t.route_class[i];
      if (cls == RouteClass::kNone || cls == RouteClass::kOrigin) continue;
      ++routed;
      NodeId next = t.next_hop[i];
      auto n = static_cast<size_t>(next);
      ASSERT_EQ(t.length[i], t.length[n] + 1);
      ASSERT_EQ(t.ann[i], t.ann[n]);
      // Valley-free: a customer or peer route comes from a neighbour whose own route came
      // from its customers (or is its own); a provider route may carry anything.
      switch (cls) {
        case RouteClass::kCustomer:
          ASSERT_TRUE(Contains(g.customers(x), next));
          ASSERT_GE(t.route_class[n], RouteClass::kCustomer);
          break;
        case RouteClass::kPeer:
          ASSERT_TRUE(Contains(g.peers(x), next));
          ASSERT_GE(t.route_class[n], RouteClass::kCustomer);
          break;
        default:
          ASSERT_TRUE(Contains(g.providers(x), next));
          break;
      }
      // Best class and shortest: no neighbour offers a better route.
      for (NodeId c : g.customers(x)) {
        if (t.route_class[static_cast<size_t>(c)] < RouteClass::kCustomer) continue;
        ASSERT_EQ(cls, RouteClass::kCustomer);
        ASSERT_LE(t.length[i], t.length[static_cast<size_t>(c)] + 1);
      }
      if (cls <= RouteClass::kPeer) {
        for (NodeId p : g.peers(x)) {
          if (t.route_class[static_cast<size_t>(p)] < RouteClass::kCustomer) continue;
          ASSERT_EQ(cls, RouteClass::kPeer);
          ASSERT_LE(t.length[i], t.length[static_cast<size_t>(p)] + 1);
        }
      }
      if (cls == RouteClass::kProvider) {
        for (NodeId p : g.providers(x)) {
          if (t.route_class[static_cast<size_t>(p)] == RouteClass::kNone) continue;
          ASSERT_LE(t.length[i], t.length[static_cast<size_t>(p)] + 1);
        }
      }
    }
    EXPECT_GT(routed, static_cast<size_t>(g.size()) / 2);
  }
}

TEST(PropertyTest, SwappingVictimAndAttackerMirrors) {
  Graph g = Generated(3000, 11);
  Rng rng(11);
  for (TieBreak tb : {TieBreak{TieBreakKind::kLowestAsn, 0}, TieBreak{TieBreakKind::kHash, 8}}) {
    Simulator one(g, tb, nullptr);
    Simulator two(g, tb, nullptr);
    for (int run = 0; run < 10; ++run) {
      auto v = static_cast<NodeId>(rng.Below(static_cast<uint64_t>(g.size())));
      auto a = static_cast<NodeId>(rng.Below(static_cast<uint64_t>(g.size())));
      if (v == a) continue;
      one.Run(v, a, AttackKind::kOrigin);
      two.Run(a, v, AttackKind::kOrigin);
      size_t captured = 0;
      for (NodeId x = 0; x < g.size(); ++x) {
        Reach r1 = one.ReachOf(x);
        Reach r2 = two.ReachOf(x);
        if (r1 == Reach::kAttacker) ++captured;
        ASSERT_EQ(r1 == Reach::kNoRoute, r2 == Reach::kNoRoute);
        if (r1 != Reach::kNoRoute) {
          ASSERT_NE(r1, r2) << "AS" << g.asn(x);
        }
      }
      EXPECT_GT(captured, 0u);
    }
  }
}

}  // namespace
}  // namespace mpic::routesim
