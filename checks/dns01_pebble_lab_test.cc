// Interop: DNS-01 against pebble-challtestsrv, an independent ACME challenge responder. A lab
// child zone (pebble-N.insecure.lab.) is delegated to its DNS-01 listener on one of the lab's
// free loopback addresses; TXT values are set through its management API. Our check must
// accept the right value and reject a wrong one.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "checks/key_authorization.h"
#include "checks/testing/check_lab.h"

namespace mpic::checks {
namespace {

using namespace std::chrono_literals;
using testing::LabEnv;
using testing::MakeRequest;
using testing::ProblemName;
using testing::RunOnLab;

constexpr int kManagementPort = 8055;

// Runs `command` through sh, bounded by timeout(1); returns its exit status and stdout.
int Shell(const std::string& command, std::string* out) {
  std::string cmd = "timeout 10 " + command + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return -1;
  std::array<char, 1024> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out->append(buf.data(), n);
  return pclose(pipe);
}

bool TcpReachable(const std::string& address, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, address.c_str(), &sa.sin_addr);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  close(fd);
  return ok;
}

// pebble-challtestsrv with only its DNS-01 listener and management API, on `address`.
class ChallTestSrv {
 public:
  explicit ChallTestSrv(std::string address) : address_(std::move(address)) {}
  ~ChallTestSrv() { Stop(); }

  ::testing::AssertionResult Start() {
    const std::string dns01 = address_ + ":53";
    const std::string management = address_ + ":" + std::to_string(kManagementPort);
    pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) return ::testing::AssertionFailure() << "fork failed";
    if (pid_ == 0) {
      // Child: die with the test; quiet; nothing but exec after fork.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(127);
      int devnull = open("/dev/null", O_RDWR);
      if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
      }
      execlp("pebble-challtestsrv", "pebble-challtestsrv", "-dns01", dns01.c_str(), "-http01", "",
             "-https01", "", "-tlsalpn01", "", "-management", management.c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    // Ready when the management API accepts connections (bounded: 10 s).
    for (int i = 0; i < 200; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return ::testing::AssertionFailure() << "pebble-challtestsrv exited early";
      }
      if (TcpReachable(address_, kManagementPort)) return ::testing::AssertionSuccess();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return ::testing::AssertionFailure() << "pebble-challtestsrv not ready in 10 s";
  }

  ::testing::AssertionResult Post(const std::string& path, const std::string& json) {
    std::string out;
    std::string cmd =
        "curl -sS --noproxy '*' --max-time 5 -o /dev/null -w '%{http_code}' -X POST"
        " -d '" +
        json + "' http://" + address_ + ":" + std::to_string(kManagementPort) + path;
    int status = Shell(cmd, &out);
    if (status != 0 || out != "200") {
      return ::testing::AssertionFailure() << cmd << " -> " << status << " " << out;
    }
    return ::testing::AssertionSuccess();
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {  // bounded: 5 s, then SIGKILL
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  std::string address_;
  pid_t pid_ = -1;
};

TEST(Dns01Pebble, ChallTestSrvAnswersAreValidated) {
  ASSERT_NE(LabEnv::lab(), nullptr);
  const std::string address = LabEnv::lab()->free_address(0);
  ChallTestSrv srv(address);
  ASSERT_TRUE(srv.Start());

  // Delegate pebble.insecure.lab. (unsigned parent: an Insecure delegation) to it.
  auto st = LabEnv::lab()->Set("insecure.lab.", "pebble.insecure.lab.", "NS",
                               {"ns.pebble.insecure.lab."});
  ASSERT_TRUE(st.has_value()) << st.error();
  st = LabEnv::lab()->Set("insecure.lab.", "ns.pebble.insecure.lab.", "A", {address});
  ASSERT_TRUE(st.has_value()) << st.error();

  const std::string host = "_acme-challenge.pebble.insecure.lab.";
  const std::string expected = Dns01TxtValue(testing::kKeyAuthorization);
  ASSERT_TRUE(srv.Post("/set-txt", "{\"host\":\"" + host + "\",\"value\":\"" + expected + "\"}"));
  CheckResult good = RunOnLab(MakeRequest(Method::kDns01, "pebble.insecure.lab"));
  EXPECT_TRUE(good.valid) << ToJson(good).dump();
  EXPECT_EQ(good.evidence.txt_values, std::vector<std::string>{expected});
  ASSERT_EQ(good.evidence.lookups.size(), 1u);
  EXPECT_EQ(good.evidence.lookups[0].dnssec, "insecure");

  ASSERT_TRUE(srv.Post("/clear-txt", "{\"host\":\"" + host + "\"}"));
  ASSERT_TRUE(srv.Post("/set-txt", "{\"host\":\"" + host + "\",\"value\":\"not-the-digest\"}"));
  CheckResult bad = RunOnLab(MakeRequest(Method::kDns01, "pebble.insecure.lab"));
  EXPECT_FALSE(bad.valid);
  EXPECT_EQ(ProblemName(bad), "unauthorized") << ToJson(bad).dump();
  EXPECT_EQ(bad.evidence.txt_values, std::vector<std::string>{"not-the-digest"});

  srv.Stop();
}

}  // namespace
}  // namespace mpic::checks
