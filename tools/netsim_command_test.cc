#include "tools/netsim_command.h"

#include <gtest/gtest.h>

namespace mpic::tools {
namespace {

TEST(NetsimCommand, PassesArgumentsThrough) {
  EXPECT_EQ(NetsimArgv("/usr/bin/python3", "/src/tests/netsim/netsim.py",
                       {"run", "s.json", "--out", "/tmp/r"}),
            (std::vector<std::string>{"/usr/bin/python3", "/src/tests/netsim/netsim.py", "run",
                                      "s.json", "--out", "/tmp/r"}));
}

TEST(NetsimCommand, OnlyReportRunsWithoutRoot) {
  EXPECT_TRUE(NetsimNeedsRoot({"run", "s.json"}));
  EXPECT_TRUE(NetsimNeedsRoot({"selftest"}));
  EXPECT_TRUE(NetsimNeedsRoot({"cleanup"}));
  EXPECT_FALSE(NetsimNeedsRoot({"report", "r.json"}));
  EXPECT_FALSE(NetsimNeedsRoot({}));
}

}  // namespace
}  // namespace mpic::tools
