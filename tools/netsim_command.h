// `mpic netsim run SCENARIO [--out DIR] | report RESULTS [--out PNG] | selftest | cleanup`
// (and the harness's own `pki` and `fleet`: lab::Pki and the fleet launcher, tools/netsim_fleet.h):
// routing and DNS attacks against a real fleet in network namespaces. A thin front to the
// Python harness (docs/netsim.md; source in tests/netsim/, installed as
// share/mpic/netsim/netsim.py and found relative to this executable: lab/data_dir.h): it finds
// python3 and the harness, tells it where va-primary and va-remote are (MPIC_BIN_DIR = this
// executable's directory) and execs it.
//
//   mpic netsim run share/mpic/netsim/scenarios/br-phases.json --out /tmp/r
//   mpic netsim report /tmp/r/results.json --out /tmp/r/plot.png
//
// Exit: the harness's (0 all as expected, 1 a decision differed, 2 bad usage, 3 could not
// start); 2 for bad usage here; 3 when python3 or the harness is missing or (except for
// `report`) when not root.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace mpic::tools {

int RunNetsim(int argc, char** argv, int first, std::ostream& out, std::ostream& err);

// The argv the harness is executed with: python3 HARNESS ARGS... (exposed for tests).
std::vector<std::string> NetsimArgv(const std::string& python, const std::string& harness,
                                    const std::vector<std::string>& args);

// True for the subcommands that need root (everything but `report`, `pki`, `fleet` -- which
// checks for itself -- and help).
bool NetsimNeedsRoot(const std::vector<std::string>& args);

}  // namespace mpic::tools
