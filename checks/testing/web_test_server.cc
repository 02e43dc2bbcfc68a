#include "checks/testing/web_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace mpic::checks::testing {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

RequestHead ParseHead(std::string raw) {
  RequestHead head;
  size_t line_end = raw.find("\r\n");
  std::string line = raw.substr(0, line_end);
  size_t sp1 = line.find(' ');
  size_t sp2 = line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
  if (sp1 != std::string::npos) {
    head.method = line.substr(0, sp1);
    head.target =
        line.substr(sp1 + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp1 - 1);
  }
  size_t pos = line_end == std::string::npos ? raw.size() : line_end + 2;
  while (pos < raw.size()) {
    size_t end = raw.find("\r\n", pos);
    if (end == std::string::npos || end == pos) break;
    std::string field = raw.substr(pos, end - pos);
    size_t colon = field.find(':');
    if (colon != std::string::npos && Lower(field.substr(0, colon)) == "host") {
      size_t v = field.find_first_not_of(' ', colon + 1);
      head.host = v == std::string::npos ? "" : field.substr(v);
    }
    pos = end + 2;
  }
  head.raw = std::move(raw);
  return head;
}

int SelectAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
               const unsigned char* in, unsigned inlen, void* arg) {
  const auto* options = static_cast<const TlsServerOptions*>(arg);
  for (const auto& want : options->alpn) {
    for (unsigned i = 0; i < inlen;) {
      unsigned len = in[i];
      if (i + 1 + len > inlen) break;
      if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == want) {
        *out = in + i + 1;
        *outlen = static_cast<unsigned char>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
  }
  return options->alert_on_alpn_mismatch ? SSL_TLSEXT_ERR_ALERT_FATAL : SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

// Runs while the ClientHello is processed, i.e. before the client can finish its handshake, so a
// test that checks server_names() after the check returned never races this thread.
int TestWebServer::OnServerName(SSL* ssl, int* /*alert*/, void* arg) {
  auto* server = static_cast<TestWebServer*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  std::lock_guard lock(server->mutex_);
  server->server_names_.push_back(name ? name : "");
  return SSL_TLSEXT_ERR_OK;
}

std::optional<RequestHead> ServerConnection::ReadRequest() {
  constexpr size_t kMax = 16 * 1024;
  while (pending_.find("\r\n\r\n") == std::string::npos) {
    if (pending_.size() > kMax || server_->stopping()) return std::nullopt;
    char buf[2048];
    long n = ssl_ ? SSL_read(ssl_, buf, sizeof buf) : recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return std::nullopt;
    pending_.append(buf, static_cast<size_t>(n));
  }
  size_t end = pending_.find("\r\n\r\n") + 4;
  RequestHead head = ParseHead(pending_.substr(0, end));
  pending_.erase(0, end);
  server_->RecordRequest(head);
  return head;
}

bool ServerConnection::Write(std::string_view data) {
  while (!data.empty()) {
    if (server_->stopping()) return false;
    long n = ssl_ ? SSL_write(ssl_, data.data(),
                              static_cast<int>(std::min<size_t>(data.size(), 1 << 20)))
                  : send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool ServerConnection::Sleep(std::chrono::milliseconds duration) {
  std::unique_lock lock(server_->mutex_);
  return !server_->stop_cv_.wait_for(lock, duration, [this] { return server_->stopping(); });
}

void ServerConnection::WaitForPeerClose(std::chrono::milliseconds max) {
  auto end = std::chrono::steady_clock::now() + max;
  while (!server_->stopping() && std::chrono::steady_clock::now() < end) {
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, 50);
    if (r < 0) return;
    if (r == 0) continue;
    char buf[512];
    if (recv(fd_, buf, sizeof buf, 0) <= 0) return;
  }
}

tl::expected<std::unique_ptr<TestWebServer>, std::string> TestWebServer::Start(
    const std::string& address, Handler handler, std::optional<TlsServerOptions> tls,
    uint16_t port) {
  // docs/architecture.md, Pitfalls: a client hanging up mid-write must not kill the test.
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<TestWebServer> server(new TestWebServer);
  server->address_ = address;
  server->handler_ = std::move(handler);
  sockaddr_storage ss{};
  socklen_t ss_len = 0;
  int family = AF_INET;
  if (inet_pton(AF_INET, address.c_str(), &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    ss_len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, address.c_str(),
                       &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    ss_len = sizeof(sockaddr_in6);
    family = AF_INET6;
  } else {
    return tl::unexpected("bad address " + address);
  }
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return tl::unexpected(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), ss_len) != 0 || listen(fd, 64) != 0) {
    std::string err = std::strerror(errno);
    close(fd);
    return tl::unexpected("bind/listen " + address + ": " + err);
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  server->port_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                          : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  server->listen_fd_ = fd;

  if (tls) {
    server->tls_options_ = std::move(*tls);
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    server->tls_ = ctx;
    const unsigned char* p = server->tls_options_.cert.der.data();
    X509* cert = d2i_X509(nullptr, &p, static_cast<long>(server->tls_options_.cert.der.size()));
    BIO* bio = BIO_new_mem_buf(server->tls_options_.cert.key_pem.data(),
                               static_cast<int>(server->tls_options_.cert.key_pem.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    bool ok = cert && key && SSL_CTX_use_certificate(ctx, cert) == 1 &&
              SSL_CTX_use_PrivateKey(ctx, key) == 1;
    X509_free(cert);
    EVP_PKEY_free(key);
    if (!ok) return tl::unexpected(std::string("cannot load the test certificate"));
    // SSL_CTX_set_tlsext_servername_callback/_arg, spelled out (the macros use C casts).
    SSL_CTX_callback_ctrl(ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
                          reinterpret_cast<void (*)()>(&TestWebServer::OnServerName));
    SSL_CTX_ctrl(ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_ARG, 0, server.get());
    if (!server->tls_options_.alpn.empty()) {
      SSL_CTX_set_alpn_select_cb(ctx, &SelectAlpn, &server->tls_options_);
    }
  }
  server->acceptor_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

TestWebServer::~TestWebServer() { Stop(); }

void TestWebServer::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_.exchange(true)) return;
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  stop_cv_.notify_all();
  if (acceptor_.joinable()) acceptor_.join();
  // The acceptor is gone: workers_ no longer changes. Stragglers see stopping_ and the
  // shut-down sockets and return.
  {
    std::lock_guard lock(mutex_);
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : workers_) t.join();
  if (listen_fd_ >= 0) close(listen_fd_);
  listen_fd_ = -1;
  if (tls_) SSL_CTX_free(tls_);
  tls_ = nullptr;
}

void TestWebServer::AcceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mutex_);
    if (stopping_) {
      close(fd);
      break;
    }
    ++connections_;
    open_fds_.insert(fd);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void TestWebServer::Serve(int fd) {
  // A safety net: no blocking call on this socket waits longer than this.
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  SSL* ssl = nullptr;
  std::string sni;
  bool ready = true;
  if (tls_) {
    ssl = SSL_new(tls_);
    SSL_set_fd(ssl, fd);
    ready = SSL_accept(ssl) == 1;
    if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) sni = name;
    ERR_clear_error();
  }
  if (ready) {
    ServerConnection conn(this, fd, ssl, sni);
    handler_(conn);
  }
  if (ssl) SSL_free(ssl);
  ERR_clear_error();
  std::lock_guard lock(mutex_);
  open_fds_.erase(fd);
  close(fd);
}

void TestWebServer::RecordRequest(const RequestHead& head) {
  std::lock_guard lock(mutex_);
  requests_.push_back(head);
}

std::vector<RequestHead> TestWebServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

std::vector<std::string> TestWebServer::server_names() const {
  std::lock_guard lock(mutex_);
  return server_names_;
}

std::string HttpResponse(int status, std::string_view body,
                         const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " Test\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  out += body;
  return out;
}

TestWebServer::Handler Respond(std::string response) {
  return [response = std::move(response)](ServerConnection& c) {
    if (c.ReadRequest()) c.Write(response);
  };
}

}  // namespace mpic::checks::testing
