// Small pieces the benchmark programs share.
//
//   if (auto exit = ParseCommandLine("checks_bench", kUsage, flags, argc,
//   argv)) return *exit; const double cpu0 = SelfCpuSeconds();
#pragma once

#include <optional>
#include <string>

#include "tools/flags.h"

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
                                                  tools::Flags& flags, int argc, char** argv);

// Prints "PROGRAM: WHY" and the usage to stderr; returns 2 (bad usage).
int UsageError(const char* program, const char* usage, const std::string& why);

}  // namespace mpic::bench
