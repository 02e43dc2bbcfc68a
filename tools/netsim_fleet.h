// `mpic netsim fleet --spec FILE`: netsim's va-remote and va-primary processes, started by the
// one fleet launcher (lab/fleet_member.h) inside the network namespaces the harness built.
// The harness (tests/netsim/simfleet.py) writes the spec, runs one invocation for the remotes
// and one per matrix cell for the primary (a new remote set and policy), reads one JSON line
// {"ready":[{"role","name","address","pid","log"}...]} from stdout once every member of the
// spec is ready, and closes stdin (or sends SIGTERM) to stop them: the primary first, then the
// remotes, each with SIGTERM, a bounded wait, then SIGKILL. Format: docs/netsim.md.
//
// Exit: 0 stopped as asked; 1 a member could not start or was not ready (which one and the
// tail of its log on stderr); 2 bad usage or a bad spec; 3 when namespaces are used but not
// root.
#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "lab/fleet_member.h"

namespace mpic::tools {

struct NetsimFleetSpec {
  std::string dir;      // config/, run/ and logs/ under it
  std::string bin_dir;  // va-remote, va-primary; "": next to mpic
  std::chrono::milliseconds ready_timeout{30000};
  std::vector<lab::RemoteSpec> remotes;     // started first
  std::optional<lab::PrimarySpec> primary;  // then this
};

// Parses and checks a spec (JSON text); the error names the offending field, e.g.
// "remotes[1].identity.name: required".
[[nodiscard]] Result<NetsimFleetSpec> ParseNetsimFleetSpec(const std::string& text);

// `mpic netsim fleet ...` with argv[first] the first argument after "fleet".
int RunNetsimFleet(int argc, char** argv, int first, std::ostream& out, std::ostream& err);

}  // namespace mpic::tools
