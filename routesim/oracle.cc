#include "routesim/oracle.h"

#include <tuple>

namespace mpic::routesim::testing {
namespace {

class Staged {
 public:
  Staged(const Graph& graph, std::span<const Announcement> announcements, const TieBreak& tb,
         const std::vector<uint8_t>* rov, RouteTable* table)
      : g_(graph), anns_(announcements), tb_(tb), rov_(rov), t_(*table) {}

  void Run() {
    const size_t n = static_cast<size_t>(g_.size());
    t_.route_class.assign(n, RouteClass::kNone);
    t_.length.assign(n, 0);
    t_.next_hop.assign(n, kNoNode);
    t_.ann.assign(n, kNoAnnouncement);
    for (size_t i = 0; i < anns_.size(); ++i) {
      size_t v = static_cast<size_t>(anns_[i].origin);
      t_.route_class[v] = RouteClass::kOrigin;
      t_.length[v] = anns_[i].initial_length;
      t_.ann[v] = static_cast<uint8_t>(i);
    }
    StageUp();
    StagePeers();
    StageDown();
  }

 private:
  // Offers `from`'s route to `to` as `cls`; keeps it when better than what `to` holds in the
  // same class. Returns true when `to` had no route of this class before.
  bool Offer(NodeId from, NodeId to, RouteClass cls) {
    auto f = static_cast<size_t>(from);
    auto v = static_cast<size_t>(to);
    if (rov_ != nullptr && (*rov_)[v] != 0 && anns_[t_.ann[f]].rov_invalid) return false;
    const uint16_t length = static_cast<uint16_t>(t_.length[f] + 1);
    if (t_.route_class[v] == cls) {
      auto mine = std::make_tuple(t_.length[v], tb_.Key(g_.asn(to), g_.asn(t_.next_hop[v])),
                                  t_.next_hop[v]);
      auto theirs = std::make_tuple(length, tb_.Key(g_.asn(to), g_.asn(from)), from);
      if (theirs < mine) Set(to, from, cls, length);
      return false;
    }
    Set(to, from, cls, length);
    return true;
  }

  void Set(NodeId to, NodeId from, RouteClass cls, uint16_t length) {
    auto v = static_cast<size_t>(to);
    t_.route_class[v] = cls;
    t_.length[v] = length;
    t_.next_hop[v] = from;
    t_.ann[v] = t_.ann[static_cast<size_t>(from)];
  }

  void Bucket(std::vector<std::vector<NodeId>>& buckets, NodeId v) {
    size_t l = t_.length[static_cast<size_t>(v)];
    if (buckets.size() <= l) buckets.resize(l + 1);
    buckets[l].push_back(v);
  }

  void StageUp() {
    std::vector<std::vector<NodeId>> buckets;
    for (const Announcement& a : anns_) Bucket(buckets, a.origin);
    for (size_t level = 0; level < buckets.size(); ++level) {
      for (size_t i = 0; i < buckets[level].size(); ++i) {
        NodeId u = buckets[level][i];
        for (NodeId p : g_.providers(u)) {
          auto pv = static_cast<size_t>(p);
          if (t_.route_class[pv] == RouteClass::kOrigin) continue;
          // Settled at a shorter length already: later offers are longer.
          if (t_.route_class[pv] == RouteClass::kCustomer && t_.length[pv] <= level) continue;
          if (Offer(u, p, RouteClass::kCustomer)) Bucket(buckets, p);
        }
      }
    }
  }

  void StagePeers() {
    const auto n = static_cast<NodeId>(g_.size());
    std::vector<std::pair<NodeId, NodeId>> offers;  // (from, to), all from stage-1 state
    for (NodeId u = 0; u < n; ++u) {
      if (t_.route_class[static_cast<size_t>(u)] < RouteClass::kCustomer) continue;
      for (NodeId p : g_.peers(u)) {
        if (t_.route_class[static_cast<size_t>(p)] >= RouteClass::kCustomer) continue;
        offers.emplace_back(u, p);
      }
    }
    for (auto [from, to] : offers) Offer(from, to, RouteClass::kPeer);
  }

  void StageDown() {
    const auto n = static_cast<NodeId>(g_.size());
    std::vector<std::vector<NodeId>> buckets;
    for (NodeId v = 0; v < n; ++v) {
      if (t_.route_class[static_cast<size_t>(v)] != RouteClass::kNone) Bucket(buckets, v);
    }
    for (size_t level = 0; level < buckets.size(); ++level) {
      for (size_t i = 0; i < buckets[level].size(); ++i) {
        NodeId u = buckets[level][i];
        for (NodeId c : g_.customers(u)) {
          auto cv = static_cast<size_t>(c);
          if (t_.route_class[cv] >= RouteClass::kPeer) continue;
          if (t_.route_class[cv] == RouteClass::kProvider && t_.length[cv] <= level) continue;
          if (Offer(u, c, RouteClass::kProvider)) Bucket(buckets, c);
        }
      }
    }
  }

  const Graph& g_;
  std::span<const Announcement> anns_;
  const TieBreak& tb_;
  const std::vector<uint8_t>* rov_;
  RouteTable& t_;
};

}  // namespace

void PropagateStagedBfs(const Graph& graph, std::span<const Announcement> announcements,
                        const TieBreak& tie_break, const std::vector<uint8_t>* rov_adopters,
                        RouteTable* table) {
  Staged(graph, announcements, tie_break, rov_adopters, table).Run();
}

}  // namespace mpic::routesim::testing
