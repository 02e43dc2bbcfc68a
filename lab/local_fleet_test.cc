// ChildProcess, HttpPost and the identities: the pieces of the local fleet that touch processes
// and sockets.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "lab/child_process.h"
#include "lab/fleet_member.h"
#include "lab/http_post.h"
#include "lab/local_fleet.h"
#include "quorum/geo.h"

namespace mpic::lab {
namespace {

using namespace std::chrono_literals;

std::string TempLog() {
  char tmpl[] = "/tmp/mpic-child-test.XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd >= 0) close(fd);
  return tmpl;
}

TEST(ChildProcess, StopsWithSigtermAndLogsOutput) {
  const std::string log = TempLog();
  auto child = ChildProcess::Start({"/bin/sh", "-c", "echo hello; exec sleep 30"}, log);
  ASSERT_TRUE(child.has_value()) << child.error().detail;
  EXPECT_TRUE(child->Running());
  // The child runs in a process group of its own.
  EXPECT_EQ(getpgid(child->pid()), child->pid());
  for (int i = 0; i < 100 && TailOfFile(log).find("hello") == std::string::npos; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(TailOfFile(log).find("hello"), std::string::npos);
  auto start = std::chrono::steady_clock::now();
  child->Stop(5s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  EXPECT_FALSE(child->Running());
  EXPECT_EQ(child->how_it_ended(), "killed by signal 15");
  unlink(log.c_str());
}

TEST(ChildProcess, IgnoringSigtermEndsWithSigkillAfterGrace) {
  const std::string log = TempLog();
  auto child = ChildProcess::Start({"/bin/sh", "-c", "trap '' TERM; echo armed; sleep 30"}, log);
  ASSERT_TRUE(child.has_value());
  for (int i = 0; i < 100 && TailOfFile(log).find("armed") == std::string::npos; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  child->Stop(300ms);
  EXPECT_EQ(child->how_it_ended(), "killed by signal 9");
  unlink(log.c_str());
}

TEST(ChildProcess, ExitStatusAndMissingBinary) {
  const std::string log = TempLog();
  auto child = ChildProcess::Start({"sh", "-c", "exit 3"}, log);  // found through PATH
  ASSERT_TRUE(child.has_value());
  for (int i = 0; i < 250 && child->Running(); ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(child->how_it_ended(), "exited with status 3");
  EXPECT_FALSE(ChildProcess::Start({"/nonexistent/binary"}, log).has_value());
  EXPECT_FALSE(ChildProcess::Start({}, log).has_value());
  unlink(log.c_str());
}

TEST(ChildProcess, WaitGivesTheExitCodeAndSignalEndsIt) {
  const std::string log = TempLog();
  auto exits = ChildProcess::Start({"/bin/sh", "-c", "echo bye; exit 3"}, log);
  ASSERT_TRUE(exits.has_value()) << exits.error().detail;
  EXPECT_EQ(exits->Wait(10s), std::optional<int>(3));
  EXPECT_EQ(exits->Wait(0ms), std::optional<int>(3));  // already reaped
  EXPECT_EQ(ReadAll(log), "bye\n");

  auto sleeper = ChildProcess::Start({"/bin/sh", "-c", "exec sleep 30"}, log);
  ASSERT_TRUE(sleeper.has_value());
  EXPECT_EQ(sleeper->Wait(50ms), std::nullopt);
  sleeper->Signal(SIGKILL);
  EXPECT_EQ(sleeper->Wait(10s), std::optional<int>(-SIGKILL));
  EXPECT_FALSE(sleeper->Running());
  unlink(log.c_str());
}

// One-shot HTTP server on 127.0.0.1:port; records the request.
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply) : reply_(std::move(reply)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    listen(fd_, 1);
    socklen_t len = sizeof sa;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      // Until the end of the headers plus the body (small): one or two reads.
      while (request_.find("\r\n\r\n") == std::string::npos ||
             request_.size() < request_.find("\r\n\r\n") + 4 + 17) {
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        request_.append(buf, static_cast<size_t>(n));
      }
      (void)!write(c, reply_.data(), reply_.size());
      close(c);
    });
  }
  ~OneShotServer() {
    shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  const std::string& request() const { return request_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::string reply_;
  std::string request_;
  std::thread thread_;
};

TEST(HttpPost, SendsJsonAndParsesStatus) {
  OneShotServer server("HTTP/1.1 201 Created\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  auto reply = HttpPost("127.0.0.1", server.port(), "/add-http01", R"({"token":"abc12"})", 5s);
  ASSERT_TRUE(reply.has_value()) << reply.error().detail;
  EXPECT_EQ(reply->status, 201);
  EXPECT_EQ(reply->body, "ok");
  std::string request = server.request();
  EXPECT_TRUE(request.starts_with("POST /add-http01 HTTP/1.1\r\n")) << request;
  EXPECT_NE(request.find("Content-Length: 17\r\n"), std::string::npos) << request;
  EXPECT_TRUE(request.ends_with(R"({"token":"abc12"})")) << request;
}

TEST(HttpPost, RefusesNonLoopbackAndReportsRefusedConnections) {
  EXPECT_FALSE(HttpPost("192.0.2.1", 80, "/x", "{}", 1s).has_value());
  EXPECT_FALSE(HttpPost("not-an-ip", 80, "/x", "{}", 1s).has_value());
  EXPECT_FALSE(HttpPost("127.0.0.1", 1, "/x\r\nEvil: 1", "{}", 1s).has_value());
  auto refused = HttpPost("127.0.0.1", 1, "/x", "{}", 1s);  // nothing listens on port 1
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().type, ProblemType::kConnection);
  EXPECT_FALSE(TcpReachable("127.0.0.1", 1));
}

TEST(Identities, UniqueNamesAllRirsFirstFive) {
  std::set<std::string> names = {PrimaryIdentity().name()};
  std::set<int> rirs;
  const auto& pool = RemoteIdentities();
  ASSERT_GE(pool.size(), 5u);
  for (size_t i = 0; i < pool.size(); ++i) {
    EXPECT_TRUE(names.insert(pool[i].name()).second) << pool[i].name();
    if (i < 5) rirs.insert(pool[i].rir());
  }
  EXPECT_EQ(rirs.size(), 5u);
}

TEST(Identities, EveryPairAtLeast500KmApart) {
  std::vector<v1::PerspectiveIdentity> all = RemoteIdentities();
  all.push_back(PrimaryIdentity());
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t j = i + 1; j < all.size(); ++j) {
      quorum::Location a{all[i].location().latitude(), all[i].location().longitude()};
      quorum::Location b{all[j].location().latitude(), all[j].location().longitude()};
      EXPECT_TRUE(quorum::AreDistinct(a, b))
          << all[i].name() << " - " << all[j].name() << ": " << quorum::DistanceKm(a, b) << " km";
    }
  }
}

// The configs the one launcher writes: what LocalFleet and `mpic netsim fleet` give the servers.
MemberSpec SampleMember(const std::string& name) {
  MemberSpec m;
  m.identity.set_name(name);
  m.identity.set_rir(v1::RIPE_NCC);
  m.listen = "10.77.3.2:7000";
  m.metrics_listen = "";
  m.pki_dir = "/p";
  m.resolver.mutable_unbound()->set_root_hints_file("/d/root.hints");
  m.lab.add_allow_cidrs("10.77.0.0/16");
  m.lab.set_allow_private_ranges(true);
  m.max_check_ms = 8000;
  return m;
}

TEST(FleetMember, RemoteConfigCarriesTheDescription) {
  RemoteSpec spec;
  spec.member = SampleMember("eu-fra-1");
  spec.max_concurrent = 7;
  spec.authorized_primaries = {"us-east-iad-1"};
  const v1::RemoteConfig c = RemoteConfigFor(spec, "/r/eu-fra-1.ready");
  EXPECT_EQ(c.identity().name(), "eu-fra-1");
  EXPECT_EQ(c.listen(), "10.77.3.2:7000");
  EXPECT_EQ(c.ready_file(), "/r/eu-fra-1.ready");
  EXPECT_EQ(c.metrics_listen(), "");
  EXPECT_EQ(c.tls().ca_file(), "/p/ca.pem");
  EXPECT_EQ(c.tls().cert_file(), "/p/eu-fra-1.pem");
  EXPECT_EQ(c.tls().key_file(), "/p/eu-fra-1.key");
  EXPECT_EQ(c.resolver().unbound().root_hints_file(), "/d/root.hints");
  ASSERT_EQ(c.lab().allow_cidrs_size(), 1);
  EXPECT_TRUE(c.lab().allow_private_ranges());
  EXPECT_EQ(c.max_check_ms(), 8000u);
  EXPECT_EQ(c.max_concurrent(), 7u);
  ASSERT_EQ(c.authorized_primaries_size(), 1);
  EXPECT_EQ(c.authorized_primaries(0), "us-east-iad-1");
}

TEST(FleetMember, PrimaryConfigCarriesRemotesPolicyAndAFreshSecret) {
  PrimarySpec spec;
  spec.member = SampleMember("us-east-iad-1");
  for (const char* name : {"eu-fra-1", "ap-sin-1"}) {
    v1::RemoteEndpoint e;
    e.mutable_identity()->set_name(name);
    e.set_address(std::string(name) + ":7000");
    spec.remotes.push_back(e);
  }
  spec.policy.set_effective_date("2026-12-15");
  spec.audit_log = "/w/audit.jsonl";
  spec.authorized_clients = {"mpic-ca-client"};
  spec.remote_timeout_ms = 4000;
  spec.straggler_grace_ms = 500;
  const v1::PrimaryConfig a = PrimaryConfigFor(spec, "/r/p.ready");
  const v1::PrimaryConfig b = PrimaryConfigFor(spec, "/r/p.ready");
  EXPECT_EQ(a.server_tls().cert_file(), "/p/us-east-iad-1.pem");
  EXPECT_EQ(a.client_tls().key_file(), "/p/us-east-iad-1.key");
  ASSERT_EQ(a.remotes_size(), 2);
  EXPECT_EQ(a.remotes(1).address(), "ap-sin-1:7000");
  EXPECT_EQ(a.policy().effective_date(), "2026-12-15");
  EXPECT_EQ(a.remotes_per_validation(), 2u);  // 0 in the spec: every remote
  EXPECT_EQ(a.remote_timeout_ms(), 4000u);
  EXPECT_EQ(a.straggler_grace_ms(), 500u);
  EXPECT_EQ(a.audit_log(), "/w/audit.jsonl");
  EXPECT_FALSE(a.has_openmpic());
  EXPECT_EQ(a.selection_secret().size(), 64u);
  EXPECT_NE(a.selection_secret(), b.selection_secret());
  spec.remotes_per_validation = 1;
  spec.selection_secret = "fixed";
  const v1::PrimaryConfig c = PrimaryConfigFor(spec, "/r/p.ready");
  EXPECT_EQ(c.remotes_per_validation(), 1u);
  EXPECT_EQ(c.selection_secret(), "fixed");
}

TEST(FleetMember, NamespaceMembersRunBehindIpNetnsExec) {
  EXPECT_EQ(MemberArgv("/b/va-remote", "/c/x.json", ""),
            (std::vector<std::string>{"/b/va-remote", "--config", "/c/x.json"}));
  EXPECT_EQ(MemberArgv("/b/va-remote", "/c/x.json", "ns-r1"),
            (std::vector<std::string>{"ip", "netns", "exec", "ns-r1", "/b/va-remote", "--config",
                                      "/c/x.json"}));
}

TEST(FleetMember, AMemberThatExitsBeforeReadyIsNamedWithItsLog) {
  char tmpl[] = "/tmp/mpic-member-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  // A stand-in binary (this tests the launcher's logic, not va-remote).
  {
    std::ofstream script(dir + "/va-remote");
    script << "#!/bin/sh\necho \"cannot bind: $2\" >&2\nexit 4\n";
  }
  ASSERT_EQ(chmod((dir + "/va-remote").c_str(), 0755), 0);
  const FleetDirs dirs = FleetDirs::Under(dir);
  ASSERT_TRUE(dirs.Create().has_value());
  RemoteSpec spec;
  spec.member = SampleMember("eu-fra-1");
  auto m = LaunchRemote(spec, dir, dirs);
  ASSERT_TRUE(m.has_value()) << m.error().detail;
  EXPECT_TRUE(std::ifstream(dir + "/config/eu-fra-1.json").good());
  auto st = AwaitReady({&*m}, 20s, [] { return false; });
  ASSERT_FALSE(st.has_value());
  EXPECT_NE(st.error().detail.find("eu-fra-1 exited with status 4 before it was ready"),
            std::string::npos)
      << st.error().detail;
  EXPECT_NE(st.error().detail.find("cannot bind: " + dir + "/config/eu-fra-1.json"),
            std::string::npos)
      << st.error().detail;
  std::vector<FleetMember> none;
  StopMembers(&*m, none);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mpic::lab
