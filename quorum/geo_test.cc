#include "quorum/geo.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "quorum/fleet.h"
#include "quorum/perspective.h"
#include "quorum/policy.h"

namespace mpic::quorum {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr Location kFrankfurt{50.1109, 8.6821};
constexpr Location kAmsterdam{52.3676, 4.9041};
constexpr Location kParis{48.8566, 2.3522};
constexpr Location kLondon{51.5074, -0.1278};
constexpr Location kNewYork{40.7128, -74.0060};
constexpr Location kSanFrancisco{37.7749, -122.4194};
constexpr Location kLosAngeles{34.0522, -118.2437};
constexpr Location kSydney{-33.8688, 151.2093};
constexpr Location kTokyo{35.6762, 139.6503};
constexpr Location kSaoPaulo{-23.5505, -46.6333};
constexpr Location kJohannesburg{-26.2041, 28.0473};
constexpr Location kSingapore{1.3521, 103.8198};

// ---- distances ------------------------------------------------------------------------------

TEST(GeoTest, KnownCityPairs) {
  struct Case {
    const char* name;
    Location a, b;
    double km;
    bool distinct;
  };
  const std::vector<Case> cases = {
      {"Frankfurt-Amsterdam", kFrankfurt, kAmsterdam, 365, false},
      {"Paris-London", kParis, kLondon, 344, false},
      {"Frankfurt-Paris", kFrankfurt, kParis, 478, false},
      {"San Francisco-Los Angeles", kSanFrancisco, kLosAngeles, 559, true},
      {"New York-London", kNewYork, kLondon, 5570, true},
      {"Sydney-Tokyo", kSydney, kTokyo, 7826, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_NEAR(DistanceKm(c.a, c.b), c.km, 5.0);
    EXPECT_DOUBLE_EQ(DistanceKm(c.a, c.b), DistanceKm(c.b, c.a));
    EXPECT_EQ(AreDistinct(c.a, c.b), c.distinct);
    EXPECT_EQ(AreDistinct(c.b, c.a), c.distinct);
  }
}

TEST(GeoTest, ZeroPolesAndAntipodes) {
  EXPECT_DOUBLE_EQ(DistanceKm(kTokyo, kTokyo), 0.0);
  const double half_circumference = std::numbers::pi * kEarthMeanRadiusKm;
  EXPECT_NEAR(DistanceKm({0, 0}, {0, 180}), half_circumference, 1e-6);
  EXPECT_NEAR(DistanceKm({90, 0}, {-90, 0}), half_circumference, 1e-6);
  EXPECT_NEAR(DistanceKm({0, 179.5}, {0, -179.5}), half_circumference / 180.0, 1e-6);
  EXPECT_NEAR(DistanceKm({90, 0}, {90, 123}), 0.0, 1e-6);  // every longitude meets at a pole
  EXPECT_NEAR(DistanceKm({51.0, 0.0}, {52.0, 0.0}), half_circumference / 180.0, 1e-6);
}

TEST(GeoTest, FiveHundredKilometreBoundary) {
  // Along the equator the distance is R * delta-longitude (radians).
  const double deg_per_km = 180.0 / (std::numbers::pi * kEarthMeanRadiusKm);
  EXPECT_NEAR(DistanceKm({0, 0}, {0, 500 * deg_per_km}), 500.0, 1e-6);
  EXPECT_TRUE(AreDistinct({0, 0}, {0, 500.001 * deg_per_km}));
  EXPECT_FALSE(AreDistinct({0, 0}, {0, 499.999 * deg_per_km}));
  EXPECT_EQ(kMinDistinctKm, 500.0);
  EXPECT_EQ(kEarthMeanRadiusKm, 6371.0088);
}

TEST(GeoTest, ValidatesCoordinates) {
  for (Location ok : {Location{0, 0}, Location{90, 180}, Location{-90, -180}, kSydney}) {
    EXPECT_TRUE(ValidateLocation(ok).has_value()) << ok.lat << "," << ok.lon;
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (Location bad :
       {Location{90.0001, 0}, Location{-91, 0}, Location{0, 180.5}, Location{0, -181},
        Location{nan, 0}, Location{0, nan}, Location{inf, 0}, Location{0, -inf}}) {
    Status status = ValidateLocation(bad);
    ASSERT_FALSE(status.has_value()) << bad.lat << "," << bad.lon;
    EXPECT_EQ(status.error().type, ProblemType::kMalformed);
  }
}

// ---- fleets ---------------------------------------------------------------------------------

Policy At(Date date) { return Policy::BaselineRequirements(date).value(); }

const Perspective kPrimary{"primary-fra", Rir::kRipeNcc, kFrankfurt};

std::vector<Perspective> GoodRemotes() {
  return {
      {"nyc", Rir::kArin, kNewYork},         {"sfo", Rir::kArin, kSanFrancisco},
      {"tyo", Rir::kApnic, kTokyo},          {"gru", Rir::kLacnic, kSaoPaulo},
      {"jnb", Rir::kAfrinic, kJohannesburg}, {"lon", Rir::kRipeNcc, kLondon},
  };
}

TEST(FleetTest, AcceptsAGoodFleetInEveryPhase) {
  for (Date date : {Date{2025, 1, 1}, Date{2025, 3, 15}, Date{2025, 9, 15}, Date{2026, 3, 15},
                    Date{2026, 6, 15}, Date{2026, 12, 15}}) {
    Status status = ValidateFleet(At(date), kPrimary, GoodRemotes());
    EXPECT_TRUE(status.has_value()) << FormatDate(date) << ": " << status.error().detail;
  }
}

TEST(FleetTest, RejectsARemoteTooCloseToThePrimary) {
  std::vector<Perspective> remotes = GoodRemotes();
  remotes.push_back({"ams", Rir::kRipeNcc, kAmsterdam});
  Status status = ValidateFleet(Policy(), kPrimary, remotes);
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().type, ProblemType::kMalformed);
  EXPECT_THAT(status.error().detail, AllOf(HasSubstr("\"ams\""), HasSubstr("\"primary-fra\""),
                                           HasSubstr("363.4 km"), HasSubstr("500.0 km")));
}

TEST(FleetTest, RejectsTwoRemotesTooCloseToEachOther) {
  std::vector<Perspective> remotes = GoodRemotes();
  remotes.push_back({"par", Rir::kRipeNcc, kParis});  // 344 km from London, 478 from Frankfurt
  Status status = ValidateFleet(Policy(), kPrimary, remotes);
  ASSERT_FALSE(status.has_value());
  EXPECT_THAT(status.error().detail,
              AllOf(HasSubstr("remotes \"lon\" and \"par\" are 343.6 km apart"),
                    HasSubstr("remote \"par\" is 477.9 km from primary \"primary-fra\"")));
}

TEST(FleetTest, RejectsDuplicateAndEmptyNames) {
  std::vector<Perspective> remotes = GoodRemotes();
  remotes[1].name = "nyc";
  Status status = ValidateFleet(Policy(), kPrimary, remotes);
  ASSERT_FALSE(status.has_value());
  EXPECT_THAT(status.error().detail, HasSubstr("\"nyc\" is used more than once"));

  remotes = GoodRemotes();
  remotes[2].name = "primary-fra";  // clashes with the primary
  status = ValidateFleet(Policy(), kPrimary, remotes);
  ASSERT_FALSE(status.has_value());
  EXPECT_THAT(status.error().detail, HasSubstr("\"primary-fra\" is used more than once"));

  remotes = GoodRemotes();
  remotes[0].name.clear();
  status = ValidateFleet(Policy(), kPrimary, remotes);
  ASSERT_FALSE(status.has_value());
  EXPECT_THAT(status.error().detail, HasSubstr("empty name"));
}

TEST(FleetTest, RequiresEnoughRemotesForEachPhase) {
  const std::vector<Perspective> all = GoodRemotes();
  for (const Phase& phase : kBrPhases) {
    for (int size = 0; size <= static_cast<int>(all.size()); ++size) {
      std::vector<Perspective> remotes(all.begin(), all.begin() + size);
      // Keep two RIRs in play whenever there are two remotes, so only the count matters.
      Status status = ValidateFleet(At(phase.effective), kPrimary, remotes);
      const bool rir_short = phase.min_rirs >= 2 && size < 3;  // nyc, sfo are both ARIN
      EXPECT_EQ(status.has_value(), size >= phase.min_remotes && !rir_short)
          << FormatDate(phase.effective) << " with " << size << " remotes";
      if (size < phase.min_remotes) {
        ASSERT_FALSE(status.has_value());
        EXPECT_THAT(status.error().detail,
                    HasSubstr("needs at least " + std::to_string(phase.min_remotes)));
      }
    }
  }
  EXPECT_TRUE(ValidateFleet(At(Date{2025, 1, 1}), kPrimary, {}).has_value());
}

TEST(FleetTest, RirRuleNeedsTwoRirsFromMarch2026) {
  const std::vector<Perspective> one_rir = {
      {"nyc", Rir::kArin, kNewYork},
      {"sfo", Rir::kArin, kSanFrancisco},
      {"ord", Rir::kArin, {41.8781, -87.6298}},
      {"dfw", Rir::kArin, {32.7767, -96.7970}},
      {"sea", Rir::kArin, {47.6062, -122.3321}},
  };
  EXPECT_TRUE(ValidateFleet(At(Date{2025, 9, 15}), kPrimary, one_rir).has_value());
  EXPECT_TRUE(ValidateFleet(At(Date{2026, 3, 14}), kPrimary, one_rir).has_value());
  for (Date date : {Date{2026, 3, 15}, Date{2026, 6, 15}, Date{2026, 12, 15}}) {
    Status status = ValidateFleet(At(date), kPrimary, one_rir);
    ASSERT_FALSE(status.has_value()) << FormatDate(date);
    EXPECT_THAT(status.error().detail, HasSubstr("span 1 RIR(s) (arin)"));
  }
  std::vector<Perspective> two_rirs = one_rir;
  two_rirs.back() = {"sin", Rir::kApnic, kSingapore};
  EXPECT_TRUE(ValidateFleet(Policy(), kPrimary, two_rirs).has_value());
}

TEST(FleetTest, ResearchPolicyUsesNAndItsOwnRirRule) {
  const std::vector<Perspective> remotes = GoodRemotes();
  EXPECT_TRUE(ValidateFleet(Policy::KOfN(3, 6, 2, true).value(), kPrimary, remotes).has_value());
  Status status = ValidateFleet(Policy::KOfN(3, 7, 0, true).value(), kPrimary, remotes);
  ASSERT_FALSE(status.has_value());
  EXPECT_THAT(status.error().detail, HasSubstr("research k-of-n 3/7"));
  const std::vector<Perspective> arin_only(remotes.begin(), remotes.begin() + 2);
  EXPECT_TRUE(ValidateFleet(Policy::KOfN(2, 2, 0, true).value(), kPrimary, arin_only).has_value());
  EXPECT_FALSE(ValidateFleet(Policy::KOfN(2, 2, 2, true).value(), kPrimary, arin_only).has_value());
}

TEST(FleetTest, RejectsInvalidCoordinatesAndReportsEveryProblem) {
  std::vector<Perspective> remotes = GoodRemotes();
  remotes[0].location = {91, 0};
  remotes.push_back({"ams", Rir::kRipeNcc, kAmsterdam});
  Perspective primary = kPrimary;
  Status status = ValidateFleet(Policy(), primary, remotes);
  ASSERT_FALSE(status.has_value());
  EXPECT_THAT(status.error().detail,
              AllOf(HasSubstr("remote \"nyc\": latitude"), HasSubstr("\"ams\" is 363.4 km"),
                    Not(HasSubstr("\"nyc\" is"))));  // no distance from an invalid location

  primary.location = {0, 200};
  status = ValidateFleet(Policy(), primary, GoodRemotes());
  ASSERT_FALSE(status.has_value());
  EXPECT_THAT(status.error().detail, HasSubstr("primary \"primary-fra\": longitude"));
}

}  // namespace
}  // namespace mpic::quorum
