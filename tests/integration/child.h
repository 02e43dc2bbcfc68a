// A child process for integration tests: stdout+stderr appended to a log file, stdin
// /dev/null, SIGKILLed when the object is destroyed while it still runs (and when the test
// process dies: PR_SET_PDEATHSIG). Every wait is bounded.
//
//   Child remote({BinDir() + "/va-remote", "--config", config}, dir + "/remote.log");
//   remote.Signal(SIGTERM);
//   EXPECT_EQ(remote.Wait(10s), 0) << remote.Log();
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace mpic::testing {

class Child {
 public:
  // args[0] is the executable's path (no PATH search).
  Child(const std::vector<std::string>& args, const std::string& log_file);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int sig) const;
  // The exit code (-signal when killed by one), or nullopt when still running after `limit`.
  std::optional<int> Wait(std::chrono::milliseconds limit);
  bool Running();
  // What the child wrote so far.
  std::string Log() const;

 private:
  std::string log_;
  pid_t pid_ = -1;
  bool exited_ = false;
};

// The whole file ("" when it cannot be read).
std::string ReadAll(const std::string& path);

}  // namespace mpic::testing
