#include "tests/integration/recursive_server.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

extern char** environ;

namespace mpic::testing {
namespace {

bool Answers(const std::string& ip, int port) {
  // Bounded probe: dig, one try, one second.
  std::string cmd = "dig +time=1 +tries=1 +short -p " + std::to_string(port) + " @" + ip +
                    " . SOA >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

}  // namespace

tl::expected<std::unique_ptr<RecursiveServer>, std::string> RecursiveServer::Start(
    const lab::DnsLab& lab, const std::string& ip, int port) {
  std::string dir = lab.dir() + "/unbound-" + ip + "-" + std::to_string(port);
  std::string mkdir = "mkdir -p '" + dir + "'";
  if (std::system(mkdir.c_str()) != 0) return tl::unexpected("cannot create " + dir);
  std::string conf = dir + "/unbound.conf";
  {
    std::ofstream out(conf);
    out << "server:\n"
        << "  interface: " << ip << "@" << port << "\n"
        << "  access-control: 127.0.0.0/8 allow\n"
        << "  do-ip6: no\n"
        << "  do-not-query-localhost: no\n"
        << "  root-hints: \"" << lab.root_hints_file() << "\"\n"
        << "  trust-anchor-file: \"" << lab.trust_anchor_file() << "\"\n"
        << "  username: \"\"\n  chroot: \"\"\n  directory: \"" << dir << "\"\n"
        << "  pidfile: \"" << dir << "/unbound.pid\"\n"
        << "  use-syslog: no\n  logfile: \"" << dir << "/unbound.log\"\n"
        << "  verbosity: 1\n  num-threads: 1\n"
        // No cache between test cases' lookups matters less here, but keep answers fresh.
        << "  cache-max-ttl: 0\n  cache-max-negative-ttl: 0\n"
        << "remote-control:\n  control-enable: no\n";
    if (!out) return tl::unexpected("cannot write " + conf);
  }
  std::unique_ptr<RecursiveServer> server(new RecursiveServer());
  server->address_ = ip + ":" + std::to_string(port);
  std::string bin = "/usr/sbin/unbound";
  char* argv[] = {bin.data(), const_cast<char*>("-d"), const_cast<char*>("-c"), conf.data(),
                  nullptr};
  if (posix_spawn(&server->pid_, bin.c_str(), nullptr, nullptr, argv, environ) != 0) {
    return tl::unexpected("cannot start " + bin);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    if (Answers(ip, port)) return server;
    int status = 0;
    if (waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
      server->pid_ = -1;
      return tl::unexpected("unbound exited; see " + dir + "/unbound.log");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return tl::unexpected(std::string("unbound did not answer within 15 s"));
}

RecursiveServer::~RecursiveServer() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

}  // namespace mpic::testing
