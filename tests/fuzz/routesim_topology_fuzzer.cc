// Fuzzes the CAIDA AS-relationship reader (routesim/topology.h) and the graph built from what
// it accepts. Invariants: no crash; an error is kMalformed and names the file; an accepted
// topology has links with nonzero, distinct ASNs and a known relationship, survives
// FormatTopology -> ParseTopology unchanged, and either builds a graph whose every node sits
// in up_order exactly once or is refused for a provider-customer cycle. The first byte picks
// plain text or the decompression path (gzip/bzip2 magic in the input is decompressed).
#include <string>
#include <string_view>
#include <vector>

#include "routesim/graph.h"
#include "routesim/topology.h"
#include "tests/fuzz/fuzz_input.h"

using mpic::fuzz::Require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mpic::fuzz::FuzzInput in(data, size);
  const bool decompress = (in.Byte() & 1) != 0;
  std::string_view bytes = in.Rest();
  std::string text(bytes);
  if (decompress) {
    auto plain = mpic::routesim::Decompress(bytes, "fuzz");
    if (!plain) {
      Require(plain.error().type == mpic::ProblemType::kMalformed);
      Require(plain.error().detail.starts_with("fuzz"));
      return 0;
    }
    text = std::move(*plain);
  }
  auto topo = mpic::routesim::ParseTopology(text, "fuzz");
  if (!topo) {
    Require(topo.error().type == mpic::ProblemType::kMalformed);
    Require(topo.error().detail.starts_with("fuzz"));
    return 0;
  }
  for (const auto& link : topo->links) {
    Require(link.a != 0 && link.b != 0 && link.a != link.b);
    Require(link.rel == mpic::routesim::Rel::kPeer ||
            link.rel == mpic::routesim::Rel::kProviderToCustomer);
  }
  auto again = mpic::routesim::ParseTopology(mpic::routesim::FormatTopology(*topo, "x"), "y");
  Require(again.has_value() && again->links == topo->links);
  auto graph = mpic::routesim::Graph::Build(*topo);
  if (!graph) {
    Require(graph.error().detail.find("provider-customer cycle") != std::string::npos);
    return 0;
  }
  std::vector<int> seen(static_cast<size_t>(graph->size()), 0);
  for (auto v : graph->up_order()) ++seen[static_cast<size_t>(v)];
  for (int count : seen) Require(count == 1);
  return 0;
}
