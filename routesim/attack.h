// One attack on one victim prefix, and where each AS's packets for the victim's address end.
//
//  - none: the victim announces alone (reachability).
//  - origin (equally-specific prefix hijack): the attacker announces the victim's prefix as its
//    own; both compete everywhere. ROV-invalid (the attacker is not the ROA's origin).
//  - forged-origin: the attacker announces the victim's prefix with path "attacker victim"
//    (one hop longer, but ROV-valid).
//  - subprefix: the attacker announces a more specific prefix alone; it is ROV-invalid (the
//    ROA's maxLength is the victim's prefix length). Every AS keeps the victim's covering route
//    too, and forwarding is longest-prefix match hop by hop: an AS that never learned the
//    more specific (an ROV adopter, or one outside its reach) forwards along its covering
//    route, and the packet is captured as soon as it reaches an AS that has the more specific.
//
//   Simulator sim(graph, tie_break, &rov_adopters);
//   sim.Run(victim, attacker, AttackKind::kSubprefix);
//   Reach r = sim.ReachOf(node);  // kVictim, kAttacker or kNoRoute
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "routesim/propagation.h"

namespace mpic::routesim {

enum class AttackKind { kNone, kOrigin, kForgedOrigin, kSubprefix };

// "none", "origin", "forged-origin", "subprefix".
[[nodiscard]] std::string_view AttackKindName(AttackKind kind);
[[nodiscard]] Result<AttackKind> ParseAttackKind(std::string_view text);

// Where the packets of an AS for the victim's address end.
enum class Reach : uint8_t { kNoRoute, kVictim, kAttacker };

[[nodiscard]] std::string_view ReachName(Reach reach);

// Scratch space for one thread: not thread-safe, reuse it for many runs.
class Simulator {
 public:
  // `rov_adopters`: nullptr or one flag per node; must outlive the simulator.
  Simulator(const Graph& graph, TieBreak tie_break, const std::vector<uint8_t>* rov_adopters);

  // `attacker` is ignored (may be kNoNode) for kNone; otherwise distinct from the victim.
  // For kSubprefix the covering (victim-only) table is cached across runs for the same victim.
  void Run(NodeId victim, NodeId attacker, AttackKind kind);

  [[nodiscard]] Reach ReachOf(NodeId node) const;

  // The tables of the last run. covering(): the victim's prefix (with the attacker's
  // announcement for origin and forged-origin). specific(): the attacker's more specific
  // (subprefix only; empty otherwise).
  [[nodiscard]] const RouteTable& covering() const { return covering_; }
  [[nodiscard]] const RouteTable& specific() const { return specific_; }
  [[nodiscard]] const std::vector<Announcement>& covering_announcements() const {
    return covering_ann_;
  }
  [[nodiscard]] AttackKind kind() const { return kind_; }
  [[nodiscard]] NodeId victim() const { return victim_; }
  [[nodiscard]] NodeId attacker() const { return attacker_; }
  [[nodiscard]] const Graph& graph() const { return graph_; }
  [[nodiscard]] const TieBreak& tie_break() const { return tie_break_; }

 private:
  const Graph& graph_;
  TieBreak tie_break_;
  const std::vector<uint8_t>* rov_;
  RouteTable covering_;
  RouteTable specific_;
  std::vector<Announcement> covering_ann_;
  NodeId covering_victim_ = kNoNode;  // whose victim-only table covering_ holds, if any
  AttackKind kind_ = AttackKind::kNone;
  NodeId victim_ = kNoNode;
  NodeId attacker_ = kNoNode;
};

}  // namespace mpic::routesim
