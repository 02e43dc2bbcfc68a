// Who a perspective is, as far as MPIC policy cares: a unique name, the Regional Internet
// Registry region it sits in (BR §3.2.2.9 RIR diversity) and where it is (500 km rule).
//
//   mpic::Result<mpic::quorum::Rir> rir = mpic::quorum::ParseRir("RIPE NCC");  // kRipeNcc
//   mpic::quorum::Perspective fra{"fra", *rir, {50.1109, 8.6821}};
//   std::string_view label = mpic::quorum::RirName(fra.rir);  // "ripe"
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "common/error.h"
#include "quorum/geo.h"

namespace mpic::quorum {

// The five RIRs named by BR §3.2.2.9.
enum class Rir { kArin, kRipeNcc, kApnic, kLacnic, kAfrinic };

inline constexpr std::array<Rir, 5> kAllRirs{Rir::kArin, Rir::kRipeNcc, Rir::kApnic, Rir::kLacnic,
                                             Rir::kAfrinic};

// "arin", "ripe", "apnic", "lacnic", "afrinic" (config and log spelling).
[[nodiscard]] std::string_view RirName(Rir rir);
// Case-insensitive; accepts the names above and "ripe ncc" / "ripe-ncc" / "ripencc".
// kMalformed for anything else.
[[nodiscard]] Result<Rir> ParseRir(std::string_view text);

struct Perspective {
  std::string name;  // unique within a fleet; what results are keyed by
  Rir rir = Rir::kArin;
  Location location;

  friend bool operator==(const Perspective&, const Perspective&) = default;
};

}  // namespace mpic::quorum
