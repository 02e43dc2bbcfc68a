// CAIDA AS-relationship files (https://publicdata.caida.org/datasets/as-relationships/):
// "serial-1" lines `as1|as2|rel` and "serial-2" lines `as1|as2|rel|source`, rel -1 when as1 is
// a provider of as2 and 0 when they peer; `#` starts a comment line. Plain text, gzip or bzip2
// (detected by magic bytes, not by file name). Every malformed line is an error naming
// file:line; nothing is guessed.
//
//   mpic::Result<mpic::routesim::Topology> topo =
//       mpic::routesim::ReadTopologyFile("20250101.as-rel2.txt.bz2");
//   if (!topo) { std::cerr << topo.error().detail << "\n"; return 2; }
//   // topo->links.size() ~ 500,000 for a current file
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace mpic::routesim {

using Asn = uint32_t;

enum class Rel : int8_t {
  kProviderToCustomer = -1,  // a is a provider of b
  kPeer = 0,
};

struct Link {
  Asn a = 0;
  Asn b = 0;
  Rel rel = Rel::kPeer;

  friend bool operator==(const Link&, const Link&) = default;
};

struct Topology {
  std::vector<Link> links;
};

// Parses the text of one file; `name` prefixes errors ("name:line: ..."). An exact duplicate
// link is ignored; the same pair with a different relationship is an error. Lines may end in
// "\r\n". An empty topology (no link) is an error.
[[nodiscard]] Result<Topology> ParseTopology(std::string_view text, std::string_view name);

// Decompresses when the content starts with the gzip (1f 8b) or bzip2 ("BZh") magic.
// kMalformed for a truncated or corrupt stream, with the file name.
[[nodiscard]] Result<std::string> Decompress(std::string_view bytes, std::string_view name);

// Reads, decompresses and parses a file.
[[nodiscard]] Result<Topology> ReadTopologyFile(const std::string& path);

// serial-1 text ("a|b|rel" per line) with a header comment; what ReadTopologyFile reads.
[[nodiscard]] std::string FormatTopology(const Topology& topology, std::string_view comment);

}  // namespace mpic::routesim
