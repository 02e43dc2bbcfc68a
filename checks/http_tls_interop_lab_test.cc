// Interop: our HTTP-01 and TLS-ALPN-01 checks against an independent ACME challenge responder,
// Debian's pebble-challtestsrv, bound only to a lab loopback address (its DNS and HTTPS
// listeners disabled). What it serves for a challenge we must accept; what it serves for
// another challenge we must reject.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "checks/check.h"
#include "checks/testing/check_lab.h"

namespace mpic::checks {
namespace {

using namespace std::chrono_literals;
using testing::kTestKeyAuthorization;
using testing::kTestToken;
using testing::CheckLab;

constexpr char kChalltestsrv[] = "/usr/bin/pebble-challtestsrv";
const std::string kKa(kTestKeyAuthorization);
// A second, unrelated challenge.
const std::string kOtherToken = "u7MbCXtzZL5Kf2KqVvY8eQvvYzZ3t7sWm9Qh1r2aB0c";

sockaddr_in Endpoint(const std::string& address, uint16_t port) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  inet_pton(AF_INET, address.c_str(), &sin.sin_addr);
  return sin;
}

// A port the kernel considers free on `address` right now (the socket is closed again).
uint16_t FreePort(const std::string& address) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin = Endpoint(address, 0);
  socklen_t len = sizeof sin;
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) == 0) {
    port = ntohs(sin.sin_port);
  }
  close(fd);
  return port;
}

// One HTTP/1.1 exchange with a 5 s bound on each socket operation; "" on failure.
std::string HttpExchange(const std::string& address, uint16_t port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in sin = Endpoint(address, port);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0 &&
      send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
    char buf[4096];
    for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0 && response.size() < 65536;) {
      response.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return response;
}

class Challtestsrv {
 public:
  static tl::expected<std::unique_ptr<Challtestsrv>, std::string> Start(
      const std::string& address) {
    std::unique_ptr<Challtestsrv> srv(new Challtestsrv);
    srv->address_ = address;
    srv->http_port_ = FreePort(address);
    srv->tls_port_ = FreePort(address);
    srv->management_port_ = FreePort(address);
    auto at = [&](uint16_t port) { return address + ":" + std::to_string(port); };
    std::vector<std::string> args = {kChalltestsrv,
                                     "-http01",
                                     at(srv->http_port_),
                                     "-tlsalpn01",
                                     at(srv->tls_port_),
                                     "-management",
                                     at(srv->management_port_),
                                     "-https01",
                                     "",
                                     "-dns01",
                                     ""};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return tl::unexpected(std::string("fork failed"));
    if (pid == 0) {
      // Dies with the test; quiet unless the test fails.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      int null = open("/dev/null", O_WRONLY);
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
      execv(kChalltestsrv, argv.data());
      _exit(127);
    }
    srv->pid_ = pid;
    // Ready when the management API answers (bounded).
    for (auto end = Clock::now() + 10s; Clock::now() < end;) {
      if (!srv->Post("/clear-request-history", "{\"host\":\"x\",\"type\":\"http\"}").empty()) {
        return srv;
      }
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        srv->pid_ = -1;
        return tl::unexpected("pebble-challtestsrv exited with status " + std::to_string(status));
      }
      std::this_thread::sleep_for(50ms);
    }
    return tl::unexpected(std::string("pebble-challtestsrv did not start within 10 s"));
  }

  ~Challtestsrv() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (auto end = Clock::now() + 5s; Clock::now() < end;) {
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(20ms);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

  // Management API call; the response (status line first), "" when unreachable.
  std::string Post(const std::string& path, const std::string& json) {
    return HttpExchange(address_, management_port_,
                        "POST " + path + " HTTP/1.1\r\nHost: " + address_ +
                            "\r\nContent-Type: application/json\r\nContent-Length: " +
                            std::to_string(json.size()) + "\r\nConnection: close\r\n\r\n" + json);
  }

  bool Ok(const std::string& path, const std::string& json) {
    return Post(path, json).starts_with("HTTP/1.1 200");
  }

  uint16_t http_port() const { return http_port_; }
  uint16_t tls_port() const { return tls_port_; }

 private:
  Challtestsrv() = default;
  std::string address_;
  uint16_t http_port_ = 0;
  uint16_t tls_port_ = 0;
  uint16_t management_port_ = 0;
  pid_t pid_ = -1;
};

class InteropTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (access(kChalltestsrv, X_OK) != 0) {
      *setup_error_ = std::string(kChalltestsrv) + " is not installed";
      return;
    }
    auto lab = CheckLab::Start();
    if (!lab) {
      *setup_error_ = lab.error();
      return;
    }
    lab_ = lab->release();
    address_ = new std::string(lab_->free_address(2));
    for (const char* name : {"cts", "cts2", "cts3"}) {
      if (auto err = lab_->Set(name, "A", {*address_}); !err.empty()) {
        *setup_error_ = err;
        return;
      }
    }
    auto srv = Challtestsrv::Start(*address_);
    if (!srv) {
      *setup_error_ = srv.error();
      return;
    }
    srv_ = srv->release();
  }

  static void TearDownTestSuite() {
    delete srv_;
    srv_ = nullptr;
    delete lab_;
    lab_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(setup_error_->empty()) << *setup_error_;
    ASSERT_NE(srv_, nullptr);
  }

  static CheckResult Run(Method method, std::string identifier, std::string token,
                         std::string key_authorization) {
    CheckRequest request;
    request.method = method;
    request.identifier = std::move(identifier);
    request.token = std::move(token);
    request.key_authorization = std::move(key_authorization);
    request.deadline = Clock::now() + 3s;
    auto dialer = lab_->MakeDialer(srv_->http_port(), srv_->tls_port());
    EXPECT_NE(dialer, nullptr);
    auto deadline = request.deadline;
    auto result = lab_->Run(*dialer, std::move(request));
    EXPECT_LT(Clock::now(), deadline + 2s);
    std::printf("  %s\n", ToJson(result).dump().c_str());
    return result;
  }

  static void ExpectProblem(const CheckResult& r, ProblemType type, std::string_view part) {
    EXPECT_FALSE(r.valid);
    ASSERT_TRUE(r.problem.has_value());
    EXPECT_EQ(ProblemTypeName(r.problem->type), ProblemTypeName(type)) << r.problem->detail;
    EXPECT_NE(r.problem->detail.find(part), std::string::npos) << r.problem->detail;
  }

  static inline CheckLab* lab_ = nullptr;
  static inline Challtestsrv* srv_ = nullptr;
  static inline std::string* address_ = nullptr;
  static inline std::string* setup_error_ = new std::string;
};

TEST_F(InteropTest, Http01Accepted) {
  ASSERT_TRUE(srv_->Ok("/add-http01", "{\"token\":\"" + std::string(kTestToken) +
                                          "\",\"content\":\"" + kKa + "\"}"));
  auto r = Run(Method::kHttp01, "cts.secure.lab", std::string(kTestToken), kKa);
  EXPECT_TRUE(r.valid) << (r.problem ? r.problem->detail : "");
  EXPECT_EQ(r.evidence.http_body, kKa);
}

