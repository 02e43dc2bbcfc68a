// `mpic resolve NAME TYPE [--root-hints F --trust-anchor F] [--stub ADDR[:PORT] [--require-ad]]
// [--timeout-ms N]`: one lookup, one JSON object on stdout.
// Exit 0: the lookup completed (whatever its DNSSEC status or rcode); 1: it did not complete
// (timeout, resolver failure); 2: bad usage or input.
#pragma once

#include <iosfwd>

namespace mpic::tools {

int RunResolve(int argc, char** argv, int first, std::ostream& out, std::ostream& err);

}  // namespace mpic::tools
