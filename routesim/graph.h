// The AS graph in compact form: nodes are dense indices numbered in a topological order of the
// provider graph (every AS after all of its customers, so propagation sweeps memory in order),
// and each node's providers, peers and customers are three consecutive slices of one
// adjacency array (CSR). Built once, read-only afterwards, shared by every simulation thread.
//
//   auto topo = mpic::routesim::ReadTopologyFile(path);
//   auto graph = mpic::routesim::Graph::Build(*topo, pseudo_ases);
//   if (!graph) ...  // e.g. "provider-customer cycle: AS1 -> AS2 -> AS1 (each a provider of
//                    // the next)"
//   std::optional<NodeId> cf = graph->Find(13335);
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "routesim/topology.h"

namespace mpic::routesim {

using NodeId = int32_t;
inline constexpr NodeId kNoNode = -1;

// What a neighbour is to the node that names it.
enum class Role : uint8_t { kProvider, kPeer, kCustomer };

// A node that is not in the topology file: e.g. one cloud region, which shares its provider's
// ASN with the other regions but not their upstreams. Its links are exactly `neighbors`.
struct PseudoAs {
  std::string name;
  Asn asn = 0;  // for display and tie-breaks; need not be unique
  struct Neighbor {
    Asn asn = 0;  // a real AS of the topology
    Role role = Role::kProvider;
  };
  std::vector<Neighbor> neighbors;
};

class Graph {
 public:
  // kMalformed for a pseudo-AS neighbour that is not in the topology, a pseudo-AS without
  // neighbours, or a provider-customer cycle (named AS by AS).
  [[nodiscard]] static Result<Graph> Build(const Topology& topology,
                                           std::span<const PseudoAs> pseudo = {});

  [[nodiscard]] int size() const { return static_cast<int>(asn_.size()); }
  [[nodiscard]] int real_size() const { return real_count_; }
  [[nodiscard]] size_t link_count() const { return adjacency_.size() / 2; }
  [[nodiscard]] Asn asn(NodeId node) const { return asn_[static_cast<size_t>(node)]; }
  [[nodiscard]] bool is_pseudo(NodeId node) const {
    return pseudo_index_[static_cast<size_t>(node)] >= 0;
  }
  // "AS13335" or "pseudo:name(AS16509)".
  [[nodiscard]] std::string Label(NodeId node) const;
  // A real AS by number (pseudo-ASes are not found by ASN).
  [[nodiscard]] std::optional<NodeId> Find(Asn asn) const;
  // A pseudo-AS by name.
  [[nodiscard]] std::optional<NodeId> FindPseudo(const std::string& name) const;

  [[nodiscard]] std::span<const NodeId> providers(NodeId node) const { return Slice(node, 0); }
  [[nodiscard]] std::span<const NodeId> peers(NodeId node) const { return Slice(node, 1); }
  [[nodiscard]] std::span<const NodeId> customers(NodeId node) const { return Slice(node, 2); }

  // Every node after all of its customers (a topological order of the customer->provider DAG).
  // Nodes are numbered in this order, so it is 0, 1, ..., size() - 1.
  [[nodiscard]] const std::vector<NodeId>& up_order() const { return up_order_; }

 private:
  Graph() = default;
  [[nodiscard]] std::span<const NodeId> Slice(NodeId node, int kind) const {
    size_t base = 3 * static_cast<size_t>(node) + static_cast<size_t>(kind);
    return {adjacency_.data() + offsets_[base], offsets_[base + 1] - offsets_[base]};
  }

  int real_count_ = 0;
  std::vector<Asn> asn_;
  std::vector<std::pair<Asn, NodeId>> by_asn_;  // real ASes, sorted
  std::vector<int32_t> pseudo_index_;           // per node: index into pseudo_names_, or -1
  std::vector<std::string> pseudo_names_;
  std::vector<uint32_t> offsets_;  // 3 * size() + 1
  std::vector<NodeId> adjacency_;
  std::vector<NodeId> up_order_;
};

}  // namespace mpic::routesim
