// `mpic deploy`: the Kubernetes fleet from one description file (deploy/k8s/fleet.json).
//
//   mpic deploy render [--fleet deploy/k8s/fleet.json] [--out DIR]
//       checks the fleet, then writes one kustomize overlay per site into DIR (default: the
//       fleet file's folder + /overlays): kustomization.yaml, the server's JSON config and, for
//       remotes, the NetworkPolicy patch that lets only the primary in.
//   mpic deploy check [--fleet FILE] [--out DIR]
//       checks the fleet and compares DIR with what render would write; exit 1 on any drift
//       (a file that differs, is missing, or an overlay folder no site owns).
//   mpic deploy probe --role remote|primary --config FILE [--timeout-ms N]
//       grpc.health.v1/Check over mutual TLS against the server that FILE configures (on
//       loopback, with the server's own certificate as the client's): the pods' exec probes,
//       since the kubelet's native gRPC probe cannot speak TLS. Exit 0 iff SERVING.
//
// The fleet is checked with the rules the primary enforces at start (va_primary::
// ValidatePrimaryConfig: identities, unique names and addresses, BR §3.2.2.9 phase, remote
// count, RIRs, 500 km, TLS files, audit log) and each remote's with proto::ValidateRemoteConfig,
// on the configs exactly as rendered, except that file locations (which are the pod's) point at
// stand-ins made here: a throwaway PKI and a temporary audit log.
// Exit codes: 0 good, 1 refused fleet / drift / not serving, 2 bad usage.
#pragma once

#include <iosfwd>
#include <map>
#include <string>

#include "common/error.h"

namespace mpic::tools {

int RunDeploy(int argc, char** argv, int first, std::ostream& out, std::ostream& err);

namespace deploy {

// Relative path inside the overlays folder ("eu-fra/kustomization.yaml") -> contents.
using FileSet = std::map<std::string, std::string>;

// Parses and checks a fleet description (the JSON text of fleet.json) and renders its overlays.
// kMalformed naming every problem when the primary would refuse the fleet or the file is bad.
[[nodiscard]] Result<FileSet> RenderFleet(const std::string& fleet_json);

}  // namespace deploy
}  // namespace mpic::tools
