#include "quorum/selection.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace mpic::quorum {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef";
constexpr std::string_view kOtherSecret = "fedcba9876543210fedcba9876543210";

std::vector<Perspective> Fleet() {
  return {
      {"nyc", Rir::kArin, {40.7128, -74.0060}},    {"sfo", Rir::kArin, {37.7749, -122.4194}},
      {"tyo", Rir::kApnic, {35.6762, 139.6503}},   {"gru", Rir::kLacnic, {-23.5505, -46.6333}},
      {"jnb", Rir::kAfrinic, {-26.2041, 28.0473}}, {"lon", Rir::kRipeNcc, {51.5074, -0.1278}},
      {"syd", Rir::kApnic, {-33.8688, 151.2093}},  {"sin", Rir::kApnic, {1.3521, 103.8198}},
  };
}

std::vector<std::string> Names(const std::vector<Perspective>& cohort) {
  std::vector<std::string> out;
  for (const Perspective& p : cohort) out.push_back(p.name);
  return out;
}

std::set<Rir> Rirs(const std::vector<Perspective>& cohort) {
  std::set<Rir> out;
  for (const Perspective& p : cohort) out.insert(p.rir);
  return out;
}

std::vector<std::string> Select(std::string_view secret, std::string_view identifier, int attempt,
                                const std::vector<Perspective>& remotes, int count) {
  Result<std::vector<Perspective>> cohort =
      SelectCohort(secret, identifier, attempt, remotes, count);
  EXPECT_TRUE(cohort.has_value()) << cohort.error().detail;
  return cohort ? Names(*cohort) : std::vector<std::string>{};
}

