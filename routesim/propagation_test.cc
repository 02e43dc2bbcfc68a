// Hand-drawn graphs with every route worked out by hand. V = victim (AS1), A = attacker (AS2).
// Links ("a > b": a is a provider of b; "a = b": a and b peer):
//
//   100 = 200      100 > 1, 100 > 10, 200 > 2, 200 > 20, 200 > 70
//   10 = 20        10 > 11, 2 > 11            (11 is multi-homed: 10 and the attacker)
//   100 = 60       2 > 60
//   1 > 50         2 > 50                     (50 is multi-homed: V and A, a tie)
//   2 > 300 > 301 > 1                         (V reaches 300 as a customer route, length 3)
#include "routesim/propagation.h"

#include <gtest/gtest.h>

#include "routesim/attack.h"
#include "routesim/oracle.h"

namespace mpic::routesim {
namespace {

constexpr const char* kHand =
    "100|200|0\n"
    "100|1|-1\n"
    "100|10|-1\n"
    "200|2|-1\n"
    "200|20|-1\n"
    "10|11|-1\n"
    "10|20|0\n"
    "2|11|-1\n"
    "1|50|-1\n"
    "2|50|-1\n"
    "300|301|-1\n"
    "301|1|-1\n"
    "2|300|-1\n"
    "100|60|0\n"
    "2|60|-1\n"
    "200|70|-1\n";

class HandGraph : public ::testing::Test {
 protected:
  void SetUp() override {
    auto topo = ParseTopology(kHand, "hand");
    ASSERT_TRUE(topo) << topo.error().detail;
    auto g = Graph::Build(*topo);
    ASSERT_TRUE(g) << g.error().detail;
    graph_.emplace(std::move(*g));
  }
  NodeId N(Asn asn) const { return *graph_->Find(asn); }

  // Runs both formulations and checks they agree before returning the table.
  RouteTable Run(std::vector<Announcement> anns, TieBreak tb = {},
                 const std::vector<uint8_t>* rov = nullptr) {
    RouteTable fast;
    RouteTable oracle;
    Propagate(*graph_, anns, tb, rov, &fast);
    testing::PropagateStagedBfs(*graph_, anns, tb, rov, &oracle);
    EXPECT_EQ(fast.route_class, oracle.route_class);
    EXPECT_EQ(fast.length, oracle.length);
    EXPECT_EQ(fast.next_hop, oracle.next_hop);
    EXPECT_EQ(fast.ann, oracle.ann);
    return fast;
  }
  std::vector<Announcement> Hijack() { return {{N(1)}, {N(2), 1, true, 0}}; }

  // "AS, class, length, next hop ASN (0 none), announcement (0 victim, 1 attacker)".
  void Expect(const RouteTable& t, Asn asn, RouteClass cls, int len, Asn next, int ann) {
    auto v = static_cast<size_t>(N(asn));
    EXPECT_EQ(t.route_class[v], cls) << "AS" << asn;
    EXPECT_EQ(t.length[v], len) << "AS" << asn;
    EXPECT_EQ(t.next_hop[v] == kNoNode ? 0u : graph_->asn(t.next_hop[v]), next) << "AS" << asn;
    EXPECT_EQ(t.ann[v], ann) << "AS" << asn;
  }

