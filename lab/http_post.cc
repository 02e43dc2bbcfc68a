#include "lab/http_post.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mpic::lab {
namespace {

using Clock = std::chrono::steady_clock;

Result<sockaddr_in> LoopbackAddress(const std::string& ipv4, uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, ipv4.c_str(), &sa.sin_addr) != 1) {
    return Fail(ProblemType::kMalformed, "not an IPv4 address: " + ipv4);
  }
  if ((ntohl(sa.sin_addr.s_addr) >> 24) != 127) {
    return Fail(ProblemType::kMalformed, "not a loopback address: " + ipv4);
  }
  return sa;
}

int MillisLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Non-blocking connect bounded by `deadline`.
Status Connect(int fd, const sockaddr_in& sa, Clock::time_point deadline) {
  if (connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0) return {};
  if (errno != EINPROGRESS) return Fail(ProblemType::kConnection, strerror(errno));
  pollfd p{fd, POLLOUT, 0};
  int n = poll(&p, 1, MillisLeft(deadline));
  if (n <= 0) return Fail(ProblemType::kConnection, "connect timed out");
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return Fail(ProblemType::kConnection, strerror(err));
  return {};
}

}  // namespace

Result<HttpReply> HttpPost(const std::string& ipv4, uint16_t port, const std::string& path,
                           const std::string& body, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto sa = LoopbackAddress(ipv4, port);
  if (!sa) return Fail(sa.error());
  if (path.empty() || path[0] != '/' || path.find_first_of("\r\n ") != std::string::npos) {
    return Fail(ProblemType::kMalformed, "bad path \"" + path + "\"");
  }
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Fail(ProblemType::kConnection, strerror(errno));
  const std::string where = ipv4 + ":" + std::to_string(port) + path;
  if (auto st = Connect(fd.get(), *sa, deadline); !st) {
    return Fail(ProblemType::kConnection, where + ": " + st.error().detail);
  }
  std::string request =
      "POST " + path + " HTTP/1.1\r\nHost: " + ipv4 + ":" + std::to_string(port) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + body;
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      return Fail(ProblemType::kConnection, where + ": send: " + strerror(errno));
    }
    pollfd p{fd.get(), POLLOUT, 0};
    if (poll(&p, 1, MillisLeft(deadline)) <= 0) {
      return Fail(ProblemType::kConnection, where + ": send timed out");
    }
  }
  // Connection: close: the reply ends at EOF. Bounded in size as well as time.
  std::string reply;
  constexpr size_t kMaxReply = 1 << 20;
  for (;;) {
    char buf[4096];
    ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
    if (n > 0) {
      reply.append(buf, static_cast<size_t>(n));
      if (reply.size() > kMaxReply) {
        return Fail(ProblemType::kConnection, where + ": reply too large");
      }
      continue;
    }
    if (n == 0) break;
    if (errno != EAGAIN && errno != EINTR) {
      return Fail(ProblemType::kConnection, where + ": recv: " + strerror(errno));
    }
    pollfd p{fd.get(), POLLIN, 0};
    if (poll(&p, 1, MillisLeft(deadline)) <= 0) {
      return Fail(ProblemType::kConnection, where + ": no reply in time");
    }
  }
  // "HTTP/1.1 200 OK\r\n..."
  if (!reply.starts_with("HTTP/1.") || reply.size() < 12 || reply[8] != ' ') {
    return Fail(ProblemType::kConnection, where + ": not an HTTP reply");
  }
  HttpReply out;
  for (int i = 9; i < 12; ++i) {
    if (reply[i] < '0' || reply[i] > '9') {
      return Fail(ProblemType::kConnection, where + ": bad status line");
    }
    out.status = out.status * 10 + (reply[i] - '0');
  }
  if (auto end = reply.find("\r\n\r\n"); end != std::string::npos) out.body = reply.substr(end + 4);
  return out;
}

bool TcpReachable(const std::string& ipv4, uint16_t port) {
  auto sa = LoopbackAddress(ipv4, port);
  if (!sa) return false;
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return false;
  return Connect(fd.get(), *sa, Clock::now() + std::chrono::milliseconds(500)).has_value();
}

}  // namespace mpic::lab
