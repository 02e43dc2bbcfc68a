// The binaries' own flags: --help prints the usage on stdout and exits 0; --version prints
// "NAME VERSION (git REVISION)" and exits 0; no arguments is still a usage error (2).
#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "common/version.h"
#include "tests/integration/command.h"

namespace mpic::testing {
namespace {

using namespace std::chrono_literals;

TEST(CliTest, ServersHelp) {
  for (const std::string name : {"va-primary", "va-remote"}) {
    for (const std::string flag : {"--help", "-h"}) {
      CommandResult r = RunCommand({BinDir() + "/" + name, flag}, 20s);
      EXPECT_EQ(r.exit_code, 0) << name << " " << flag << ": " << r.err;
      EXPECT_NE(r.out.find("usage: " + name + " --config FILE"), std::string::npos) << r.out;
      EXPECT_NE(r.out.find("--version"), std::string::npos) << r.out;
    }
    CommandResult none = RunCommand({BinDir() + "/" + name}, 20s);
    EXPECT_EQ(none.exit_code, 2) << name;
    EXPECT_NE(none.err.find("usage: " + name), std::string::npos) << none.err;
  }
}

TEST(CliTest, EveryBinaryHasVersion) {
  const std::regex revision("([0-9a-f]{12}(-dirty)?|unknown)");
  for (const std::string name : {"va-primary", "va-remote", "mpic"}) {
    CommandResult r = RunCommand({BinDir() + "/" + name, "--version"}, 20s);
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
    const std::string prefix = name + " " + kVersion + " (git ";
    ASSERT_TRUE(r.out.starts_with(prefix)) << r.out;
    ASSERT_TRUE(r.out.ends_with(")\n")) << r.out;
    const std::string rev = r.out.substr(prefix.size(), r.out.size() - prefix.size() - 2);
    EXPECT_TRUE(std::regex_match(rev, revision)) << rev;
    EXPECT_EQ(rev, kGitRevision);
  }
}

}  // namespace
}  // namespace mpic::testing
