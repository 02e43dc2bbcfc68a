// Real HTTP and TLS servers for web-check tests, behaving well or badly on purpose (redirect
// loops, endless or slow bodies, silence, wrong ALPN, odd certificates). Plain threads and
// sockets, so they share nothing with the code under test; bound to one loopback address.
// Every wait is bounded, and the destructor stops and joins everything (Stop() shuts down
// each open connection, which unblocks any thread waiting on it).
//
//   auto server = TestWebServer::Start("127.12.34.100", [](ServerConnection& c) {
//     if (auto req = c.ReadRequest()) c.Write(HttpResponse(200, "token.thumbprint"));
//   });
//   // (*server)->port(), (*server)->requests()[0].host ...
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "checks/testing/tls_test_cert.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace mpic::checks::testing {

struct RequestHead {
  std::string method;
  std::string target;
  std::string host;
  std::string raw;
};

struct TlsServerOptions {
  TestCert cert;
  // Protocols the server accepts, in preference order; a client offering none of them gets
  // no ALPN at all (or an alert, with `alert_on_alpn_mismatch`).
  std::vector<std::string> alpn = {"acme-tls/1"};
  bool alert_on_alpn_mismatch = false;
};

class TestWebServer;

// One accepted connection, as a handler sees it (plain TCP or, after the handshake, TLS).
class ServerConnection {
 public:
  // Reads up to the end of the request head (at most 16 KiB); nullopt on EOF, error or stop.
  std::optional<RequestHead> ReadRequest();
  // Writes everything; false when the peer went away or the server is stopping.
  bool Write(std::string_view data);
  // Sleeps; false (early) when the server is stopping.
  bool Sleep(std::chrono::milliseconds duration);
  // Blocks until the peer closes, the server stops, or `max` passes (never answers).
  void WaitForPeerClose(std::chrono::milliseconds max);
  // The SNI the client sent ("" for none or plain TCP).
  const std::string& server_name() const { return server_name_; }

 private:
  friend class TestWebServer;
  ServerConnection(TestWebServer* server, int fd, SSL* ssl, std::string server_name)
      : server_(server), fd_(fd), ssl_(ssl), server_name_(std::move(server_name)) {}

  TestWebServer* server_;
  int fd_;
  SSL* ssl_;
  std::string server_name_;
  std::string pending_;
};

class TestWebServer {
 public:
  using Handler = std::function<void(ServerConnection&)>;

  // Listens on address:port (port 0 = any free port) and runs `handler` for each connection on
  // its own thread. With `tls`, the TLS handshake runs first (handshake failures never reach
  // the handler); the server records the SNI and the ALPN it negotiated.
  static tl::expected<std::unique_ptr<TestWebServer>, std::string> Start(
      const std::string& address, Handler handler,
      std::optional<TlsServerOptions> tls = std::nullopt, uint16_t port = 0);

  ~TestWebServer();
  TestWebServer(const TestWebServer&) = delete;
  TestWebServer& operator=(const TestWebServer&) = delete;

  void Stop();
  uint16_t port() const { return port_; }
  const std::string& address() const { return address_; }
  std::vector<RequestHead> requests() const;
  std::vector<std::string> server_names() const;
  int connections() const { return connections_.load(); }
  bool stopping() const { return stopping_.load(); }

 private:
  friend class ServerConnection;
  TestWebServer() = default;
  void AcceptLoop();
  void Serve(int fd);
  void RecordRequest(const RequestHead& head);
  static int OnServerName(SSL* ssl, int* alert, void* arg);

  std::string address_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  Handler handler_;
  SSL_CTX* tls_ = nullptr;
  TlsServerOptions tls_options_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread acceptor_;
  mutable std::mutex mutex_;
  std::condition_variable stop_cv_;
  std::vector<std::thread> workers_;
  std::set<int> open_fds_;
  std::vector<RequestHead> requests_;
  std::vector<std::string> server_names_;
};

// "HTTP/1.1 <status> X\r\n" + headers + Content-Length + Connection: close + body.
[[nodiscard]] std::string HttpResponse(
    int status, std::string_view body,
    const std::vector<std::pair<std::string, std::string>>& headers = {});

// A handler answering every request with `response` (raw bytes).
[[nodiscard]] TestWebServer::Handler Respond(std::string response);

}  // namespace mpic::checks::testing
