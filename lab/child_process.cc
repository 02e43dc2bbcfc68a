#include "lab/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace mpic::lab {
namespace {

// execvp is not async-signal-safe: resolve PATH before fork.
std::string ResolveExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

std::string Describe(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "ended (status " + std::to_string(status) + ")";
}

}  // namespace

Result<ChildProcess> ChildProcess::Start(const std::vector<std::string>& args,
                                         const std::string& log_file) {
  if (args.empty()) return Fail(ProblemType::kMalformed, "empty command");
  const std::string path = ResolveExecutable(args[0]);
  if (path.empty() || access(path.c_str(), X_OK) != 0) {
    return Fail(ProblemType::kServerInternal, "cannot find executable " + args[0]);
  }
  int log_fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return Fail(ProblemType::kServerInternal, "cannot open " + log_file + ": " + strerror(errno));
  }
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    close(log_fd);
    return Fail(ProblemType::kServerInternal, std::string("/dev/null: ") + strerror(errno));
  }
  std::vector<std::string> owned = args;
  std::vector<char*> argv;
  for (auto& a : owned) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();

  pid_t pid = fork();
  if (pid == 0) {
    // The child: async-signal-safe calls only until exec.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
    signal(SIGPIPE, SIG_DFL);             // the tool ignores it; children get the default
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    if (dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0) _exit(127);
    close_range(3, ~0U, 0);
    execve(path.c_str(), argv.data(), environ);
    _exit(127);
  }
  int fork_errno = errno;
  close(log_fd);
  close(null_fd);
  if (pid < 0) {
    return Fail(ProblemType::kServerInternal, std::string("fork: ") + strerror(fork_errno));
  }
  setpgid(pid, pid);  // also from the parent: no window where a group signal misses it
  return ChildProcess(pid, log_file);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(other.pid_),
      log_file_(std::move(other.log_file_)),
      ended_(std::move(other.ended_)),
      exit_code_(other.exit_code_) {
  other.pid_ = -1;
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    Stop();
    pid_ = other.pid_;
    log_file_ = std::move(other.log_file_);
    ended_ = std::move(other.ended_);
    exit_code_ = other.exit_code_;
    other.pid_ = -1;
  }
  return *this;
}

ChildProcess::~ChildProcess() { Stop(); }

void ChildProcess::Reaped(int status) {
  ended_ = Describe(status);
  if (WIFEXITED(status)) exit_code_ = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) exit_code_ = -WTERMSIG(status);
  pid_ = -1;
}

void ChildProcess::Signal(int sig) const {
  if (pid_ > 0) kill(pid_, sig);
}

std::optional<int> ChildProcess::Wait(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (Running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return exit_code_;
}

bool ChildProcess::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    Reaped(status);
    return false;
  }
  if (r < 0 && errno == ECHILD) {
    ended_ = "ended (not our child any more)";
    pid_ = -1;
    return false;
  }
  return true;
}

// Signals go to the group only while the leader is unreaped (a zombie at worst), so its pid,
// which is the group id, cannot have been reused by anyone else.
void ChildProcess::Terminate() {
  if (pid_ > 0) kill(-pid_, SIGTERM);
}

void ChildProcess::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return;
  auto exited_unreaped = [&] {
    siginfo_t info{};
    return waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == pid_;
  };
  kill(-pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (!exited_unreaped() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(-pid_, SIGKILL);  // the leader if it ignored SIGTERM, and anything it left behind
  int status = 0;
  if (waitpid(pid_, &status, 0) == pid_) {
    Reaped(status);
  } else {
    ended_ = "ended";
    pid_ = -1;
  }
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string TailOfFile(const std::string& path, int max_lines) {
  std::ifstream in(path);
  std::deque<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(std::move(line));
    if (static_cast<int>(lines.size()) > max_lines) lines.pop_front();
  }
  std::string out;
  for (const auto& l : lines) out += "    | " + l + "\n";
  return out;
}

}  // namespace mpic::lab
