#include "openmpic/server.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>

#include <array>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "openmpic/methods.h"
#include "openmpic/response.h"

#ifndef MPIC_VERSION
#define MPIC_VERSION "unknown"
#endif

namespace mpic::openmpic {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using json = nlohmann::json;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using Digest = std::array<uint8_t, SHA256_DIGEST_LENGTH>;

Digest Sha256(std::string_view data) {
  Digest out{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
  return out;
}

std::string Dump(const json& body) {
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string RandomTraceId() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) return "mpic-unknown";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "mpic-";
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string_view Lower(std::string_view in, std::string& storage) {
  storage.assign(in);
  for (char& c : storage) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return storage;
}

// application/json, optionally with parameters (charset=utf-8).
bool IsJsonContentType(std::string_view value) {
  std::string storage;
  std::string_view lower = Lower(value, storage);
  const size_t semi = lower.find(';');
  std::string_view type = lower.substr(0, semi);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return type == "application/json";
}

Result<tcp::endpoint> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) {
    return Fail(ProblemType::kMalformed, "listen \"" + listen + "\" is not host:port");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port_text = listen.substr(colon + 1);
  int port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9' || port > 65535) {
      return Fail(ProblemType::kMalformed, "listen \"" + listen + "\": bad port");
    }
    port = port * 10 + (c - '0');
  }
  if (port > 65535) return Fail(ProblemType::kMalformed, "listen \"" + listen + "\": bad port");
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    return Fail(ProblemType::kMalformed,
                "listen \"" + listen + "\": host must be an IP address literal");
  }
  return tcp::endpoint(address, static_cast<uint16_t>(port));
}

// What every session needs; shared so sessions outlive a Stop() that races with them.
struct Shared {
  ServerOptions options;
  Backend* backend = nullptr;
  std::optional<ssl::context> tls;
  std::vector<std::pair<std::string, Digest>> api_keys;  // name, SHA-256(value)
  std::atomic<std::size_t> connections{0};
  std::atomic<bool> stopped{false};
  std::atomic<bool> draining{false};  // Drain(): finish what is in flight, take nothing new
};

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void Close() = 0;
  // Graceful stop: an idle keep-alive connection is closed now; one with a request in flight
  // is closed after that request's answer.
  virtual void Drain() = 0;
};

