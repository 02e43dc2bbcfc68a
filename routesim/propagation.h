// Gao-Rexford route propagation for one prefix on the AS graph.
//
// Policy model (Gao & Rexford 2001, as in the MPIC papers): an AS prefers a route learned from
// a customer over one from a peer over one from a provider; among routes of the same class the
// shorter AS path; then a tie-break on the neighbour offering it (TieBreak, printed with every
// result because published numbers depend on it). Export is valley-free: routes from customers
// (and the AS's own) go to everyone; routes from peers and providers go to customers only.
//
// Propagate() is the rank-based three-phase algorithm: (1) customer routes travel up, each AS
// visited after all its customers (Graph::up_order) taking the best offer of its customers;
// (2) one hop across peer links; (3) routes travel down, each AS visited after all its
// providers. Every link is looked at once per phase: O(V + E) per prefix.
//
//   mpic::routesim::RouteTable table;
//   std::vector<Announcement> ann{{victim_node}, {attacker_node}};
//   Propagate(graph, ann, TieBreak{}, nullptr, &table);
//   // table.ann[v]: which announcement AS v selected (kNoAnnouncement if none)
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "routesim/graph.h"

namespace mpic::routesim {

enum class TieBreakKind { kLowestAsn, kHighestAsn, kHash };

// Among equally preferred routes of the same length, the neighbour with the lowest key wins:
// lowest-asn (key = its ASN), highest-asn (key = -ASN) or hash (a 64-bit mix of salt, the
// choosing AS's ASN and the neighbour's ASN: an arbitrary but fixed preference per AS, like a
// router ID). Neighbours with equal keys (pseudo-ASes sharing an ASN) go by node index.
struct TieBreak {
  TieBreakKind kind = TieBreakKind::kLowestAsn;
  uint64_t salt = 0;

  // "lowest-asn", "highest-asn", "hash" (salt 0) or "hash:SALT" (decimal).
  [[nodiscard]] static Result<TieBreak> Parse(std::string_view text);
  // The same spelling; Parse(Describe()) round-trips.
  [[nodiscard]] std::string Describe() const;

  [[nodiscard]] uint64_t Key(Asn self, Asn neighbor) const {
    switch (kind) {
      case TieBreakKind::kLowestAsn:
        return neighbor;
      case TieBreakKind::kHighestAsn:
        return ~uint64_t{neighbor};
      case TieBreakKind::kHash:
        break;
    }
    uint64_t x = salt ^ ((uint64_t{self} << 32) | neighbor);
    x += 0x9e3779b97f4a7c15ull;  // splitmix64
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  }
};

// The class of a selected route, in order of preference.
enum class RouteClass : uint8_t { kNone = 0, kProvider = 1, kPeer = 2, kCustomer = 3, kOrigin = 4 };

[[nodiscard]] std::string_view RouteClassName(RouteClass route_class);

// One announcement of the prefix.
struct Announcement {
  NodeId origin = kNoNode;
  // AS path length as originated: 1, or 2 for a forged-origin announcement ("origin victim").
  uint16_t initial_length = 1;
  // ROV-invalid (the origin does not match the ROA, or the prefix is longer than its
  // maxLength): ROV adopters neither select nor forward it.
  bool rov_invalid = false;
  // The AS the path claims as origin when forged (0: none).
  Asn claimed_origin = 0;
};

inline constexpr uint8_t kNoAnnouncement = 0xFF;

// Per node: the selected route. Reused between runs (no allocation once sized).
struct RouteTable {
  std::vector<RouteClass> route_class;
  std::vector<uint16_t> length;  // AS path length, the AS itself included
  std::vector<NodeId> next_hop;  // kNoNode for the origin or no route
  std::vector<uint8_t> ann;      // index into the announcements, or kNoAnnouncement

  void Reset(size_t n);
  [[nodiscard]] bool has_route(NodeId node) const {
    return route_class[static_cast<size_t>(node)] != RouteClass::kNone;
  }
};

// `rov_adopters`: nullptr, or one flag per node. At most 254 announcements, distinct origins.
void Propagate(const Graph& graph, std::span<const Announcement> announcements,
               const TieBreak& tie_break, const std::vector<uint8_t>* rov_adopters,
               RouteTable* table);

// The AS path `node` selected, from itself to the origin (plus the claimed origin of a forged
// announcement). Empty when it has no route.
[[nodiscard]] std::vector<NodeId> PathOf(const RouteTable& table, NodeId node);

}  // namespace mpic::routesim
