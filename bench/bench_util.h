// Small pieces the benchmark programs share.
//
//   if (auto exit = ParseCommandLine("checks_bench", kUsage, flags, argc,
//   argv)) return *exit; const double cpu0 = SelfCpuSeconds();
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "lab/flags.h"

namespace mpic::bench {

// User + system CPU of this process (all threads), in seconds.
[[nodiscard]] double SelfCpuSeconds();

// utime + stime of another process (all its threads), from /proc/PID/stat, in seconds; -1 when
// unreadable.
[[nodiscard]] double ProcessCpuSeconds(int pid);

// The directory of the running executable ("." if unknown).
[[nodiscard]] std::string SelfDir();

// Parses argv[1..] (positionals refused). nullopt: go on; otherwise the exit
// code, after printing the usage (to stdout for --help, with the error to
// stderr otherwise). `flags` must declare a "help" switch.
[[nodiscard]] std::optional<int> ParseCommandLine(const char* program, const char* usage,
                                                  lab::Flags& flags, int argc, char** argv);

// Keeps `concurrency` operations in flight until `count` have been started and every one of
// them has ended. `start(done)` begins one operation and must see that `done()` is called
// exactly once when it ends, from any thread. Run() returns when the last one has ended and no
// callback is inside this object any more: each operation must bound itself (the benchmarks'
// gRPC calls carry deadlines).
//
//   ClosedLoop loop([&](std::function<void()> done) { StartCall(std::move(done)); });
//   loop.Run(10000, 32);
class ClosedLoop {
 public:
  using Start = std::function<void(std::function<void()> done)>;
  explicit ClosedLoop(Start start) : start_(std::move(start)) {}

  void Run(int count, int concurrency);

 private:
  void Done();

  Start start_;
  std::mutex mutex_;
  std::condition_variable idle_;
  int total_ = 0, issued_ = 0, completed_ = 0;
  int busy_ = 0;  // Done() calls past their count (they may still start the next operation)
};

// Prints "PROGRAM: WHY" and the usage to stderr; returns 2 (bad usage).
int UsageError(const char* program, const char* usage, const std::string& why);

}  // namespace mpic::bench