TEST_F(InteropTest, Http01WrongKeyAuthorizationRejected) {
  // The responder serves another account's key authorization for this token.
  ASSERT_TRUE(srv_->Ok("/add-http01", "{\"token\":\"" + kOtherToken + "\",\"content\":\"" +
                                          kOtherToken + ".someone-elses-thumbprint\"}"));
  auto r = Run(Method::kHttp01, "cts.secure.lab", kOtherToken,
               kOtherToken + ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI");
  ExpectProblem(r, ProblemType::kUnauthorized, "did not match");
}

TEST_F(InteropTest, Http01UnknownTokenRejected) {
  // The responder answers 200 with an empty body for a token it does not know.
  const std::string token = "NoSuchTokenNoSuchTokenNoSuchTokenNoSuchTok1";
  auto r = Run(Method::kHttp01, "cts.secure.lab", token, token + ".thumb");
  ExpectProblem(r, ProblemType::kUnauthorized, "got \"\"");
}

TEST_F(InteropTest, Http01FollowsItsRedirect) {
  const std::string token = "RedirectTokenRedirectTokenRedirectToken0001";
  ASSERT_TRUE(srv_->Ok("/add-http01", "{\"token\":\"" + std::string(kTestToken) +
                                          "\",\"content\":\"" + kKa + "\"}"));
  ASSERT_TRUE(srv_->Ok("/add-redirect", "{\"path\":\"/.well-known/acme-challenge/" + token +
                                            "\",\"targetURL\":\"http://cts2.secure.lab/.well-known/"
                                            "acme-challenge/" +
                                            std::string(kTestToken) + "\"}"));
  auto r = Run(Method::kHttp01, "cts.secure.lab", token, token + kKa.substr(kKa.find('.')));
  // The redirect is followed; the body is kTestToken's key authorization, not this one's.
  ExpectProblem(r, ProblemType::kUnauthorized, "did not match");
  ASSERT_EQ(r.evidence.http_hops.size(), 2u);
  EXPECT_EQ(r.evidence.http_hops[1].url,
            "http://cts2.secure.lab/.well-known/acme-challenge/" + std::string(kTestToken));
  EXPECT_EQ(r.evidence.http_hops[1].status, 200);
}

TEST_F(InteropTest, Http01RefusesItsRedirectToMetadata) {
  const std::string token = "MetadataTokenMetadataTokenMetadataToken0001";
  ASSERT_TRUE(srv_->Ok("/add-redirect", "{\"path\":\"/.well-known/acme-challenge/" + token +
                                            "\",\"targetURL\":\"http://169.254.169.254/"
                                            "latest/meta-data/\"}"));
  auto r = Run(Method::kHttp01, "cts.secure.lab", token, token + ".thumb");
  ExpectProblem(r, ProblemType::kConnection, "169.254.0.0/16");
}

TEST_F(InteropTest, TlsAlpn01Accepted) {
  ASSERT_TRUE(
      srv_->Ok("/add-tlsalpn01", "{\"host\":\"cts.secure.lab\",\"content\":\"" + kKa + "\"}"));
  auto r = Run(Method::kTlsAlpn01, "cts.secure.lab", "", kKa);
  EXPECT_TRUE(r.valid) << (r.problem ? r.problem->detail : "");
  EXPECT_EQ(r.evidence.alpn, "acme-tls/1");
  EXPECT_EQ(r.evidence.cert_sans, std::vector<std::string>{"DNS:cts.secure.lab"});
}

TEST_F(InteropTest, TlsAlpn01WrongKeyAuthorizationRejected) {
  ASSERT_TRUE(srv_->Ok("/add-tlsalpn01",
                       "{\"host\":\"cts2.secure.lab\",\"content\":\"another.key-authorization\"}"));
  auto r = Run(Method::kTlsAlpn01, "cts2.secure.lab", "", kKa);
  ExpectProblem(r, ProblemType::kUnauthorized, "expected SHA-256");
}

TEST_F(InteropTest, TlsAlpn01UnknownHostRejected) {
  auto r = Run(Method::kTlsAlpn01, "cts3.secure.lab", "", kKa);
  EXPECT_FALSE(r.valid);
  ASSERT_TRUE(r.problem.has_value());
  // The responder has no certificate for this name: no handshake, or not the right one.
  EXPECT_TRUE(r.problem->type == ProblemType::kTls || r.problem->type == ProblemType::kUnauthorized)
      << r.problem->detail;
}

}  // namespace
}  // namespace mpic::checks
