// A child process for integration tests, on the lab's launcher (lab/child_process.h): stdout
// and stderr appended to a log file, stdin /dev/null, tied to the test process
// (PR_SET_PDEATHSIG), stopped (SIGTERM, then SIGKILL) when the object is destroyed while it
// still runs. Every wait is bounded. A child that cannot be started behaves as one that
// exited with 127, its log saying why.
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

#include "lab/child_process.h"

namespace mpic::testing {

using lab::ReadAll;

class Child {
 public:
  // args[0] is the executable's path.
  Child(const std::vector<std::string>& args, const std::string& log_file);
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return process_ ? process_->pid() : -1; }
  void Signal(int sig) const {
    if (process_) process_->Signal(sig);
  }
  // The exit code (-signal when killed by one), or nullopt when still running after `limit`.
  std::optional<int> Wait(std::chrono::milliseconds limit) {
    return process_ ? process_->Wait(limit) : std::optional<int>(127);
  }
  bool Running() { return process_ && process_->Running(); }
  // What the child wrote so far.
  std::string Log() const { return ReadAll(log_); }

 private:
  std::string log_;
  std::optional<lab::ChildProcess> process_;
};

}  // namespace mpic::testing
