#include "routesim/propagation.h"

#include <charconv>

namespace mpic::routesim {
namespace {

// The best offer seen so far for one AS.
struct Best {
  uint32_t length = UINT32_MAX;
  uint64_t key = 0;
  NodeId from = kNoNode;

  // True when an offer of `length` from `node` (tie-break key `k`) beats the current one.
  bool Beats(uint32_t len, uint64_t k, NodeId node) const {
    if (len != length) return len < length;
    if (k != key) return k < key;
    return node < from;
  }
};

}  // namespace

Result<TieBreak> TieBreak::Parse(std::string_view text) {
  if (text == "lowest-asn") return TieBreak{TieBreakKind::kLowestAsn, 0};
  if (text == "highest-asn") return TieBreak{TieBreakKind::kHighestAsn, 0};
  if (text == "hash") return TieBreak{TieBreakKind::kHash, 0};
  if (text.starts_with("hash:")) {
    std::string_view digits = text.substr(5);
    uint64_t salt = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), salt);
    if (!digits.empty() && ec == std::errc() && ptr == digits.data() + digits.size()) {
      return TieBreak{TieBreakKind::kHash, salt};
    }
  }
  return Fail(ProblemType::kMalformed, "bad tie-break \"" + std::string(text) +
                                           "\" (expected lowest-asn, highest-asn, hash or "
                                           "hash:SALT with a decimal salt)");
}

std::string TieBreak::Describe() const {
  switch (kind) {
    case TieBreakKind::kLowestAsn:
      return "lowest-asn";
    case TieBreakKind::kHighestAsn:
      return "highest-asn";
    case TieBreakKind::kHash:
      break;
  }
  return "hash:" + std::to_string(salt);
}

std::string_view RouteClassName(RouteClass route_class) {
  switch (route_class) {
    case RouteClass::kOrigin:
      return "origin";
    case RouteClass::kCustomer:
      return "customer";
    case RouteClass::kPeer:
      return "peer";
    case RouteClass::kProvider:
      return "provider";
    case RouteClass::kNone:
      break;
  }
  return "none";
}

void RouteTable::Reset(size_t n) {
  route_class.assign(n, RouteClass::kNone);
  length.assign(n, 0);
  next_hop.assign(n, kNoNode);
  ann.assign(n, kNoAnnouncement);
}

void Propagate(const Graph& graph, std::span<const Announcement> announcements,
               const TieBreak& tie_break, const std::vector<uint8_t>* rov_adopters,
               RouteTable* table) {
  const size_t n = static_cast<size_t>(graph.size());
  table->Reset(n);
  RouteClass* cls = table->route_class.data();
  uint16_t* len = table->length.data();
  NodeId* next = table->next_hop.data();
  uint8_t* ann = table->ann.data();
  const uint8_t* rov = rov_adopters != nullptr ? rov_adopters->data() : nullptr;
  bool invalid[256] = {};
  for (size_t i = 0; i < announcements.size() && i < 255; ++i) {
    const Announcement& a = announcements[i];
    auto v = static_cast<size_t>(a.origin);
    cls[v] = RouteClass::kOrigin;
    len[v] = a.initial_length;
    ann[v] = static_cast<uint8_t>(i);
    invalid[i] = a.rov_invalid;
  }
  // An ROV adopter does not accept an invalid route.
  auto refuses = [&](NodeId v, NodeId from) {
    return rov != nullptr && rov[v] != 0 && invalid[ann[from]];
  };
  auto take = [&](NodeId v, const Best& best, RouteClass route_class) {
    cls[v] = route_class;
    len[v] = static_cast<uint16_t>(best.length);
    next[v] = best.from;
    ann[v] = ann[best.from];
  };

  // Phase 1: customer routes, bottom-up.
  for (NodeId v : graph.up_order()) {
    if (cls[v] == RouteClass::kOrigin) continue;
    Best best;
    const Asn self = graph.asn(v);
    for (NodeId c : graph.customers(v)) {
      if (cls[c] < RouteClass::kCustomer || refuses(v, c)) continue;
      uint32_t l = uint32_t{len[c]} + 1;
      if (l > best.length) continue;
      uint64_t k = tie_break.Key(self, graph.asn(c));
      if (best.Beats(l, k, c)) best = Best{l, k, c};
    }
    if (best.from != kNoNode) take(v, best, RouteClass::kCustomer);
  }
  // Phase 2: one hop across peer links, from ASes with a customer (or own) route.
  for (NodeId v = 0; v < static_cast<NodeId>(n); ++v) {
    if (cls[v] >= RouteClass::kCustomer) continue;
    Best best;
    const Asn self = graph.asn(v);
    for (NodeId p : graph.peers(v)) {
      if (cls[p] < RouteClass::kCustomer || refuses(v, p)) continue;
      uint32_t l = uint32_t{len[p]} + 1;
      if (l > best.length) continue;
      uint64_t k = tie_break.Key(self, graph.asn(p));
      if (best.Beats(l, k, p)) best = Best{l, k, p};
    }
    if (best.from != kNoNode) take(v, best, RouteClass::kPeer);
  }
  // Phase 3: down through providers, each AS after all of its providers.
  const std::vector<NodeId>& order = graph.up_order();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    NodeId v = *it;
    if (cls[v] >= RouteClass::kPeer) continue;
    Best best;
    const Asn self = graph.asn(v);
    for (NodeId p : graph.providers(v)) {
      if (cls[p] == RouteClass::kNone || refuses(v, p)) continue;
      uint32_t l = uint32_t{len[p]} + 1;
      if (l > best.length) continue;
      uint64_t k = tie_break.Key(self, graph.asn(p));
      if (best.Beats(l, k, p)) best = Best{l, k, p};
    }
    if (best.from != kNoNode) take(v, best, RouteClass::kProvider);
  }
}

std::vector<NodeId> PathOf(const RouteTable& table, NodeId node) {
  std::vector<NodeId> path;
  NodeId v = node;
  // A path is never longer than the table (no loops by construction); bound it anyway.
  for (size_t steps = 0; v != kNoNode && table.has_route(v) && steps <= table.next_hop.size();
       ++steps) {
    path.push_back(v);
    v = table.next_hop[static_cast<size_t>(v)];
  }
  return path;
}

}  // namespace mpic::routesim
