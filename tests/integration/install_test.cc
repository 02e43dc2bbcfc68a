// The installed tree works anywhere: `cmake --install` of this build to a temporary prefix,
// the tree then moved elsewhere, and `mpic fleet up` run from there with the source tree (and
// the build tree inside it) hidden under an empty tmpfs in a private mount namespace, so a
// compiled-in source or build path, or a data file left out of share/mpic, fails the test.
// Needs root (the mount namespace; the fleet's DNS lab binds 127.x:53).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/integration/command.h"

namespace mpic::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/mpic-install-test.XXXXXX";
    if (mkdtemp(tmpl) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool Executable(const fs::path& p) { return access(p.c_str(), X_OK) == 0; }

TEST(Install, InstalledTreeRunsTheFleetFromAnywhere) {
  const std::string build = Env("MPIC_BUILD_DIR");
  const std::string source = Env("MPIC_SOURCE_TREE");
  const std::string cmake = Env("MPIC_CMAKE");
  ASSERT_FALSE(build.empty() || source.empty() || cmake.empty())
      << "MPIC_BUILD_DIR, MPIC_SOURCE_TREE and MPIC_CMAKE are set by ctest";
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());

  const std::string staged = tmp.path() + "/staged";
  CommandResult install = RunCommand({cmake, "--install", build, "--prefix", staged}, 300s);
  ASSERT_EQ(install.exit_code, 0) << install.out << install.err;

  // Copied anywhere: the whole tree moves; nothing may point back into `staged`.
  const fs::path prefix = fs::path(tmp.path()) / "elsewhere" / "opt-mpic";
  fs::create_directories(prefix.parent_path());
  fs::rename(staged, prefix);
  for (const char* bin : {"mpic", "va-primary", "va-remote"}) {
    EXPECT_TRUE(Executable(prefix / "bin" / bin)) << bin;
  }
  EXPECT_FALSE(fs::exists(prefix / "bin" / "fleet_loadgen")) << "benchmarks are not installed";
  for (const char* data : {"dnslab/dnslab.py", "netsim/netsim.py", "netsim/simfleet.py",
                           "netsim/scenarios/ci-matrix.json"}) {
    EXPECT_TRUE(fs::is_regular_file(prefix / "share" / "mpic" / data)) << data;
  }
  EXPECT_FALSE(fs::is_symlink(prefix / "share" / "mpic" / "dnslab" / "dnslab.py"))
      << "installed data files are copies, not links into the source tree";

  // Nothing from the test's environment may lead the installed binaries to the build tree.
  unsetenv("MPIC_DATA_DIR");
  unsetenv("MPIC_BIN_DIR");
  const std::string fleet_dir = tmp.path() + "/fleet";
  // In a private mount namespace, empty tmpfs over the source tree and the build tree (when
  // it is not inside the source tree), then exec the rest:
  //   unshare --mount sh -c SCRIPT sh SOURCE BUILD COMMAND...
  const std::string script =
      "mount -t tmpfs mpic-hidden \"$1\" || exit 97; "
      "if [ -d \"$2\" ]; then mount -t tmpfs mpic-hidden \"$2\" || exit 97; fi; "
      "cd / && shift 2 && exec \"$@\"";  // the test's own directory is in the build tree
  auto hidden = [&](std::vector<std::string> command, std::chrono::milliseconds limit) {
    std::vector<std::string> argv = {"/usr/bin/unshare", "--mount", "--propagation", "private",
                                     "/bin/sh", "-c", script, "sh", source, build};
    argv.insert(argv.end(), command.begin(), command.end());
    return RunCommand(argv, limit);
  };
  const std::string mpic = (prefix / "bin" / "mpic").string();

  // Both trees are really hidden in there.
  CommandResult probe = hidden({"/bin/ls", "-A", source}, 30s);
  ASSERT_EQ(probe.exit_code, 0) << "cannot hide the source tree (root needed): " << probe.err;
  EXPECT_EQ(probe.out, "");
  EXPECT_EQ(hidden({"/usr/bin/test", "-e", build + "/CMakeCache.txt"}, 30s).exit_code, 1);

  CommandResult fleet = hidden({mpic, "fleet", "up", "--dir", fleet_dir}, 240s);
  EXPECT_EQ(fleet.exit_code, 0) << fleet.out << "\n--- stderr\n" << fleet.err;
  EXPECT_NE(fleet.out.find("fleet: 4/4 decisions as expected"), std::string::npos) << fleet.out;

  // `mpic netsim` finds its harness in share/mpic/netsim (it then fails on the missing file).
  CommandResult netsim = hidden({mpic, "netsim", "report", tmp.path() + "/none.json"}, 60s);
  EXPECT_EQ(netsim.err.find("harness not found"), std::string::npos) << netsim.err;
  EXPECT_NE(netsim.exit_code, 0);
}

}  // namespace
}  // namespace mpic::testing
