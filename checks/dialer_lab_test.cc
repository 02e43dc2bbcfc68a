// TcpDialer against real loopback listeners (127.0.0.1 and ::1 only).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <thread>

#include "checks/tcp_dialer.h"

namespace mpic::checks {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

AddressPolicy LabPolicy() {
  AddressPolicy policy;
  EXPECT_TRUE(policy.AllowLabRange("127.0.0.1/32").has_value());
  EXPECT_TRUE(policy.AllowLabRange("::1/128").has_value());
  return policy;
}

class DialerTest : public ::testing::Test {
 protected:
  // Runs one Connect to completion (bounded) and returns its result.
  Result<tcp::socket> Dial(Dialer& dialer, const std::string& address, uint16_t port,
                           Deadline deadline) {
    auto result = std::make_shared<std::optional<Result<tcp::socket>>>();
    dialer.Connect(asio::ip::make_address(address), port, deadline,
                   [result](Result<tcp::socket> r) { *result = std::move(r); });
    io_.restart();
    auto limit = Clock::now() + 10s;
    while (!*result && Clock::now() < limit) io_.run_one_for(50ms);
    if (!*result) return Fail(ProblemType::kServerInternal, "dialer did not call back");
    return std::move(**result);
  }

  asio::io_context io_;
};

TEST_F(DialerTest, PortOverridesNeedLabMode) {
  auto production = TcpDialer::Create(io_.get_executor(), AddressPolicy{}, {8080, 443});
  ASSERT_FALSE(production.has_value());
  EXPECT_NE(production.error().detail.find("lab mode"), std::string::npos);
  EXPECT_FALSE(TcpDialer::Create(io_.get_executor(), AddressPolicy{}, {80, 8443}).has_value());
  EXPECT_FALSE(TcpDialer::Create(io_.get_executor(), LabPolicy(), {0, 443}).has_value());
  auto plain = TcpDialer::Create(io_.get_executor(), AddressPolicy{});
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ((*plain)->http_port(), 80);
  EXPECT_EQ((*plain)->tls_port(), 443);
  auto lab = TcpDialer::Create(io_.get_executor(), LabPolicy(), {8080, 8443});
  ASSERT_TRUE(lab.has_value());
  EXPECT_EQ((*lab)->http_port(), 8080);
  EXPECT_EQ((*lab)->tls_port(), 8443);
}

TEST_F(DialerTest, ConnectsInLabMode) {
  for (const char* address : {"127.0.0.1", "::1"}) {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address(address), 0));
    auto port = acceptor.local_endpoint().port();
    auto dialer = TcpDialer::Create(io_.get_executor(), LabPolicy(), {port, 443});
    ASSERT_TRUE(dialer.has_value());
    auto socket = Dial(**dialer, address, port, Clock::now() + 3s);
    ASSERT_TRUE(socket.has_value()) << socket.error().detail;
    EXPECT_EQ(socket->remote_endpoint().port(), port);
  }
}

TEST_F(DialerTest, PolicyRefusesBeforeConnecting) {
  // A listener on loopback that a production dialer must never reach.
  tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  acceptor.non_blocking(true);
  auto dialer = TcpDialer::Create(io_.get_executor(), AddressPolicy{});
  ASSERT_TRUE(dialer.has_value());
  auto socket = Dial(**dialer, "127.0.0.1", acceptor.local_endpoint().port(), Clock::now() + 3s);
  ASSERT_FALSE(socket.has_value());
  EXPECT_EQ(socket.error().type, ProblemType::kConnection);
  EXPECT_NE(socket.error().detail.find("127.0.0.0/8"), std::string::npos);
  boost::system::error_code ec;
  tcp::socket accepted(io_);
  acceptor.accept(accepted, ec);
  EXPECT_EQ(ec, asio::error::would_block) << "a connection reached the listener";
  // Also for a mapped address and a policy whose lab range is elsewhere.
  AddressPolicy other;
  ASSERT_TRUE(other.AllowLabRange("127.99.0.0/16").has_value());
  auto lab = TcpDialer::Create(io_.get_executor(), other);
  ASSERT_TRUE(lab.has_value());
  auto mapped =
      Dial(**lab, "::ffff:127.0.0.1", acceptor.local_endpoint().port(), Clock::now() + 3s);
  ASSERT_FALSE(mapped.has_value());
  EXPECT_NE(mapped.error().detail.find("127.0.0.0/8"), std::string::npos);
}

TEST_F(DialerTest, ConnectionRefused) {
  uint16_t port = 0;
  {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = acceptor.local_endpoint().port();
  }  // closed: nothing listens on `port` now
  auto dialer = TcpDialer::Create(io_.get_executor(), LabPolicy());
  ASSERT_TRUE(dialer.has_value());
  auto socket = Dial(**dialer, "127.0.0.1", port, Clock::now() + 3s);
  ASSERT_FALSE(socket.has_value());
  EXPECT_EQ(socket.error().type, ProblemType::kConnection);
  EXPECT_NE(socket.error().detail.find("refused"), std::string::npos) << socket.error().detail;
}

TEST_F(DialerTest, DeadlineAlreadyPassed) {
  tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto dialer = TcpDialer::Create(io_.get_executor(), LabPolicy());
  ASSERT_TRUE(dialer.has_value());
  auto socket = Dial(**dialer, "127.0.0.1", acceptor.local_endpoint().port(), Clock::now() - 1s);
  ASSERT_FALSE(socket.has_value());
  EXPECT_EQ(socket.error().type, ProblemType::kConnection);
  EXPECT_NE(socket.error().detail.find("deadline"), std::string::npos);
}

TEST_F(DialerTest, TimesOutOnAFullBacklog) {
  // Linux drops SYNs for a listener whose accept queue is full, so a connect to it hangs:
  // the dialer must give up at the deadline.
  tcp::acceptor acceptor(io_);
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  acceptor.open(endpoint.protocol());
  acceptor.bind(endpoint);
  acceptor.listen(0);
  auto port = acceptor.local_endpoint().port();
  // Raw non-blocking connects: Asio's synchronous connect would wait for each to finish.
  std::vector<int> fillers;
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < 4; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    fillers.push_back(fd);
    (void)connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
  }
  struct Closer {
    std::vector<int>* fds;
    ~Closer() {
      for (int fd : *fds) close(fd);
    }
  } closer{&fillers};
  std::this_thread::sleep_for(100ms);  // let the handshakes that can complete, complete
  auto dialer = TcpDialer::Create(io_.get_executor(), LabPolicy());
  ASSERT_TRUE(dialer.has_value());
  auto start = Clock::now();
  auto socket = Dial(**dialer, "127.0.0.1", port, Clock::now() + 500ms);
  if (socket.has_value()) GTEST_SKIP() << "this kernel accepted past the backlog";
  EXPECT_EQ(socket.error().type, ProblemType::kConnection);
  EXPECT_NE(socket.error().detail.find("timeout"), std::string::npos) << socket.error().detail;
  EXPECT_LT(Clock::now() - start, 5s);
}

TEST(EndpointTextTest, BracketsIpv6) {
  EXPECT_EQ(EndpointText(asio::ip::make_address("192.0.2.1"), 80), "192.0.2.1:80");
  EXPECT_EQ(EndpointText(asio::ip::make_address("2001:db8::1"), 443), "[2001:db8::1]:443");
}

}  // namespace
}  // namespace mpic::checks
