// Geography for BR §3.2.2.9: perspectives are distinct when at least 500 km apart. Distances are
// great-circle (haversine) on a sphere of the IUGG mean Earth radius.
//
//   mpic::quorum::Location frankfurt{50.1109, 8.6821}, amsterdam{52.3676, 4.9041};
//   double km = mpic::quorum::DistanceKm(frankfurt, amsterdam);     // ~365
//   bool ok = mpic::quorum::AreDistinct(frankfurt, amsterdam);      // false
#pragma once

#include "common/error.h"

namespace mpic::quorum {

// IUGG mean Earth radius R1 (km).
inline constexpr double kEarthMeanRadiusKm = 6371.0088;
// BR §3.2.2.9: perspectives closer than this are the same network location. The BR says
// "straight line"; the chord is at most ~0.13 km shorter than the arc at this distance.
inline constexpr double kMinDistinctKm = 500.0;

// Decimal degrees, WGS 84 style: lat in [-90, 90], lon in [-180, 180].
struct Location {
  double lat = 0.0;
  double lon = 0.0;

  friend bool operator==(const Location&, const Location&) = default;
};

// kMalformed when a coordinate is out of range or not finite.
[[nodiscard]] Status ValidateLocation(const Location& location);

// Great-circle distance in km (haversine). Inputs are assumed valid.
[[nodiscard]] double DistanceKm(const Location& a, const Location& b);

// DistanceKm(a, b) >= kMinDistinctKm.
[[nodiscard]] bool AreDistinct(const Location& a, const Location& b);

}  // namespace mpic::quorum