TEST(NormalizeIdentifierTest, LowercasesAndStripsOneTrailingDot) {
  EXPECT_EQ(NormalizeIdentifier("Example.COM."), "example.com");
  EXPECT_EQ(NormalizeIdentifier("example.com"), "example.com");
  EXPECT_EQ(NormalizeIdentifier("WWW.Example.Com"), "www.example.com");
  EXPECT_EQ(NormalizeIdentifier("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(NormalizeIdentifier("2001:DB8::1"), "2001:db8::1");
  EXPECT_EQ(NormalizeIdentifier(""), "");
  EXPECT_EQ(NormalizeIdentifier("."), "");
  EXPECT_EQ(NormalizeIdentifier("a.."), "a.");
}

// Pinned so a change to the ranking (which would reshuffle every cohort during a rolling
// upgrade of primaries) is deliberate. Ranks computed independently with Python's hmac module.
TEST(SelectCohortTest, GoldenRanking) {
  const std::vector<Perspective> fleet = Fleet();
  EXPECT_THAT(Select(kSecret, "example.com", 0, fleet, 3), ElementsAre("nyc", "jnb", "tyo"));
  EXPECT_THAT(Select(kSecret, "example.com", 1, fleet, 3), ElementsAre("sin", "sfo", "syd"));
  // Count 2: "tyo","sin" and later "sin","syd" are all APNIC, so the lower pick is swapped for
  // the best-ranked remote of another RIR.
  EXPECT_THAT(Select(kSecret, "example.com", 0, fleet, 2), ElementsAre("nyc", "jnb"));
  EXPECT_THAT(Select(kSecret, "example.com", 1, fleet, 2), ElementsAre("tyo", "sfo"));
  EXPECT_THAT(Select(kSecret, "example.com", 2, fleet, 2), ElementsAre("sin", "lon"));
  EXPECT_THAT(Select(kSecret, "example.com", 3, fleet, 2), ElementsAre("syd", "gru"));
}

TEST(SelectCohortTest, DeterministicAndNormalized) {
  const std::vector<Perspective> fleet = Fleet();
  for (int count = 1; count <= 8; ++count) {
    const std::vector<std::string> want = Select(kSecret, "example.com", 0, fleet, count);
    EXPECT_EQ(want.size(), static_cast<std::size_t>(count));
    EXPECT_EQ(Select(kSecret, "example.com", 0, fleet, count), want);
    EXPECT_EQ(Select(kSecret, "EXAMPLE.com.", 0, fleet, count), want);
    EXPECT_EQ(Select(kSecret, "Example.Com", 0, fleet, count), want);
  }
}

TEST(SelectCohortTest, IndependentOfConfigOrder) {
  std::vector<Perspective> fleet = Fleet();
  const std::vector<std::string> want = Select(kSecret, "shop.example", 1, fleet, 3);
  std::reverse(fleet.begin(), fleet.end());
  EXPECT_EQ(Select(kSecret, "shop.example", 1, fleet, 3), want);
  std::rotate(fleet.begin(), fleet.begin() + 3, fleet.end());
  EXPECT_EQ(Select(kSecret, "shop.example", 1, fleet, 3), want);
}

TEST(SelectCohortTest, AttemptsAreDisjointUntilThePoolIsExhausted) {
  const std::vector<Perspective> fleet = Fleet();
  for (int count = 1; count <= 8; ++count) {
    for (int id = 0; id < 20; ++id) {
      const std::string identifier = "host" + std::to_string(id) + ".example.org";
      std::set<std::string> used;
      const int attempts = 8 / count;
      for (int attempt = 0; attempt < attempts; ++attempt) {
        for (const std::string& name : Select(kSecret, identifier, attempt, fleet, count)) {
          EXPECT_TRUE(used.insert(name).second)
              << name << " reused in attempt " << attempt << " (count " << count << ")";
        }
      }
      EXPECT_EQ(used.size(), static_cast<std::size_t>(attempts * count));
      Result<std::vector<Perspective>> exhausted =
          SelectCohort(kSecret, identifier, attempts, fleet, count);
      ASSERT_FALSE(exhausted.has_value()) << count;
      EXPECT_EQ(exhausted.error().type, ProblemType::kServerInternal);
      EXPECT_THAT(exhausted.error().detail, HasSubstr("pool exhausted"));
      EXPECT_FALSE(SelectCohort(kSecret, identifier, attempts + 5, fleet, count).has_value());
    }
  }
}

TEST(SelectCohortTest, DependsOnTheSecretAndTheIdentifier) {
  const std::vector<Perspective> fleet = Fleet();
  int secret_differs = 0;
  std::set<std::vector<std::string>> cohorts;
  std::map<std::string, int> picked;
  const int kIdentifiers = 200;
  for (int id = 0; id < kIdentifiers; ++id) {
    const std::string identifier = "n" + std::to_string(id) + ".example.net";
    const std::vector<std::string> a = Select(kSecret, identifier, 0, fleet, 3);
    const std::vector<std::string> b = Select(kOtherSecret, identifier, 0, fleet, 3);
    if (a != b) ++secret_differs;
    std::vector<std::string> sorted = a;
    std::sort(sorted.begin(), sorted.end());
    cohorts.insert(sorted);
    for (const std::string& name : a) ++picked[name];
  }
  // Chance alone makes equal cohorts rare (~1/56 each); require a clear majority to differ.
  EXPECT_GT(secret_differs, kIdentifiers * 3 / 4);
  EXPECT_GT(cohorts.size(), 20u);  // many different sets, not one fixed cohort
  for (const Perspective& p : fleet) EXPECT_GT(picked[p.name], 10) << p.name;
  // The keyed HMAC context is cached per thread and secret: switching secrets re-keys it, so
  // the golden ranking comes back right after the other secret was used.
  ASSERT_FALSE(Select(kOtherSecret, "example.com", 0, fleet, 3).empty());
  EXPECT_THAT(Select(kSecret, "example.com", 0, fleet, 3), ElementsAre("nyc", "jnb", "tyo"));
}

TEST(SelectCohortTest, SpansTwoRirsWheneverThePoolCan) {
  // Six ARIN remotes and one RIPE: every first cohort of >= 2 must include the RIPE one.
  std::vector<Perspective> fleet;
  for (int i = 0; i < 6; ++i) fleet.push_back({"arin" + std::to_string(i), Rir::kArin, {}});
  fleet.push_back({"ripe0", Rir::kRipeNcc, {}});
  for (int id = 0; id < 100; ++id) {
    const std::string identifier = "x" + std::to_string(id) + ".example";
    for (int count = 2; count <= 7; ++count) {
      Result<std::vector<Perspective>> first = SelectCohort(kSecret, identifier, 0, fleet, count);
      ASSERT_TRUE(first.has_value());
      EXPECT_EQ(Rirs(*first).size(), 2u) << identifier << " count " << count;
    }
    // The second attempt has only ARIN left: still served, one RIR.
    Result<std::vector<Perspective>> second = SelectCohort(kSecret, identifier, 1, fleet, 3);
    ASSERT_TRUE(second.has_value());
    EXPECT_EQ(Rirs(*second), std::set<Rir>{Rir::kArin});
  }

  // Five and five: every attempt that can span two RIRs does.
  std::vector<Perspective> balanced;
  for (int i = 0; i < 5; ++i) {
    balanced.push_back({"a" + std::to_string(i), Rir::kArin, {}});
    balanced.push_back({"p" + std::to_string(i), Rir::kApnic, {}});
  }
  for (int id = 0; id < 100; ++id) {
    const std::string identifier = "y" + std::to_string(id) + ".example";
    for (int count = 2; count <= 5; ++count) {
      std::vector<Perspective> left = balanced;
      for (int attempt = 0; attempt < 10 / count; ++attempt) {
        Result<std::vector<Perspective>> cohort =
            SelectCohort(kSecret, identifier, attempt, balanced, count);
        ASSERT_TRUE(cohort.has_value());
        const bool pool_can = Rirs(left).size() >= 2;
        if (pool_can) {
          EXPECT_EQ(Rirs(*cohort).size(), 2u) << identifier << " attempt " << attempt;
        }
        for (const Perspective& p : *cohort) {
          left.erase(std::find(left.begin(), left.end(), p));
        }
      }
    }
  }

  // A single-RIR pool and a single pick are served as they are.
  const std::vector<Perspective> arin(fleet.begin(), fleet.begin() + 6);
  EXPECT_EQ(Select(kSecret, "z.example", 0, arin, 4).size(), 4u);
  EXPECT_EQ(Select(kSecret, "z.example", 0, fleet, 1).size(), 1u);
}

TEST(SelectCohortTest, RejectsBadInput) {
  const std::vector<Perspective> fleet = Fleet();
  struct Case {
    std::string_view secret;
    int attempt, count;
    ProblemType type;
  };
  for (Case c :
       {Case{"", 0, 3, ProblemType::kMalformed},
        Case{"short-secret-15", 0, 3, ProblemType::kMalformed},
        Case{kSecret, -1, 3, ProblemType::kMalformed}, Case{kSecret, 0, 0, ProblemType::kMalformed},
        Case{kSecret, 0, -2, ProblemType::kMalformed},
        Case{kSecret, 0, 9, ProblemType::kServerInternal}}) {
    Result<std::vector<Perspective>> got =
        SelectCohort(c.secret, "example.com", c.attempt, fleet, c.count);
    ASSERT_FALSE(got.has_value()) << c.secret << " " << c.attempt << " " << c.count;
    EXPECT_EQ(got.error().type, c.type) << got.error().detail;
  }
  EXPECT_TRUE(SelectCohort("sixteen-byte-key", "example.com", 0, fleet, 3).has_value());
  EXPECT_FALSE(SelectCohort(kSecret, "example.com", 0, {}, 1).has_value());

  std::vector<Perspective> duplicate = fleet;
  duplicate[3].name = "nyc";
  Result<std::vector<Perspective>> got = SelectCohort(kSecret, "example.com", 0, duplicate, 3);
  ASSERT_FALSE(got.has_value());
  EXPECT_EQ(got.error().type, ProblemType::kMalformed);
  EXPECT_THAT(got.error().detail, HasSubstr("\"nyc\""));
  duplicate[3].name.clear();
  EXPECT_FALSE(SelectCohort(kSecret, "example.com", 0, duplicate, 3).has_value());
}

}  // namespace
}  // namespace mpic::quorum
