#include "routesim/attack.h"

namespace mpic::routesim {

std::string_view AttackKindName(AttackKind kind) {
  switch (kind) {
    case AttackKind::kOrigin:
      return "origin";
    case AttackKind::kForgedOrigin:
      return "forged-origin";
    case AttackKind::kSubprefix:
      return "subprefix";
    case AttackKind::kNone:
      break;
  }
  return "none";
}

Result<AttackKind> ParseAttackKind(std::string_view text) {
  for (AttackKind kind : {AttackKind::kNone, AttackKind::kOrigin, AttackKind::kForgedOrigin,
                          AttackKind::kSubprefix}) {
    if (text == AttackKindName(kind)) return kind;
  }
  return Fail(ProblemType::kMalformed, "bad attack \"" + std::string(text) +
                                           "\" (expected none, origin, forged-origin or "
                                           "subprefix)");
}

std::string_view ReachName(Reach reach) {
  switch (reach) {
    case Reach::kVictim:
      return "victim";
    case Reach::kAttacker:
      return "attacker";
    case Reach::kNoRoute:
      break;
  }
  return "no-route";
}

Simulator::Simulator(const Graph& graph, TieBreak tie_break,
                     const std::vector<uint8_t>* rov_adopters)
    : graph_(graph), tie_break_(tie_break), rov_(rov_adopters) {}

void Simulator::Run(NodeId victim, NodeId attacker, AttackKind kind) {
  kind_ = kind;
  victim_ = victim;
  attacker_ = kind == AttackKind::kNone ? kNoNode : attacker;
  const Announcement own{victim, 1, false, 0};
  switch (kind) {
    case AttackKind::kNone:
    case AttackKind::kSubprefix:
      if (covering_victim_ != victim) {
        covering_ann_ = {own};
        Propagate(graph_, covering_ann_, tie_break_, rov_, &covering_);
        covering_victim_ = victim;
      }
      if (kind == AttackKind::kSubprefix) {
        const Announcement more_specific{attacker, 1, true, 0};
        Propagate(graph_, std::span(&more_specific, 1), tie_break_, rov_, &specific_);
      } else {
        specific_.Reset(0);
      }
      return;
    case AttackKind::kOrigin:
      covering_ann_ = {own, Announcement{attacker, 1, true, 0}};
      break;
    case AttackKind::kForgedOrigin:
      covering_ann_ = {own, Announcement{attacker, 2, false, graph_.asn(victim)}};
      break;
  }
  Propagate(graph_, covering_ann_, tie_break_, rov_, &covering_);
  covering_victim_ = kNoNode;
  specific_.Reset(0);
}

Reach Simulator::ReachOf(NodeId node) const {
  if (kind_ != AttackKind::kSubprefix) {
    uint8_t a = covering_.ann[static_cast<size_t>(node)];
    if (a == kNoAnnouncement) return Reach::kNoRoute;
    return a == 0 ? Reach::kVictim : Reach::kAttacker;
  }
  // Longest-prefix match at every hop: the more specific wins wherever it is known.
  NodeId v = node;
  for (size_t steps = 0; steps <= covering_.ann.size(); ++steps) {
    auto i = static_cast<size_t>(v);
    if (specific_.ann[i] != kNoAnnouncement) return Reach::kAttacker;
    if (covering_.ann[i] == kNoAnnouncement) return Reach::kNoRoute;
    if (v == victim_) return Reach::kVictim;
    v = covering_.next_hop[i];
  }
  return Reach::kNoRoute;  // unreachable: covering paths have no loops
}

}  // namespace mpic::routesim
