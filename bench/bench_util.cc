#include "bench/bench_util.h"

#include <sys/resource.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace mpic::bench {

double SelfCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto sec = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return sec(usage.ru_utime) + sec(usage.ru_stime);
}

double ProcessCpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');  // the command name may contain spaces
  if (close == std::string::npos || close + 2 > stat.size()) return -1;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
  double utime = -1, stime = -1;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  if (utime < 0 || stime < 0) return -1;
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string SelfDir() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : self.parent_path().string();
}

void ClosedLoop::Run(int count, int concurrency) {
  int first = 0;
  {
    std::lock_guard lock(mutex_);
    total_ = count;
    completed_ = busy_ = 0;
    issued_ = first = std::min(count, concurrency);
  }
  for (int i = 0; i < first; ++i) start_([this] { Done(); });
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return completed_ == total_ && busy_ == 0; });
}

void ClosedLoop::Done() {
  bool again = false;
  {
    std::lock_guard lock(mutex_);
    ++completed_;
    ++busy_;
    if (issued_ < total_) {
      ++issued_;
      again = true;
    }
  }
  if (again) start_([this] { Done(); });
  std::lock_guard lock(mutex_);
  if (--busy_ == 0 && completed_ == total_) idle_.notify_all();
}

int UsageError(const char* program, const char* usage, const std::string& why) {
  std::cerr << program << ": " << why << "\n" << usage;
  return 2;
}

std::optional<int> ParseCommandLine(const char* program, const char* usage, lab::Flags& flags,
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