  std::optional<Graph> graph_;
};

TEST_F(HandGraph, OriginHijackPreferenceAndValleys) {
  RouteTable t = Run(Hijack());
  Expect(t, 1, RouteClass::kOrigin, 1, 0, 0);
  Expect(t, 2, RouteClass::kOrigin, 1, 0, 1);
  // 100: customer route to V (len 2) beats the peer route from 200 (A, len 3).
  Expect(t, 100, RouteClass::kCustomer, 2, 1, 0);
  Expect(t, 200, RouteClass::kCustomer, 2, 2, 1);
  // 301 > 1: customer route. 300: customer route via 301 (V, len 3) beats the SHORTER
  // provider route from 2 (A, len 2): customer > provider regardless of length.
  Expect(t, 301, RouteClass::kCustomer, 2, 1, 0);
  Expect(t, 300, RouteClass::kCustomer, 3, 301, 0);
  // 60: the peer route from 100 (V, len 3) beats the shorter provider route from 2 (len 2).
  Expect(t, 60, RouteClass::kPeer, 3, 100, 0);
  // 10 learns V from its provider 100 only; 20's route is from its provider, and a provider
  // route is never exported to a peer (no valley), so 10 does not hear A from 20.
  Expect(t, 10, RouteClass::kProvider, 3, 100, 0);
  Expect(t, 20, RouteClass::kProvider, 3, 200, 1);
  // 11 has providers 10 (V, len 3) and 2 (A, len 1): the shorter provider route wins, and 11
  // exports it to no provider (10 keeps V).
  Expect(t, 11, RouteClass::kProvider, 2, 2, 1);
  Expect(t, 70, RouteClass::kProvider, 3, 200, 1);
  // 50: providers 1 and 2 both offer length 2: the tie-break decides (lowest ASN: AS1).
  Expect(t, 50, RouteClass::kProvider, 2, 1, 0);
}

TEST_F(HandGraph, TiesUnderEachTieBreak) {
  Expect(Run(Hijack(), *TieBreak::Parse("lowest-asn")), 50, RouteClass::kProvider, 2, 1, 0);
  Expect(Run(Hijack(), *TieBreak::Parse("highest-asn")), 50, RouteClass::kProvider, 2, 2, 1);
  // hash: the neighbour with the lower Key(50, neighbour) wins; find one salt of each outcome.
  bool saw_victim = false;
  bool saw_attacker = false;
  for (uint64_t salt = 0; salt < 64; ++salt) {
    TieBreak tb{TieBreakKind::kHash, salt};
    RouteTable t = Run(Hijack(), tb);
    const bool via_1 = tb.Key(50, 1) < tb.Key(50, 2);
    Expect(t, 50, RouteClass::kProvider, 2, via_1 ? 1 : 2, via_1 ? 0 : 1);
    (via_1 ? saw_victim : saw_attacker) = true;
  }
  EXPECT_TRUE(saw_victim && saw_attacker);
  EXPECT_EQ(TieBreak::Parse("hash:42")->Describe(), "hash:42");
  EXPECT_FALSE(TieBreak::Parse("hash:"));
  EXPECT_FALSE(TieBreak::Parse("random"));
}

TEST_F(HandGraph, RovAdopterDropsInvalidOriginButNotForgedOrigin) {
  std::vector<uint8_t> rov(static_cast<size_t>(graph_->size()), 0);
  rov[static_cast<size_t>(N(11))] = 1;
  // 11 refuses A's invalid route and takes V from 10 (len 4).
  Expect(Run(Hijack(), {}, &rov), 11, RouteClass::kProvider, 4, 10, 0);
  // Forged origin "2 1": ROV-valid, one hop longer at the start (len 2 at AS2).
  std::vector<Announcement> forged{{N(1)}, {N(2), 2, false, 1}};
  RouteTable t = Run(forged, {}, &rov);
  Expect(t, 2, RouteClass::kOrigin, 2, 0, 1);
  Expect(t, 11, RouteClass::kProvider, 3, 2, 1);  // via 2: 3 < 4 through 10
  // 50's tie is gone: via 1 is length 2, via 2 length 3.
  Expect(t, 50, RouteClass::kProvider, 2, 1, 0);
  // 200: customer route via 2 (len 3) still beats the peer route from 100 (len 3).
  Expect(t, 200, RouteClass::kCustomer, 3, 2, 1);
}

TEST_F(HandGraph, SubprefixIsDecidedOnTheDataPlane) {
  // ROV adopters 100, 301 and 70 drop the more specific (it is ROV-invalid).
  std::vector<uint8_t> rov(static_cast<size_t>(graph_->size()), 0);
  for (Asn a : {100, 301, 70}) rov[static_cast<size_t>(N(a))] = 1;
  Simulator sim(*graph_, TieBreak{}, &rov);
  sim.Run(N(1), N(2), AttackKind::kSubprefix);
  const RouteTable& more = sim.specific();
  // The more specific reaches 200 (customer), 300 (provider), 20, 11, 60, 50 (from 2) but not
  // 100, 301 (adopters), 1 (its providers are adopters), 10 (provider 100 has none; 20's route
  // is a provider route and not exported to peer 10) or 70 (adopter).
  for (Asn a : {200, 300, 20, 11, 60, 50}) EXPECT_TRUE(more.has_route(N(a))) << a;
  for (Asn a : {100, 301, 1, 10, 70}) EXPECT_FALSE(more.has_route(N(a))) << a;
  // Covering prefix (V alone): 70 -> 200 (200's covering route is the customer route through
  // 2 -> 300 -> 301 -> 1). 70 never selected the attacker's route, but its packets enter 200,
  // which has the more specific: captured.
  EXPECT_EQ(sim.ReachOf(N(70)), Reach::kAttacker);
  EXPECT_EQ(PathOf(sim.covering(), N(70)).size(), 6u);  // 70 200 2 300 301 1
  EXPECT_EQ(sim.ReachOf(N(10)), Reach::kVictim);        // 10 -> 100 -> 1, none has it
  EXPECT_EQ(sim.ReachOf(N(100)), Reach::kVictim);
  EXPECT_EQ(sim.ReachOf(N(1)), Reach::kVictim);
  EXPECT_EQ(sim.ReachOf(N(11)), Reach::kAttacker);
  EXPECT_EQ(sim.ReachOf(N(2)), Reach::kAttacker);
  // Without ROV everyone, the victim's own AS included (longest-prefix match), is captured.
  Simulator open(*graph_, TieBreak{}, nullptr);
  open.Run(N(1), N(2), AttackKind::kSubprefix);
  for (NodeId v = 0; v < graph_->size(); ++v) EXPECT_EQ(open.ReachOf(v), Reach::kAttacker);
}

TEST_F(HandGraph, NoAttackReachesEveryone) {
  Simulator sim(*graph_, TieBreak{}, nullptr);
  sim.Run(N(1), kNoNode, AttackKind::kNone);
  for (NodeId v = 0; v < graph_->size(); ++v) EXPECT_EQ(sim.ReachOf(v), Reach::kVictim);
  // 20: provider 200 -> 200 customer via 2 -> 300 -> 301 -> 1.
  std::vector<NodeId> path = PathOf(sim.covering(), N(20));
  std::vector<Asn> asns;
  for (NodeId v : path) asns.push_back(graph_->asn(v));
  EXPECT_EQ(asns, (std::vector<Asn>{20, 200, 2, 300, 301, 1}));
}

TEST(PropagationTest, UnreachableAsHasNoRoute) {
  // 1 > 2, 3 > 4: two islands. 4 never hears 1's prefix.
  auto topo = ParseTopology("1|2|-1\n3|4|-1\n", "t");
  auto g = Graph::Build(*topo);
  ASSERT_TRUE(g);
  Simulator sim(*g, TieBreak{}, nullptr);
  sim.Run(*g->Find(1), *g->Find(3), AttackKind::kOrigin);
  EXPECT_EQ(sim.ReachOf(*g->Find(2)), Reach::kVictim);
  EXPECT_EQ(sim.ReachOf(*g->Find(4)), Reach::kAttacker);
  sim.Run(*g->Find(1), kNoNode, AttackKind::kNone);
  EXPECT_EQ(sim.ReachOf(*g->Find(4)), Reach::kNoRoute);
}

TEST(PropagationTest, PeerRoutesCrossOnePeerLinkOnly) {
  // 1 = 2 = 3, 4 > 3 and 2 > 5: 2 learns AS1's prefix from its peer; a peer route goes only to
  // customers (5), so 3 and its provider 4 never hear it: no two-peer-hop path.
  auto topo = ParseTopology("1|2|0\n2|3|0\n4|3|-1\n2|5|-1\n", "t");
  auto g = Graph::Build(*topo);
  ASSERT_TRUE(g);
  RouteTable t;
  std::vector<Announcement> ann{{*g->Find(1)}};
  Propagate(*g, ann, TieBreak{}, nullptr, &t);
  EXPECT_EQ(t.route_class[static_cast<size_t>(*g->Find(2))], RouteClass::kPeer);
  EXPECT_EQ(t.route_class[static_cast<size_t>(*g->Find(5))], RouteClass::kProvider);
  EXPECT_FALSE(t.has_route(*g->Find(3)));
  EXPECT_FALSE(t.has_route(*g->Find(4)));
}

}  // namespace
}  // namespace mpic::routesim
