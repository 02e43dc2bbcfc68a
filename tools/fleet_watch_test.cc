#include "tools/fleet_watch.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mpic::tools {
namespace {

using quorum::Rir;

std::vector<quorum::Perspective> Pool(const std::vector<Rir>& rirs) {
  std::vector<quorum::Perspective> out;
  for (std::size_t i = 0; i < rirs.size(); ++i) {
    out.push_back({"r" + std::to_string(i), rirs[i], {}});
  }
  return out;
}

quorum::Policy Br() { return *quorum::Policy::BaselineRequirements(quorum::Date{2026, 12, 15}); }

const std::vector<Rir> kFive = {Rir::kRipeNcc, Rir::kArin, Rir::kApnic, Rir::kLacnic,
                                Rir::kAfrinic};

TEST(FleetWatch, OneOfFiveLostTheQuorumHolds) {
  const auto pool = Pool(kFive);
  const quorum::Policy policy = Br();
  const std::vector<bool> running = {true, true, true, true, false};
  const QuorumOutlook o = OutlookAfterLoss(policy, 5, pool, running);
  EXPECT_EQ(o.left, 4);
  EXPECT_EQ(o.required, policy.RequiredCorroborations(5));
  EXPECT_TRUE(o.all_continue);
  EXPECT_FALSE(o.none_continue);
  const std::string line = DescribeRemoteLoss("r4", "killed by signal 9", policy, 5, pool, running);
  EXPECT_NE(line.find("remote r4 killed by signal 9; 4 of 5 remotes left"), std::string::npos)
      << line;
  EXPECT_NE(line.find("still reachable: validations continue"), std::string::npos) << line;
}

TEST(FleetWatch, TwoOfFiveLostIsBelowQuorum) {
  const auto pool = Pool(kFive);
  const std::vector<bool> running = {true, true, true, false, false};
  const QuorumOutlook o = OutlookAfterLoss(Br(), 5, pool, running);
  EXPECT_EQ(o.left, 3);
  EXPECT_FALSE(o.all_continue);
  EXPECT_TRUE(o.none_continue);
  const std::string line = DescribeRemoteLoss("r3", "exited with status 1", Br(), 5, pool, running);
  EXPECT_NE(line.find("below quorum"), std::string::npos) << line;
  EXPECT_NE(line.find("NOT_CORROBORATED"), std::string::npos) << line;
}

TEST(FleetWatch, TooFewRirsLeftIsBelowQuorum) {
  // Research 2-of-3 needing two RIRs; the two left share one RIR.
  auto policy = quorum::Policy::KOfN(2, 3, 2, true);
  ASSERT_TRUE(policy.has_value());
  const auto pool = Pool({Rir::kArin, Rir::kArin, Rir::kRipeNcc});
  const QuorumOutlook o = OutlookAfterLoss(*policy, 3, pool, {true, true, false});
  EXPECT_TRUE(o.none_continue);
  EXPECT_FALSE(o.all_continue);
  EXPECT_NE(DescribeRemoteLoss("r2", "", *policy, 3, pool, {true, true, false}).find("RIRs"),
            std::string::npos);
}

TEST(FleetWatch, ACohortSmallerThanThePoolMayOrMayNotInclude) {
  // Seven remotes, five per validation: with one lost every cohort still has four running;
  // with two lost a cohort that includes both cannot reach four of five.
  std::vector<Rir> seven = kFive;
  seven.push_back(Rir::kRipeNcc);
  seven.push_back(Rir::kApnic);
  const auto pool = Pool(seven);
  const QuorumOutlook one =
      OutlookAfterLoss(Br(), 5, pool, {true, true, true, true, true, true, false});
  EXPECT_TRUE(one.all_continue);
  const std::vector<bool> two = {true, true, true, true, true, false, false};
  const QuorumOutlook o = OutlookAfterLoss(Br(), 5, pool, two);
  EXPECT_FALSE(o.all_continue);
  EXPECT_FALSE(o.none_continue);
  const std::string line = DescribeRemoteLoss("r6", "killed by signal 15", Br(), 5, pool, two);
  EXPECT_NE(line.find("a validation whose cohort of 5 includes more than 1 of the 2 stopped"),
            std::string::npos)
      << line;
}

}  // namespace
}  // namespace mpic::tools
