#include "openmpic/orchestration.h"

#include <gtest/gtest.h>

namespace mpic::openmpic {
namespace {

// BR phase 2026-06-15: at least 4 remotes, one may fail with 2-5, two with 6+.
OrchestrationFloor Floor(int min = 4, int pool = 12, int attempts = 3, bool monitoring = false) {
  auto policy = quorum::Policy::BaselineRequirements(quorum::Date{2026, 6, 15});
  EXPECT_TRUE(policy);
  return OrchestrationFloor{*policy, min, pool, attempts, monitoring};
}

RequestedOrchestration Req(std::optional<int64_t> n, std::optional<int64_t> q,
                           std::optional<int64_t> attempts = std::nullopt,
                           std::optional<int64_t> cohort = std::nullopt) {
  return RequestedOrchestration{true, n, q, attempts, cohort};
}

std::string FirstIssue(const RequestedOrchestration& requested, const OrchestrationFloor& floor) {
  auto out = ResolveOrchestration(requested, floor);
  if (out) return "";
  return out.error().front().issue_type;
}

TEST(OrchestrationTest, DefaultsAreThePrimarysFloor) {
  auto out = ResolveOrchestration(RequestedOrchestration{}, Floor());
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, (Orchestration{4, 3, 1, std::nullopt, false}));
}

struct FloorCase {
  std::optional<int64_t> n;
  std::optional<int64_t> q;
  std::string issue;  // "" = accepted
  int want_n = 0;
  int want_q = 0;
};

class FloorTest : public testing::TestWithParam<FloorCase> {};

TEST_P(FloorTest, Table) {
  const FloorCase& c = GetParam();
  auto out = ResolveOrchestration(Req(c.n, c.q), Floor());
  if (c.issue.empty()) {
    ASSERT_TRUE(out) << out.error().front().message;
    EXPECT_EQ(out->perspective_count, c.want_n);
    EXPECT_EQ(out->quorum_count, c.want_q);
  } else {
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().front().issue_type, c.issue);
    EXPECT_FALSE(out.error().front().message.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    BrTable, FloorTest,
    testing::Values(
        FloorCase{4, 3, "", 4, 3},             // the floor itself
        FloorCase{4, 4, "", 4, 4},             // stricter quorum
        FloorCase{5, std::nullopt, "", 5, 4},  // more perspectives, table quorum
        FloorCase{6, std::nullopt, "", 6, 4},  // 6+: two may fail
        FloorCase{6, 4, "", 6, 4},
        FloorCase{8, 6, "", 8, 6},
        FloorCase{12, 12, "", 12, 12},
        FloorCase{3, 2, "invalid-perspective-count"},   // below the configured cohort
        FloorCase{2, std::nullopt, "invalid-perspective-count"},
        FloorCase{0, std::nullopt, "invalid-perspective-count"},
        FloorCase{-1, std::nullopt, "invalid-perspective-count"},
        FloorCase{13, std::nullopt, "invalid-perspective-count"},  // beyond the pool
        FloorCase{4, 2, "invalid-quorum-count"},   // looser than the table
        FloorCase{6, 3, "invalid-quorum-count"},
        FloorCase{5, 6, "invalid-quorum-count"},   // more than asked
        FloorCase{5, -1, "invalid-quorum-count"},
        FloorCase{5, 0, "monitoring-mode-disabled"}));

TEST(OrchestrationTest, MonitoringOnlyWhenEnabled) {
  auto out = ResolveOrchestration(Req(4, 0), Floor(4, 12, 3, /*monitoring=*/true));
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->monitoring);
  EXPECT_EQ(out->quorum_count, 0);
  EXPECT_EQ(FirstIssue(Req(4, 0), Floor()), "monitoring-mode-disabled");
  // Monitoring does not lower the perspective floor.
  EXPECT_EQ(FirstIssue(Req(2, 0), Floor(4, 12, 3, true)), "invalid-perspective-count");
}

TEST(OrchestrationTest, AttemptsAreCappedByConfigAndDisjointCohorts) {
  auto out = ResolveOrchestration(Req(std::nullopt, std::nullopt, 2), Floor());
  ASSERT_TRUE(out);
  EXPECT_EQ(out->max_attempts, 2);
  out = ResolveOrchestration(Req(std::nullopt, std::nullopt, 10), Floor());
  ASSERT_TRUE(out);
  EXPECT_EQ(out->max_attempts, 3);  // operator cap
  out = ResolveOrchestration(Req(6, std::nullopt, 10), Floor(4, 12, 5));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->max_attempts, 2);  // 12 remotes hold two disjoint cohorts of 6
  EXPECT_EQ(FirstIssue(Req(std::nullopt, std::nullopt, 0), Floor()), "invalid-max-attempts");
  EXPECT_EQ(FirstIssue(Req(std::nullopt, std::nullopt, -3), Floor()), "invalid-max-attempts");
}

TEST(OrchestrationTest, CohortForSingleAttempt) {
  EXPECT_EQ(CohortCount(Floor(), 4), 3);
  EXPECT_EQ(CohortCount(Floor(), 5), 2);
  EXPECT_EQ(CohortCount(Floor(), 0), 0);
  auto out = ResolveOrchestration(Req(4, std::nullopt, std::nullopt, 3), Floor());
  ASSERT_TRUE(out);
  EXPECT_EQ(out->cohort, 3);
  EXPECT_EQ(out->max_attempts, 1);
  out = ResolveOrchestration(Req(4, std::nullopt, 1, 1), Floor());
  ASSERT_TRUE(out);
  EXPECT_EQ(out->cohort, 1);
  EXPECT_EQ(FirstIssue(Req(4, std::nullopt, std::nullopt, 4), Floor()),
            "invalid-cohort-for-single-attempt");
  EXPECT_EQ(FirstIssue(Req(4, std::nullopt, std::nullopt, 0), Floor()),
            "invalid-cohort-for-single-attempt");
  EXPECT_EQ(FirstIssue(Req(5, std::nullopt, std::nullopt, 3), Floor()),
            "invalid-cohort-for-single-attempt");
  EXPECT_EQ(FirstIssue(Req(4, std::nullopt, 2, 1), Floor()), "invalid-max-attempts");
}

TEST(OrchestrationTest, ReasonNamesThePolicy) {
  auto out = ResolveOrchestration(Req(4, 2), Floor());
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().front().message.find("at least 3 must corroborate"), std::string::npos)
      << out.error().front().message;
  EXPECT_NE(out.error().front().message.find("2026-06-15"), std::string::npos);
}

TEST(OrchestrationTest, MisconfiguredFloorFailsClosed) {
  OrchestrationFloor empty;  // no cohort configured: nothing may run
  EXPECT_EQ(FirstIssue(RequestedOrchestration{}, empty), "invalid-perspective-count");
}

TEST(OrchestrationTest, ResearchPolicyUsesK) {
  auto policy = quorum::Policy::KOfN(2, 3, 0, false);
  ASSERT_TRUE(policy);
  OrchestrationFloor floor{*policy, 3, 6, 2, false};
  auto out = ResolveOrchestration(Req(3, std::nullopt), floor);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->quorum_count, 2);
  EXPECT_EQ(FirstIssue(Req(3, 1), floor), "invalid-quorum-count");
}

}  // namespace
}  // namespace mpic::openmpic
