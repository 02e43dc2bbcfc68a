#include "bench/http_responder.h"

#include <string_view>

namespace mpic::bench {
namespace {

using asio::ip::tcp;
constexpr std::string_view kPrefix = "GET /.well-known/acme-challenge/";
constexpr size_t kMaxHead = 8192;
// A connection that has not been answered and closed by then is dropped (a stuck client must
// not hold a socket for the rest of the run).
constexpr std::chrono::seconds kConnectionDeadline{5};
// After a failed accept (e.g. EMFILE) wait this long before the next, instead of spinning.
constexpr std::chrono::milliseconds kAcceptBackoff{10};

// One request, one response, then close (validators never reuse connections).
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `socket` is bound to a strand of its own, so the deadline and the I/O never run at once.
  Connection(tcp::socket socket, HttpResponder& owner)
      : socket_(std::move(socket)),
        owner_(owner),
        buffer_(kMaxHead),
        deadline_(socket_.get_executor()) {}

  void Start() {
    deadline_.expires_after(kConnectionDeadline);
    deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;  // cancelled: the connection ended in time
      boost::system::error_code ignored;
      self->socket_.close(ignored);
    });
    asio::async_read_until(socket_, buffer_, "\r\n\r\n",
                           [self = shared_from_this()](boost::system::error_code ec, size_t) {
                             if (!ec) return self->Respond();
                             self->deadline_.cancel();
                           });
  }

 private:
  void Respond() {
    owner_.Count();
    std::string_view head(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    std::string body;
    int status = 404;
    if (head.substr(0, kPrefix.size()) == kPrefix) {
      auto rest = head.substr(kPrefix.size());
      auto end = rest.find(' ');
      if (end != std::string_view::npos) {
        body = owner_.Lookup(std::string(rest.substr(0, end)));
        if (!body.empty()) status = 200;
      }
    }
    response_ = (status == 200 ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 404 Not Found\r\n");
    response_ += "Content-Type: text/plain\r\nConnection: close\r\nContent-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n" + body;
    asio::async_write(socket_, asio::buffer(response_),
                      [self = shared_from_this()](boost::system::error_code, size_t) {
                        boost::system::error_code ignored;
                        self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
                        self->deadline_.cancel();
                      });
  }

  tcp::socket socket_;
  HttpResponder& owner_;
  asio::streambuf buffer_;
  std::string response_;
  asio::steady_timer deadline_;
};

}  // namespace

Result<std::unique_ptr<HttpResponder>> HttpResponder::Start(const std::string& address,
                                                            uint16_t port, int threads) {
  std::unique_ptr<HttpResponder> r(new HttpResponder());
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address, ec);
  if (ec)
    return Fail(ProblemType::kMalformed, "responder address " + address + ": " + ec.message());
  r->acceptor_ = std::make_unique<tcp::acceptor>(r->io_);
  tcp::endpoint endpoint(ip, port);
  r->acceptor_->open(endpoint.protocol(), ec);
  if (!ec) r->acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) r->acceptor_->bind(endpoint, ec);
  if (!ec) r->acceptor_->listen(4096, ec);
  if (ec) {
    return Fail(ProblemType::kServerInternal,
                "responder " + address + ":" + std::to_string(port) + ": " + ec.message());
  }
  r->Accept();
  for (int i = 0; i < std::max(1, threads); ++i) {
    r->threads_.emplace_back([raw = r.get()] { raw->io_.run(); });
  }
  return r;
}

HttpResponder::~HttpResponder() {
  io_.stop();
  for (auto& t : threads_) t.join();
}

void HttpResponder::Add(const std::string& token, const std::string& content) {
  std::lock_guard lock(mutex_);
  tokens_[token] = content;
}

std::string HttpResponder::Lookup(const std::string& token) const {
  std::lock_guard lock(mutex_);
  auto it = tokens_.find(token);
  return it == tokens_.end() ? std::string() : it->second;
}

void HttpResponder::Accept() {
  acceptor_->async_accept(asio::make_strand(io_), [this](boost::system::error_code ec,
                                                         tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      std::make_shared<Connection>(std::move(socket), *this)->Start();
      return Accept();
    }
    backoff_.expires_after(kAcceptBackoff);
    backoff_.async_wait([this](boost::system::error_code wait_ec) {
      if (!wait_ec) Accept();
    });
  });
}

}  // namespace mpic::bench
