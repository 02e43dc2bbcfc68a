#include "routesim/graph.h"

#include <algorithm>
#include <array>

namespace mpic::routesim {

std::string Graph::Label(NodeId node) const {
  if (!is_pseudo(node)) return "AS" + std::to_string(asn(node));
  return "pseudo:" + pseudo_names_[static_cast<size_t>(pseudo_index_[static_cast<size_t>(node)])] +
         "(AS" + std::to_string(asn(node)) + ")";
}

std::optional<NodeId> Graph::Find(Asn value) const {
  auto it = std::lower_bound(by_asn_.begin(), by_asn_.end(), std::make_pair(value, NodeId{0}));
  if (it == by_asn_.end() || it->first != value) return std::nullopt;
  return it->second;
}

std::optional<NodeId> Graph::FindPseudo(const std::string& name) const {
  for (size_t v = 0; v < pseudo_index_.size(); ++v) {
    int32_t i = pseudo_index_[v];
    if (i >= 0 && pseudo_names_[static_cast<size_t>(i)] == name) return static_cast<NodeId>(v);
  }
  return std::nullopt;
}

Result<Graph> Graph::Build(const Topology& topology, std::span<const PseudoAs> pseudo) {
  Graph g;
  std::vector<Asn> asns;
  asns.reserve(topology.links.size() * 2);
  for (const Link& link : topology.links) {
    asns.push_back(link.a);
    asns.push_back(link.b);
  }
  std::sort(asns.begin(), asns.end());
  asns.erase(std::unique(asns.begin(), asns.end()), asns.end());
  g.asn_ = asns;
  g.real_count_ = static_cast<int>(asns.size());
  g.by_asn_.reserve(asns.size());
  for (size_t i = 0; i < asns.size(); ++i) g.by_asn_.emplace_back(asns[i], static_cast<NodeId>(i));
  g.pseudo_index_.assign(asns.size(), -1);

  // Directed edges (provider, customer) and unordered peer pairs, as node indices.
  struct Edge {
    NodeId from;
    NodeId to;
    Role role;  // what `to` is to `from`
  };
  std::vector<Edge> edges;
  edges.reserve(topology.links.size() * 2 + 16);
  auto add = [&edges](NodeId a, NodeId b, Rel rel) {
    if (rel == Rel::kPeer) {
      edges.push_back({a, b, Role::kPeer});
      edges.push_back({b, a, Role::kPeer});
    } else {
      edges.push_back({a, b, Role::kCustomer});
      edges.push_back({b, a, Role::kProvider});
    }
  };
  for (const Link& link : topology.links) add(*g.Find(link.a), *g.Find(link.b), link.rel);
  for (const PseudoAs& p : pseudo) {
    if (p.name.empty()) return Fail(ProblemType::kMalformed, "a pseudo-AS has no name");
    if (std::find(g.pseudo_names_.begin(), g.pseudo_names_.end(), p.name) !=
        g.pseudo_names_.end()) {
      return Fail(ProblemType::kMalformed, "pseudo-AS \"" + p.name + "\" defined twice");
    }
    if (p.neighbors.empty()) {
      return Fail(ProblemType::kMalformed, "pseudo-AS \"" + p.name + "\" has no neighbour");
    }
    NodeId self = static_cast<NodeId>(g.asn_.size());
    g.asn_.push_back(p.asn);
    g.pseudo_index_.push_back(static_cast<int32_t>(g.pseudo_names_.size()));
    g.pseudo_names_.push_back(p.name);
    std::vector<NodeId> seen;
    for (const PseudoAs::Neighbor& n : p.neighbors) {
      auto other = g.Find(n.asn);
      if (!other) {
        return Fail(ProblemType::kMalformed, "pseudo-AS \"" + p.name + "\": neighbour AS" +
                                                 std::to_string(n.asn) + " is not in the graph");
      }
      if (std::find(seen.begin(), seen.end(), *other) != seen.end()) {
        return Fail(ProblemType::kMalformed, "pseudo-AS \"" + p.name + "\": neighbour AS" +
                                                 std::to_string(n.asn) + " listed twice");
      }
      seen.push_back(*other);
      switch (n.role) {
        case Role::kProvider:
          add(*other, self, Rel::kProviderToCustomer);
          break;
        case Role::kCustomer:
          add(self, *other, Rel::kProviderToCustomer);
          break;
        case Role::kPeer:
          add(self, *other, Rel::kPeer);
          break;
      }
    }
  }

  const size_t n = g.asn_.size();
  g.offsets_.assign(3 * n + 1, 0);
  for (const Edge& e : edges) {
    ++g.offsets_[3 * static_cast<size_t>(e.from) + static_cast<size_t>(e.role) + 1];
  }
  for (size_t i = 1; i < g.offsets_.size(); ++i) g.offsets_[i] += g.offsets_[i - 1];
  g.adjacency_.assign(edges.size(), kNoNode);
  std::vector<uint32_t> fill(g.offsets_.begin(), g.offsets_.end() - 1);
  for (const Edge& e : edges) {
    g.adjacency_[fill[3 * static_cast<size_t>(e.from) + static_cast<size_t>(e.role)]++] = e.to;
  }

  // Kahn's algorithm on customer -> provider edges.
  std::vector<uint32_t> pending(n);
  g.up_order_.reserve(n);
  for (size_t v = 0; v < n; ++v) {
    pending[v] = static_cast<uint32_t>(g.customers(static_cast<NodeId>(v)).size());
    if (pending[v] == 0) g.up_order_.push_back(static_cast<NodeId>(v));
  }
  for (size_t i = 0; i < g.up_order_.size(); ++i) {
    for (NodeId p : g.providers(g.up_order_[i])) {
      if (--pending[static_cast<size_t>(p)] == 0) g.up_order_.push_back(p);
    }
  }
  if (g.up_order_.size() != n) {
    // Walk provider edges among the nodes left (each has a provider left) until one repeats.
    NodeId start = kNoNode;
    for (size_t v = 0; v < n && start == kNoNode; ++v) {
      if (pending[v] != 0) start = static_cast<NodeId>(v);
    }
    std::vector<int> position(n, -1);
    std::vector<NodeId> walk;
    NodeId v = start;
    while (position[static_cast<size_t>(v)] < 0) {
      position[static_cast<size_t>(v)] = static_cast<int>(walk.size());
      walk.push_back(v);
      NodeId next = kNoNode;
      for (NodeId c : g.customers(v)) {
        if (pending[static_cast<size_t>(c)] != 0) {
          next = c;
          break;
        }
      }
      v = next;
    }
    std::string cycle;
    for (size_t i = static_cast<size_t>(position[static_cast<size_t>(v)]); i < walk.size(); ++i) {
      cycle += g.Label(walk[i]) + " -> ";
    }
    cycle += g.Label(v);
    return Fail(ProblemType::kMalformed,
                "provider-customer cycle: " + cycle + " (each a provider of the next); " +
                    std::to_string(n - g.up_order_.size()) + " AS(es) are on or above a cycle");
  }
  // Renumber in up_order so that propagation sweeps its arrays front to back.
  std::vector<NodeId> renumber(n);
  for (size_t i = 0; i < n; ++i)
    renumber[static_cast<size_t>(g.up_order_[i])] = static_cast<NodeId>(i);
  Graph r;
  r.real_count_ = g.real_count_;
  r.pseudo_names_ = std::move(g.pseudo_names_);
  r.asn_.resize(n);
  r.pseudo_index_.resize(n);
  for (size_t old = 0; old < n; ++old) {
    auto now = static_cast<size_t>(renumber[old]);
    r.asn_[now] = g.asn_[old];
    r.pseudo_index_[now] = g.pseudo_index_[old];
  }
  r.by_asn_ = std::move(g.by_asn_);
  for (auto& [asn, node] : r.by_asn_) node = renumber[static_cast<size_t>(node)];
  r.offsets_.assign(3 * n + 1, 0);
  r.adjacency_.reserve(g.adjacency_.size());
  for (size_t now = 0; now < n; ++now) {
    const auto old = g.up_order_[now];
    for (int kind = 0; kind < 3; ++kind) {
      for (NodeId x : g.Slice(old, kind)) r.adjacency_.push_back(renumber[static_cast<size_t>(x)]);
      r.offsets_[3 * now + static_cast<size_t>(kind) + 1] =
          static_cast<uint32_t>(r.adjacency_.size());
    }
  }
  r.up_order_.resize(n);
  for (size_t i = 0; i < n; ++i) r.up_order_[i] = static_cast<NodeId>(i);
  return r;
}

}  // namespace mpic::routesim
