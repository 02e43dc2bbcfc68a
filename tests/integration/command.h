// Runs a command for a test, bounded in time, capturing stdout, stderr and the exit code.
//
//   auto r = RunCommand({bin + "/mpic", "resolve", "www.secure.lab", "A"}, 10s);
//   EXPECT_EQ(r.exit_code, 0);
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace mpic::testing {

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal or the time limit
  bool timed_out = false;
  std::string out;
  std::string err;
};

CommandResult RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds limit);

// $MPIC_BIN_DIR (set by ctest for every mpic_test), or "" when unset.
std::string BinDir();

}  // namespace mpic::testing
