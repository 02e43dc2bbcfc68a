#include "quorum/perspective.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

namespace mpic::quorum {
namespace {

constexpr std::array<std::pair<Rir, std::string_view>, 5> kRirNames{{
    {Rir::kArin, "arin"},
    {Rir::kRipeNcc, "ripe"},
    {Rir::kApnic, "apnic"},
    {Rir::kLacnic, "lacnic"},
    {Rir::kAfrinic, "afrinic"},
}};

}  // namespace

std::string_view RirName(Rir rir) {
  for (const auto& [r, name] : kRirNames) {
    if (r == rir) return name;
  }
  return "unknown";
}

Result<Rir> ParseRir(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "ripe ncc" || lower == "ripe-ncc" || lower == "ripencc") return Rir::kRipeNcc;
  for (const auto& [rir, name] : kRirNames) {
    if (name == lower) return rir;
  }
  return Fail(ProblemType::kMalformed, "unknown RIR \"" + std::string(text) +
                                           "\" (want one of arin, ripe, apnic, lacnic, afrinic)");
}

}  // namespace mpic::quorum
