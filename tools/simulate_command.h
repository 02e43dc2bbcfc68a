// `mpic simulate`: the AS-level routing-attack simulator (routesim/, docs/routesim.md).
//
//   mpic simulate resilience --topology FILE|--generate N --perspectives FILE --policy P ...
//   mpic simulate placement  ... --size K [--top N]
//   mpic simulate route      --topology FILE --origin ASN [--attacker ASN --attack KIND]
//   mpic simulate generate   --ases N [--seed S] --out FILE
//   mpic simulate merge      SHARD.json... [--size K]
//
// Exit: 0 done; 2 bad usage or bad input (a malformed topology, an unknown ASN, perspectives
// the policy refuses); 1 when writing an output or the plot failed.
#pragma once

#include <iosfwd>

namespace mpic::tools {

int RunSimulate(int argc, char** argv, int first, std::ostream& out, std::ostream& err);

}  // namespace mpic::tools