// One connection. Stream: beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>.
template <typename Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  Session(std::shared_ptr<Shared> shared, Stream stream, std::function<void()> on_close)
      : shared_(std::move(shared)), stream_(std::move(stream)), on_close_(std::move(on_close)) {}

  ~Session() override {
    shared_->connections.fetch_sub(1);
    if (on_close_) on_close_();
  }

  void Run() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->Lowest().expires_after(self->shared_->options.read_timeout);
        self->stream_.async_handshake(
            ssl::stream_base::server,
            [self](beast::error_code ec) { self->OnHandshake(ec); });
      } else {
        self->ReadHeader();
      }
    });
  }

  void Drain() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      // Waiting for the next request with nothing of it received: idle, close it now. Anything
      // else (a request being read, at the backend, or its answer being written) ends by
      // itself, and the keep-alive is then refused (Send, ReadHeader).
      if (self->idle_ && self->buffer_.size() == 0) self->Shutdown();
    });
  }

  void Close() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->closed_ = true;
      beast::error_code ec;
      self->Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
      self->Lowest().close();
    });
  }

 private:
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void OnHandshake(beast::error_code ec) {
    if (ec) return Shutdown();
    SSL* ssl_handle = stream_.native_handle();
    X509* peer = SSL_get1_peer_certificate(ssl_handle);
    if (peer != nullptr) {
      if (SSL_get_verify_result(ssl_handle) == X509_V_OK) {
        std::array<char, 256> subject{};
        X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, subject.data(),
                                  static_cast<int>(subject.size()));
        client_ = std::string("cert:") + subject.data();
      }
      X509_free(peer);
    }
    ReadHeader();
  }

  void ReadHeader() {
    if (closed_) return;
    if (shared_->draining.load()) return Shutdown();
    idle_ = true;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.max_header_bytes));
    parser_->body_limit(shared_->options.max_body_bytes);
    // The stream's own timeout closes the socket, leaving no way to say 408; our timer only
    // cancels the read, and the stream's expiry stays as a backstop.
    read_timed_out_ = false;
    reading_ = true;
    if (!read_timer_) read_timer_.emplace(stream_.get_executor());
    read_timer_->expires_after(shared_->options.read_timeout);
    read_timer_->async_wait([weak = this->weak_from_this()](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->closed_ || !self->reading_) return;
      self->read_timed_out_ = true;
      beast::error_code ignored;
      self->Lowest().socket().cancel(ignored);
    });
    Lowest().expires_after(shared_->options.read_timeout + std::chrono::seconds(2));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
          self->OnHeader(ec);
        });
  }

  void OnHeader(beast::error_code ec) {
    idle_ = false;
    if (ec) return OnReadError(ec);
    const auto& header = parser_->get();
    const auto length = parser_->content_length();
    if (length && *length > shared_->options.max_body_bytes) {
      return SendError(http::status::payload_too_large, "payload-too-large",
                       "the request body is larger than " +
                           std::to_string(shared_->options.max_body_bytes) + " bytes",
                       /*close=*/true);
    }
    std::string storage;
    auto expect = header[http::field::expect];
    if (!expect.empty() &&
        Lower(std::string_view(expect.data(), expect.size()), storage) == "100-continue") {
      continue_ = std::make_shared<std::string>("HTTP/1.1 100 Continue\r\n\r\n");
      asio::async_write(stream_, asio::buffer(*continue_),
                        [self = this->shared_from_this()](beast::error_code wec, std::size_t) {
                          if (wec) return self->Shutdown();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->OnReadError(ec);
                       self->OnRequest(self->parser_->release());
                     });
  }

  void OnReadError(beast::error_code ec) {
    idle_ = false;
    reading_ = false;
    if (read_timer_) read_timer_->cancel();
    if (read_timed_out_ && !closed_) ec = beast::error::timeout;
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
        ec == ssl::error::stream_truncated || closed_) {
      return Shutdown();
    }
    if (ec == beast::error::timeout) {
      return SendError(http::status::request_timeout, "request-timeout",
                       "the request did not arrive within " +
                           std::to_string(shared_->options.read_timeout.count()) + " ms",
                       true);
    }
    if (ec == http::error::body_limit) {
      return SendError(http::status::payload_too_large, "payload-too-large",
                       "the request body is larger than " +
                           std::to_string(shared_->options.max_body_bytes) + " bytes",
                       true);
    }
    if (ec == http::error::header_limit) {
      return SendError(http::status::request_header_fields_too_large,
                       "request-header-fields-too-large", "the request headers are too large",
                       true);
    }
    return SendError(http::status::bad_request, "bad-request",
                     "malformed HTTP/1.1 request: " + ec.message(), true);
  }

  // The key header's value matches one configured key (constant-time over SHA-256 digests).
  std::optional<std::string> ApiKeyClient(const Request& request) const {
    if (shared_->api_keys.empty()) return std::nullopt;
    auto it = request.find(shared_->options.api_key_header);
    if (it == request.end()) return std::nullopt;
    const Digest given = Sha256(std::string_view(it->value().data(), it->value().size()));
    std::optional<std::string> who;
    for (const auto& [name, digest] : shared_->api_keys) {
      if (CRYPTO_memcmp(given.data(), digest.data(), digest.size()) == 0) who = "api-key:" + name;
    }
    return who;
  }

  void OnRequest(Request request) {
    reading_ = false;
    if (read_timer_) read_timer_->cancel();
    Lowest().expires_never();
    keep_alive_ = request.keep_alive();
    version_ = request.version();
    if (shared_->draining.load()) {
      // Arrived while the server drains: not started, so the client can send it elsewhere.
      Response response = MakeJson(http::status::service_unavailable,
                                   {{"error", "shutting-down"},
                                    {"message", "this server is shutting down; retry elsewhere"}});
      keep_alive_ = false;
      return Send(std::move(response));
    }
    std::string_view target(request.target().data(), request.target().size());
    target = target.substr(0, target.find('?'));
    const http::verb method = request.method();

    struct Route {
      std::string_view path;
      http::verb verb;
      bool authenticated;
    };
    static constexpr std::array<Route, 4> kRoutes{{{"/mpic", http::verb::post, true},
                                                    {"/healthz", http::verb::get, false},
                                                    {"/configz", http::verb::get, true},
                                                    {"/openapi", http::verb::get, true}}};
    const Route* route = nullptr;
    for (const Route& r : kRoutes) {
      if (r.path == target) route = &r;
    }
    if (route == nullptr) {
      return SendError(http::status::not_found, "not-found",
                       "no such resource; try POST /mpic, GET /healthz, /configz or /openapi",
                       false);
    }
    if (method != route->verb) {
      Response response = MakeJson(http::status::method_not_allowed,
                                   {{"error", "method-not-allowed"},
                                    {"message", std::string(target) + " accepts " +
                                                    std::string(http::to_string(route->verb)) +
                                                    " only"}});
      response.set(http::field::allow, http::to_string(route->verb));
      return Send(std::move(response));
    }
    std::string client = client_;
    if (route->authenticated) {
      if (auto key = ApiKeyClient(request)) {
        client = *key;
      } else if (client_.empty() && !(shared_->options.plaintext && shared_->api_keys.empty())) {
        return SendError(http::status::unauthorized, "unauthorized",
                         kTls ? "present a client certificate of the fleet CA or a valid " +
                                    shared_->options.api_key_header + " header"
                              : "a valid " + shared_->options.api_key_header +
                                    " header is required",
                         false);
      }
    }
    if (target == "/healthz") {
      return Send(MakeJson(http::status::ok, {{"status", "ok"}}));
    }
    if (target == "/openapi") {
      Response response{http::status::ok, version_};
      response.set(http::field::content_type, "application/json");
      response.body() = std::string(OpenApiDocument());
      return Send(std::move(response));
    }
    if (target == "/configz") return Send(MakeJson(http::status::ok, Configz()));
    HandleMpic(std::move(request), std::move(client));
  }

  json Configz() const {
    const ServerOptions& o = shared_->options;
    json methods = json::array();
    for (const MethodInfo& info : Methods()) {
      if (info.v1_method != v1::METHOD_UNSPECIFIED) methods.push_back(info.name);
    }
    json out = {
        {"open_mpic_spec_version", std::string(kOpenMpicSpecVersion)},
        {"mpic_version", MPIC_VERSION},
        {"validation_methods", methods},
        {"certificate_types", o.decode.accept_smime ? json::array({"tls-server", "s-mime"})
                                                    : json::array({"tls-server"})},
        {"timeouts_ms",
         {{"read", o.read_timeout.count()}, {"backend", o.backend_timeout.count()}}},
        {"max_body_bytes", o.max_body_bytes},
        {"orchestration",
         {{"policy", o.floor.policy.Describe()},
          {"min_perspective_count", o.floor.min_perspectives},
          {"max_perspective_count", o.floor.pool_size},
          {"max_attempts", o.floor.max_attempts},
          {"monitoring_mode", o.floor.allow_monitoring}}},
        {"auth",
         {{"tls", !o.plaintext},
          {"client_certificates", !o.plaintext},
          {"api_key_header", o.api_keys.empty() ? json(nullptr) : json(o.api_key_header)}}}};
    for (const auto& [key, value] : o.configz_extra.items()) out[key] = value;
    return out;
  }

  void HandleMpic(Request request, std::string client) {
    auto content_type = request[http::field::content_type];
    if (!IsJsonContentType(std::string_view(content_type.data(), content_type.size()))) {
      return SendError(http::status::unsupported_media_type, "unsupported-media-type",
                       "Content-Type must be application/json", false);
    }
    auto decoded = DecodeRequest(request.body(), shared_->options.decode);
    if (!decoded) {
      return Send(MakeJson(http::status::bad_request, ValidationErrorBody(decoded.error())));
    }
    auto orchestration = ResolveOrchestration(decoded->orchestration, shared_->options.floor);
    if (!orchestration) {
      return Send(MakeJson(http::status::bad_request, ValidationErrorBody(orchestration.error())));
    }
    BackendRequest call;
    call.validate = decoded->validate;
    call.orchestration = *orchestration;
    call.trace_identifier = decoded->trace_identifier.value_or(RandomTraceId());
    call.key_authorization_sha256 = decoded->key_authorization_sha256;
    call.certificate_type = decoded->certificate_type;
    call.client = std::move(client);
    // W3C Trace Context: passed on as received; the primary parses (and ignores an invalid one).
    for (auto [it, end] = request.equal_range("traceparent"); it != end; ++it) {
      call.traceparent.emplace_back(it->value());
    }
    for (auto [it, end] = request.equal_range("tracestate"); it != end; ++it) {
      call.tracestate.emplace_back(it->value());
    }
    trace_ = call.trace_identifier;

    auto pending = std::make_shared<Pending>();
    pending->request = std::move(*decoded);
    pending->orchestration = *orchestration;
    pending_ = pending;
    timer_.emplace(stream_.get_executor());
    timer_->expires_after(shared_->options.backend_timeout);
    timer_->async_wait([self = this->shared_from_this(), pending](beast::error_code ec) {
      if (ec || pending->answered) return;
      pending->answered = true;
      self->SendError(http::status::gateway_timeout, "backend-timeout",
                      "the primary did not answer within " +
                          std::to_string(self->shared_->options.backend_timeout.count()) + " ms",
                      false);
    });
    auto executor = stream_.get_executor();
    std::weak_ptr<Session> weak = this->shared_from_this();
    shared_->backend->Validate(call, [executor, weak, pending](Result<BackendResult> result) {
      asio::post(executor, [weak, pending, result = std::move(result)]() mutable {
        auto self = weak.lock();
        if (!self || pending->answered) return;
        pending->answered = true;
        if (self->timer_) self->timer_->cancel();
        self->OnBackend(*pending, std::move(result));
      });
    });
  }

  struct Pending {
    DecodedRequest request;
    Orchestration orchestration;
    bool answered = false;
  };

  void OnBackend(const Pending& pending, Result<BackendResult> result) {
    if (!result) {
      const ProblemType type = result.error().type;
      if (type == ProblemType::kMalformed || type == ProblemType::kRejectedIdentifier ||
          type == ProblemType::kUnauthorized) {
        return Send(MakeJson(http::status::bad_request,
                             ValidationErrorBody(ValidationIssues{ValidationIssue{
                                 "request-rejected-by-primary", result.error().detail}})));
      }
      if (type == ProblemType::kRateLimited) {
        return SendError(http::status::too_many_requests, "rate-limited", result.error().detail,
                         false);
      }
      if (type == ProblemType::kUnavailable) {
        // Nothing was started: the client may retry shortly, here or at another primary.
        Response response = MakeJson(http::status::service_unavailable,
                                     {{"error", "busy"}, {"message", result.error().detail}});
        response.set(http::field::retry_after, "1");
        return Send(std::move(response));
      }
      return Send(MakeJson(http::status::internal_server_error,
                           {{"error", "internal-server-error"},
                            {"message", result.error().detail}}));
    }
    json body = EncodeResponse(pending.request, pending.orchestration, *result);
    Send(MakeJson(http::status::ok, body));
  }

  Response MakeJson(http::status status, const json& body) const {
    Response response{status, version_ ? version_ : 11u};
    response.set(http::field::content_type, "application/json");
    response.body() = Dump(body);
    return response;
  }

  void SendError(http::status status, std::string_view error, std::string message, bool close) {
    if (close) keep_alive_ = false;
    Send(MakeJson(status, {{"error", std::string(error)}, {"message", std::move(message)}}));
  }

  void Send(Response response) {
    if (closed_) return;
    reading_ = false;
    if (read_timer_) read_timer_->cancel();
    response.set(http::field::server, "mpic-openmpic");
    if (!trace_.empty()) response.set("X-Mpic-Trace-Id", trace_);
    response.keep_alive(keep_alive_ && !shared_->stopped.load() && !shared_->draining.load());
    response.prepare_payload();
    auto out = std::make_shared<Response>(std::move(response));
    Lowest().expires_after(shared_->options.read_timeout);
    http::async_write(stream_, *out,
                      [self = this->shared_from_this(), out](beast::error_code ec, std::size_t) {
                        self->trace_.clear();
                        self->pending_.reset();
                        if (ec || !out->keep_alive()) return self->Shutdown();
                        self->ReadHeader();
                      });
  }

  void Shutdown() {
    if (closed_) return;
    closed_ = true;
    Lowest().expires_after(std::chrono::seconds(1));
    if constexpr (kTls) {
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        self->Lowest().close();
      });
    } else {
      beast::error_code ec;
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      Lowest().close();
    }
  }

  std::shared_ptr<Shared> shared_;
  Stream stream_;
  std::function<void()> on_close_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<std::string> continue_;
  std::optional<asio::steady_timer> timer_;       // backend deadline
  std::optional<asio::steady_timer> read_timer_;  // request deadline (408)
  bool read_timed_out_ = false;
  bool reading_ = false;  // a request is being read (the read deadline applies)
  bool idle_ = false;     // waiting for a request's first bytes (Drain closes it at once)
  std::shared_ptr<Pending> pending_;
  std::string client_;  // "cert:<CN>" once a fleet certificate was verified
  std::string trace_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  bool closed_ = false;
};

}  // namespace

