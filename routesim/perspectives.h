// Perspectives to simulate: who they are (the same identity the fleet config carries: name,
// RIR, coordinates) and where they sit in the AS graph (a real ASN, or a pseudo-AS with its own
// neighbours: cloud regions of one provider share an ASN but not their upstreams).
//
// Own format (docs/routesim.md):
//   {"primary": "iad",                        // optional
//    "perspectives": [
//      {"name": "iad", "rir": "arin", "lat": 39.04, "lon": -77.49, "asn": 14618},
//      {"name": "fra", "rir": "ripe", "lat": 50.11, "lon": 8.68, "asn": 16509,
//       "neighbors": [{"asn": 1299, "rel": "provider"}, {"asn": 3320, "rel": "peer"}]}]}
//
// A real va-primary config (proto/mpic/v1/config.proto PrimaryConfig in JSON: identity and
// remotes[].identity) plus an ASN map {"name": 16509, "other": {"asn": 16509, "neighbors":
// [...]}} naming every perspective of the config.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "quorum/perspective.h"
#include "quorum/phase.h"
#include "quorum/policy.h"
#include "routesim/graph.h"

namespace mpic::routesim {

struct PerspectiveSpec {
  quorum::Perspective identity;
  Asn asn = 0;
  std::vector<PseudoAs::Neighbor> neighbors;  // non-empty: a pseudo-AS
};

struct PerspectiveSet {
  std::vector<PerspectiveSpec> perspectives;
  int primary = -1;  // index, or -1
  // The config's policy settings, when read from a va-primary config; "" when absent.
  std::string policy_text;
};

// kMalformed naming `name` and the offending entry.
[[nodiscard]] Result<PerspectiveSet> ParsePerspectives(std::string_view json,
                                                       std::string_view name);
[[nodiscard]] Result<PerspectiveSet> ParsePrimaryConfig(std::string_view config_json,
                                                        std::string_view config_name,
                                                        std::string_view asn_map_json,
                                                        std::string_view asn_map_name);

// The pseudo-ASes to add to the graph, named after their perspectives.
[[nodiscard]] std::vector<PseudoAs> PseudoAsesOf(const PerspectiveSet& set);

// Each perspective's node. kMalformed for an ASN that is not in the graph.
[[nodiscard]] Result<std::vector<NodeId>> ResolvePerspectives(const Graph& graph,
                                                              const PerspectiveSet& set);

// "br:YYYY-MM-DD" (BR §3.2.2.9 on that date) or
// "k-of-n:K/N[,rirs=R][,primary-optional]" (research, NOT BR-compliant).
// A va-primary config's policy converts to the same text (`today` fills "today").
[[nodiscard]] Result<quorum::Policy> ParsePolicy(std::string_view text);

}  // namespace mpic::routesim
