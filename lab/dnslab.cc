#include "lab/dnslab.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>
#include <utility>

#include "lab/data_dir.h"

extern char** environ;

namespace mpic::lab {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kReadyTimeout = std::chrono::seconds(30);
constexpr auto kCommandTimeout = std::chrono::seconds(60);
constexpr auto kStopTimeout = std::chrono::seconds(10);

std::string Errno(std::string_view what) { return std::string(what) + ": " + std::strerror(errno); }

// Resolved before fork(): only async-signal-safe calls may run between fork and exec.
std::string FindPython() {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "";
  dirs += ":/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/python3";
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "/usr/bin/python3";
}

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

std::string NormalizeZone(std::string_view zone) {
  std::string out(zone);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (out.empty() || out.back() != '.') out += '.';
  return out;
}

}  // namespace

tl::expected<std::unique_ptr<DnsLab>, std::string> DnsLab::Start() {
  // The script is a data file of the installed tree (share/mpic/dnslab/dnslab.py).
  auto script_file = DataFile("dnslab/dnslab.py");
  if (!script_file) return tl::unexpected("dnslab: " + script_file.error().detail);
  std::unique_ptr<DnsLab> lab(new DnsLab());
  const char* tmp = std::getenv("TMPDIR");
  std::string dir_template =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/mpic-dnslab-XXXXXX";
  if (mkdtemp(dir_template.data()) == nullptr) return tl::unexpected(Errno("mkdtemp"));
  lab->dir_ = dir_template;

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    std::error_code ec;
    std::filesystem::remove_all(lab->dir_, ec);
    return tl::unexpected(Errno("socketpair"));
  }
  std::string python = FindPython();
  std::string script = *script_file;
  std::vector<std::string> args = {python, script, "serve", "--dir", lab->dir_};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t parent = getpid();

  pid_t pid = fork();
  if (pid == 0) {
    // The child: async-signal-safe calls only. stdin and stdout are both the socket;
    // stderr stays the test's so the script's messages show up in test logs.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    if (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0) _exit(127);
    close_range(3, ~0U, 0);
    execve(argv[0], argv.data(), environ);
    _exit(127);
  }
  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    std::error_code ec;
    std::filesystem::remove_all(lab->dir_, ec);
    return tl::unexpected(Errno("fork"));
  }
  lab->pid_ = pid;
  lab->fd_ = sv[0];

  // From here on the destructor cleans up whatever happens.
  auto line = lab->ReadLine(Clock::now() + kReadyTimeout);
  if (!line) return tl::unexpected("dnslab did not become ready: " + line.error());
  nlohmann::json ready = nlohmann::json::parse(*line, nullptr, /*allow_exceptions=*/false);
  if (!ready.is_object() || !ready.value("ready", false)) {
    return tl::unexpected("dnslab: unexpected first line: " + *line);
  }
  try {
    lab->root_hints_file_ = ready.at("root_hints").get<std::string>();
    lab->trust_anchor_file_ = ready.at("trust_anchor").get<std::string>();
    lab->block_ = ready.at("block").get<std::string>();
    lab->free_addresses_ = ready.at("free_addresses").get<std::vector<std::string>>();
    (void)ready.at("servers").get<nlohmann::json::object_t>();
    (void)ready.at("zones").get<nlohmann::json::object_t>();
  } catch (const nlohmann::json::exception& e) {
    return tl::unexpected(std::string("dnslab: bad descriptor: ") + e.what());
  }
  ready.erase("ready");
  lab->descriptor_ = std::move(ready);
  return lab;
}

DnsLab::~DnsLab() { Shutdown(); }

