// A child process of `mpic fleet`, the benchmarks and the integration tests: started with fork/exec, tied to this process
// (PR_SET_PDEATHSIG, so it dies with the tool even on SIGKILL), in a process group of its own
// (a terminal's Ctrl-C reaches the tool, which stops children in order), stdin from
// /dev/null, stdout and stderr appended to a log file. Stopping is bounded: SIGTERM to the
// group, a grace period, then SIGKILL.
//
//   auto child = ChildProcess::Start({"/usr/bin/pebble-challtestsrv", "-http01", "..."},
//                                    dir + "/logs/responder.log");
//   if (!child) return Fail(child.error());
//   ...
//   child->Stop(std::chrono::seconds(5));
//
// Start() must run on a thread that outlives the child (PR_SET_PDEATHSIG fires when the
// forking thread exits): the tool's main thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace mpic::lab {

class ChildProcess {
 public:
  // argv[0] is an absolute path or a name searched in PATH.
  [[nodiscard]] static Result<ChildProcess> Start(const std::vector<std::string>& argv,
                                                  const std::string& log_file);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Stops the child (bounded) if still running.
  ~ChildProcess();

  // True while the child has not exited (reaps it when it has).
  [[nodiscard]] bool Running();
  // How it ended, e.g. "exited with status 2" or "killed by signal 9"; "" while running.
  [[nodiscard]] const std::string& how_it_ended() const { return ended_; }

  // Sends `sig` to the child itself (not its group), e.g. SIGKILL to play a crash.
  void Signal(int sig) const;
  // Waits up to `limit` for the child to exit (reaping it): its exit status, or -N when signal
  // N ended it; nullopt while it still runs after `limit`. Once reaped, returns at once.
  [[nodiscard]] std::optional<int> Wait(std::chrono::milliseconds limit);

  // SIGTERM to its process group without waiting (to stop several children at once; Stop()
  // then waits for each).
  void Terminate();
  // SIGTERM to its process group, up to `grace` for it to exit, then SIGKILL. Idempotent.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] const std::string& log_file() const { return log_file_; }

 private:
  ChildProcess(pid_t pid, std::string log_file) : pid_(pid), log_file_(std::move(log_file)) {}
  void Reaped(int status);

  pid_t pid_ = -1;
  std::string log_file_;
  std::string ended_;
  std::optional<int> exit_code_;  // set when reaped: status, or -signal
};

// The whole file ("" when it cannot be read), e.g. a child's log.
[[nodiscard]] std::string ReadAll(const std::string& path);

// The last `max_lines` lines of a (log) file, for error messages.
[[nodiscard]] std::string TailOfFile(const std::string& path, int max_lines = 15);

}  // namespace mpic::lab
