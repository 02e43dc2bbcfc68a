// A second, independent formulation of Propagate() for tests only: staged breadth-first search
// by path length. Stage 1 pushes customer routes up level by level (every AS reached at length
// L is settled before any at L + 1), stage 2 offers each customer/own route once to every peer,
// stage 3 pushes all routes down to customers level by level, again settling by length. Ties
// within a level are broken by the same TieBreak. It must agree with Propagate() route for
// route; it shares no code with it beyond the data types.
#pragma once

#include <span>
#include <vector>

#include "routesim/propagation.h"

namespace mpic::routesim::testing {

void PropagateStagedBfs(const Graph& graph, std::span<const Announcement> announcements,
                        const TieBreak& tie_break, const std::vector<uint8_t>* rov_adopters,
                        RouteTable* table);

}  // namespace mpic::routesim::testing