class Server::Impl : public std::enable_shared_from_this<Server::Impl> {
 public:
  Impl(asio::io_context& io, std::shared_ptr<Shared> shared)
      : io_(io), shared_(std::move(shared)), acceptor_(asio::make_strand(io)) {}

  Status Listen(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return Fail(ProblemType::kConnection, "cannot listen on " +
                                                endpoint.address().to_string() + ":" +
                                                std::to_string(endpoint.port()) + ": " +
                                                ec.message());
    }
    endpoint_ = acceptor_.local_endpoint(ec);
    return {};
  }

  void Accept() {
    acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](
                                                        beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || self->shared_->stopped) return;
      if (!ec) self->Started(std::move(socket));
      self->Accept();
    });
  }

  void Started(tcp::socket socket) {
    if (shared_->connections.fetch_add(1) >= shared_->options.max_connections) {
      shared_->connections.fetch_sub(1);
      beast::error_code ec;
      socket.close(ec);
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    const uint64_t id = next_id_++;
    std::weak_ptr<Impl> weak = shared_from_this();
    auto on_close = [weak, id] {
      if (auto impl = weak.lock()) {
        std::lock_guard<std::mutex> inner(impl->mutex_);
        impl->sessions_.erase(id);
        impl->sessions_changed_.notify_all();
      }
    };
    std::shared_ptr<SessionBase> session;
    if (shared_->tls) {
      auto s = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          shared_, beast::ssl_stream<beast::tcp_stream>(std::move(socket), *shared_->tls),
          on_close);
      s->Run();
      session = s;
    } else {
      auto s = std::make_shared<Session<beast::tcp_stream>>(
          shared_, beast::tcp_stream(std::move(socket)), on_close);
      s->Run();
      session = s;
    }
    sessions_[id] = session;
    // Accepted in the same instant Drain() began: it must not stay open.
    if (shared_->draining.load()) session->Drain();
  }

  bool Drain(std::chrono::steady_clock::time_point deadline) {
    shared_->draining = true;
    std::vector<std::shared_ptr<SessionBase>> open = CloseAcceptor();
    for (auto& session : open) session->Drain();
    open.clear();  // a session must be able to go away while we wait
    std::unique_lock<std::mutex> lock(mutex_);
    const bool all_done =
        sessions_changed_.wait_until(lock, deadline, [this] { return sessions_.empty(); });
    lock.unlock();
    Stop();  // whatever is left past the deadline is closed
    return all_done;
  }

  void Stop() {
    shared_->stopped = true;
    for (auto& session : CloseAcceptor()) session->Close();
  }

  tcp::endpoint endpoint() const { return endpoint_; }

 private:
  // Closes the listening socket (on its executor) and returns the sessions still open.
  std::vector<std::shared_ptr<SessionBase>> CloseAcceptor() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      beast::error_code ec;
      self->acceptor_.close(ec);
    });
    std::vector<std::shared_ptr<SessionBase>> open;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto& [id, weak] : sessions_) {
        if (auto session = weak.lock()) open.push_back(session);
      }
    }
    return open;
  }

  asio::io_context& io_;
  std::shared_ptr<Shared> shared_;
  tcp::acceptor acceptor_;
  tcp::endpoint endpoint_;
  std::mutex mutex_;
  std::condition_variable sessions_changed_;  // a session ended (Drain waits on it)
  uint64_t next_id_ = 0;
  std::map<uint64_t, std::weak_ptr<SessionBase>> sessions_;
};

