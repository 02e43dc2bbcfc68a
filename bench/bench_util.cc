#include "bench/bench_util.h"

#include <sys/resource.h>

#include <filesystem>
#include <iostream>

namespace mpic::bench {

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(usage.ru_utime) + sec(usage.ru_stime);
}

std::string SelfDir() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : self.parent_path().string();
}

int UsageError(const char* program, const char* usage, const std::string& why) {
  std::cerr << program << ": " << why << "\n" << usage;
  return 2;
}

std::optional<int> ParseCommandLine(const char* program, const char* usage, tools::Flags& flags,
                                    int argc, char** argv) {
  if (auto st = flags.Parse(argc, argv, 1); !st) {
    return UsageError(program, usage, st.error().detail);
  }
  if (flags.Has("help")) {
    std::cout << usage;
    return 0;
  }
  if (!flags.positionals().empty()) {
    return UsageError(program, usage, "unexpected argument " + flags.positionals()[0]);
  }
  return std::nullopt;
}

}  // namespace mpic::bench
