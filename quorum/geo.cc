#include "quorum/geo.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

namespace mpic::quorum {
namespace {

double Radians(double degrees) { return degrees * std::numbers::pi / 180.0; }

}  // namespace

Status ValidateLocation(const Location& location) {
  if (!std::isfinite(location.lat) || location.lat < -90.0 || location.lat > 90.0) {
    return Fail(ProblemType::kMalformed,
                "latitude " + std::to_string(location.lat) + " outside [-90, 90]");
  }
  if (!std::isfinite(location.lon) || location.lon < -180.0 || location.lon > 180.0) {
    return Fail(ProblemType::kMalformed,
                "longitude " + std::to_string(location.lon) + " outside [-180, 180]");
  }
  return {};
}

double DistanceKm(const Location& a, const Location& b) {
  const double d_lat = Radians(b.lat - a.lat);
  const double d_lon = Radians(b.lon - a.lon);
  const double s_lat = std::sin(d_lat / 2.0);
  const double s_lon = std::sin(d_lon / 2.0);
  double h = s_lat * s_lat + std::cos(Radians(a.lat)) * std::cos(Radians(b.lat)) * s_lon * s_lon;
  h = std::clamp(h, 0.0, 1.0);  // rounding can push antipodal points just past 1
  return 2.0 * kEarthMeanRadiusKm * std::asin(std::sqrt(h));
}

bool AreDistinct(const Location& a, const Location& b) {
  return DistanceKm(a, b) >= kMinDistinctKm;
}

}  // namespace mpic::quorum