void DnsLab::Shutdown() {
  if (pid_ > 0) {
    if (fd_ >= 0) {
      // "stop", then EOF: either makes the lab clean up and exit.
      (void)WriteAll("{\"cmd\":\"stop\"}\n", Clock::now() + std::chrono::seconds(1));
      shutdown(fd_, SHUT_WR);
    }
    const auto deadline = Clock::now() + kStopTimeout;
    bool reaped = false;
    while (!reaped && Clock::now() < deadline) {
      pid_t r = waitpid(pid_, nullptr, WNOHANG);
      if (r == pid_ || (r < 0 && errno != EINTR)) {
        reaped = true;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    if (!reaped) {
      // Its NSDs get SIGTERM from their PR_SET_PDEATHSIG when it dies.
      kill(pid_, SIGKILL);
      while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    pid_ = -1;
  }
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string DnsLab::server(std::string_view role_or_zone) const {
  const auto& servers = descriptor_.at("servers");
  if (auto it = servers.find(std::string(role_or_zone)); it != servers.end()) {
    return it->get<std::string>();
  }
  const auto& zones = descriptor_.at("zones");
  if (auto it = zones.find(NormalizeZone(role_or_zone)); it != zones.end()) {
    return it->at("server").get<std::string>();
  }
  return "";
}

std::string DnsLab::free_address(std::size_t i) const {
  return i < free_addresses_.size() ? free_addresses_[i] : "";
}

tl::expected<void, std::string> DnsLab::Set(std::string_view zone, std::string_view name,
                                            std::string_view type, std::vector<std::string> rdata,
                                            int ttl) {
  nlohmann::json request = {
      {"cmd", "set"}, {"zone", zone}, {"name", name}, {"type", type}, {"rdata", std::move(rdata)},
      {"ttl", ttl}};
  auto reply = Command(request);
  if (!reply) return tl::unexpected(reply.error());
  return {};
}

tl::expected<void, std::string> DnsLab::Rekey(std::string_view zone) {
  auto reply = Command({{"cmd", "rekey"}, {"zone", zone}});
  if (!reply) return tl::unexpected(reply.error());
  return {};
}

tl::expected<nlohmann::json, std::string> DnsLab::Command(const nlohmann::json& request) {
  std::lock_guard lock(mutex_);
  if (fd_ < 0) return tl::unexpected(std::string("dnslab is not running"));
  const auto deadline = Clock::now() + kCommandTimeout;
  if (auto written = WriteAll(request.dump() + "\n", deadline); !written) {
    return tl::unexpected(written.error());
  }
  auto line = ReadLine(deadline);
  if (!line) return tl::unexpected(line.error());
  nlohmann::json reply = nlohmann::json::parse(*line, nullptr, /*allow_exceptions=*/false);
  if (!reply.is_object()) return tl::unexpected("dnslab: bad reply: " + *line);
  if (!reply.value("ok", false)) {
    return tl::unexpected(reply.value("error", std::string("dnslab: failed: ") + *line));
  }
  return reply;
}

tl::expected<std::string, std::string> DnsLab::ReadLine(Clock::time_point deadline) {
  while (true) {
    if (auto pos = buffer_.find('\n'); pos != std::string::npos) {
      std::string line = buffer_.substr(0, pos);
      buffer_.erase(0, pos + 1);
      return line;
    }
    pollfd pfd{fd_, POLLIN, 0};
    int n = poll(&pfd, 1, RemainingMs(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::unexpected(Errno("poll"));
    if (n == 0) return tl::unexpected(std::string("timed out waiting for dnslab"));
    char chunk[4096];
    ssize_t got = read(fd_, chunk, sizeof(chunk));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return tl::unexpected(Errno("read from dnslab"));
    if (got == 0) return tl::unexpected(std::string("dnslab exited (see its stderr)"));
    buffer_.append(chunk, static_cast<std::size_t>(got));
  }
}

tl::expected<void, std::string> DnsLab::WriteAll(std::string_view data,
                                                 Clock::time_point deadline) {
  while (!data.empty()) {
    pollfd pfd{fd_, POLLOUT, 0};
    int n = poll(&pfd, 1, RemainingMs(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tl::unexpected(Errno("poll"));
    if (n == 0) return tl::unexpected(std::string("timed out writing to dnslab"));
    // MSG_NOSIGNAL: a dead lab is an error here, not a SIGPIPE for the whole test.
    ssize_t sent = send(fd_, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (sent < 0) return tl::unexpected(Errno("write to dnslab"));
    data.remove_prefix(static_cast<std::size_t>(sent));
  }
  return {};
}

}  // namespace mpic::lab