Result<std::unique_ptr<Server>> Server::Start(asio::io_context& io, ServerOptions options,
                                              Backend& backend) {
  auto endpoint = ParseListen(options.listen);
  if (!endpoint) return Fail(endpoint.error());
  if (options.plaintext && !options.lab_mode) {
    return Fail(ProblemType::kMalformed,
                "plaintext Open MPIC is only allowed in lab mode: configure TLS files");
  }
  if (options.max_body_bytes == 0 || options.read_timeout.count() <= 0 ||
      options.backend_timeout.count() <= 0 || options.max_connections == 0) {
    return Fail(ProblemType::kMalformed, "body limit, timeouts and max_connections must be > 0");
  }
  const OrchestrationFloor& floor = options.floor;
  if (floor.min_perspectives < 1 || floor.pool_size < floor.min_perspectives ||
      floor.max_attempts < 1) {
    return Fail(ProblemType::kMalformed,
                "orchestration floor: need 1 <= cohort size <= pool size and max_attempts >= 1");
  }
  auto shared = std::make_shared<Shared>();
  for (const ApiKey& key : options.api_keys) {
    if (key.value.size() < kMinApiKeyLength || key.name.empty()) {
      return Fail(ProblemType::kMalformed, "API key \"" + key.name + "\": a name and at least " +
                                               std::to_string(kMinApiKeyLength) +
                                               " characters are required");
    }
    shared->api_keys.emplace_back(key.name, Sha256(key.value));
  }
  if (options.api_key_header.empty()) {
    return Fail(ProblemType::kMalformed, "api_key_header must not be empty");
  }
  if (!options.plaintext) {
    if (options.cert_file.empty() || options.key_file.empty() || options.ca_file.empty()) {
      return Fail(ProblemType::kMalformed, "TLS needs cert_file, key_file and ca_file");
    }
    ssl::context context(ssl::context::tls_server);
    boost::system::error_code ec;
    context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                            ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                        ec);
    if (!ec) context.use_certificate_chain_file(options.cert_file, ec);
    if (ec) return Fail(ProblemType::kMalformed, "cert_file " + options.cert_file + ": " +
                                                     ec.message());
    context.use_private_key_file(options.key_file, ssl::context::pem, ec);
    if (ec) return Fail(ProblemType::kMalformed, "key_file " + options.key_file + ": " +
                                                     ec.message());
    context.load_verify_file(options.ca_file, ec);
    if (ec) return Fail(ProblemType::kMalformed, "ca_file " + options.ca_file + ": " +
                                                     ec.message());
    // Without API keys a certificate is the only way in: refuse the handshake without one.
    // With API keys a certificate stays optional at the TLS layer and each request is checked.
    int mode = ssl::verify_peer;
    if (shared->api_keys.empty()) mode |= ssl::verify_fail_if_no_peer_cert;
    context.set_verify_mode(mode, ec);
    if (ec) return Fail(ProblemType::kMalformed, "TLS verify mode: " + ec.message());
    // Session tickets/ids off: each connection proves its certificate afresh.
    SSL_CTX_set_session_cache_mode(context.native_handle(), SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(context.native_handle(), SSL_OP_NO_TICKET);
    shared->tls.emplace(std::move(context));
  }
  ::signal(SIGPIPE, SIG_IGN);  // a client that vanishes must not kill the process
  shared->options = std::move(options);
  shared->backend = &backend;
  auto impl = std::make_shared<Impl>(io, shared);
  if (Status ok = impl->Listen(*endpoint); !ok) return Fail(ok.error());
  impl->Accept();
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(); }

asio::ip::tcp::endpoint Server::endpoint() const { return impl_->endpoint(); }

void Server::Stop() {
  if (impl_) impl_->Stop();
}

bool Server::Drain(std::chrono::steady_clock::time_point deadline) {
  return impl_ ? impl_->Drain(deadline) : true;
}

}  // namespace mpic::openmpic
