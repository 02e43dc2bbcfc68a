// HTTP-01 (RFC 8555 §8.3), following the strictest deployed VA (docs/domain-rules.md).
//
// Problem types, and why:
//   malformed           identifier, token or key authorization unusable (no traffic is sent)
//   rejectedIdentifier  an IP identifier (RFC 8738) in a special-purpose range
//   dns                 a failed lookup (SERVFAIL, bogus, timeout) or no A/AAAA at all
//   connection          every candidate address refused by policy; connect refused, reset or
//                       timed out; malformed or oversized response headers; a timeout
//                       anywhere; any redirect that breaks a rule (scheme, port, host,
//                       credentials, loop, more than 10). The server did not give a usable
//                       answer, as the Go VA reports these.
//   tls                 the TLS handshake of an https redirect target failed
//   unauthorized        the server answered, and the answer does not prove control: a status
//                       other than 200 (detail names it), a redirect status without Location,
//                       or a body that is not the key authorization. We use `unauthorized`, not
//                       `incorrectResponse`, for body mismatches as the Go VA does, so clients
//                       and dashboards keyed on its problem types keep working.
//
// https redirect targets are fetched over TLS WITHOUT certificate validation: the proof is the
// body, not the channel, and a site moving to https often serves a certificate the CA is about
// to replace (the Go VA sets InsecureSkipVerify for the same reason).
#include "checks/http01.h"

#include <openssl/ssl.h>

#include <array>
#include <vector>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <limits>
#include <set>

#include "checks/internal/dns_lookup.h"
#include "checks/internal/http_body.h"
#include "checks/internal/http_fetch.h"
#include "checks/internal/http_url.h"
#include "checks/internal/web_common.h"
#include "checks/key_authorization.h"
#include "checks/tcp_dialer.h"

namespace mpic::checks {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using internal::HttpPorts;
using internal::HttpUrl;

// RFC 8555 §8.3 and the Go VA: more than ten redirects is a failure.
constexpr int kMaxRedirects = 10;

// SSL_set_tlsext_host_name is a macro with a C cast; this is the same call, typed.
bool SetServerName(SSL* ssl, const std::string& name) {
  return SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                  const_cast<char*>(name.c_str())) == 1;
}

bool IsRedirect(int status) {
  // docs/domain-rules.md: only these; 303 turns the method into GET, 300/304/305 are no moves.
  return status == 301 || status == 302 || status == 307 || status == 308;
}

struct ExchangeResult {
  std::optional<Error> error;  // the exchange did not produce a usable response
  int status = 0;
  size_t location_count = 0;
  std::string location;
  std::string body;  // at most the body limit + 1 bytes
};

// One request/response on a connected socket, over plain TCP or TLS.
class HttpExchange {
 public:
  virtual ~HttpExchange() = default;
  virtual void Start(std::function<void(ExchangeResult)> done) = 0;
  virtual void Close() = 0;
  // What the exchange is waiting for, for a deadline's detail.
  virtual std::string_view Stage() const = 0;
};

template <class Stream>
class HttpExchangeImpl final : public HttpExchange,
                               public std::enable_shared_from_this<HttpExchangeImpl<Stream>> {
 public:
  template <class... Args>
  HttpExchangeImpl(const HttpUrl& url, std::string endpoint, Deadline deadline, size_t body_limit,
                   Args&&... args)
      : url_(url),
        endpoint_(std::move(endpoint)),
        deadline_(deadline),
        body_limit_(body_limit),
        body_buffer_(body_limit + 1),
        stream_(std::forward<Args>(args)...) {}

  void Start(std::function<void(ExchangeResult)> done) override {
    done_ = std::move(done);
    beast::get_lowest_layer(stream_).expires_at(deadline_);
    if constexpr (kTls) {
      stage_ = kHandshake;
      // SNI only for names (RFC 6066 §3 forbids IP literals in server_name).
      if (!url_.ip) SetServerName(stream_.native_handle(), url_.host);
      stream_.async_handshake(ssl::stream_base::client,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Abort(ec, kHandshake);
                                self->Write();
                              });
    } else {
      Write();
    }
  }

  std::string_view Stage() const override { return stage_; }

  void Close() override {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(stream_).close();
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  static constexpr std::string_view kHandshake = "during the TLS handshake";

  void Write() {
    stage_ = "sending the request";
    request_ = {http::verb::get, url_.target, 11};
    request_.set(http::field::host, url_.HostHeader());
    request_.set(http::field::user_agent, "mpic-va/0.1 (+ACME validation)");
    request_.set(http::field::accept, "*/*");
    request_.set(http::field::connection, "close");
    http::async_write(stream_, request_,
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->Abort(ec, "while sending the request");
                        self->ReadHeader();
                      });
  }

  void ReadHeader() {
    stage_ = "waiting for the response headers";
    parser_.header_limit(static_cast<uint32_t>(internal::kHttpHeaderLimit));
    // The body is read into a fixed buffer (below); the declared length does not matter, so a
    // "Content-Length: 4294967296" costs nothing. (Not boost::none: Beast 1.74 compares the
    // length with the optional, and any number is greater than an empty one.)
    parser_.body_limit(std::numeric_limits<std::uint64_t>::max());
    http::async_read_header(stream_, buffer_, parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Abort(ec, "while reading the response headers");
                              self->OnHeader();
                            });
  }

  void OnHeader() {
    const auto& message = parser_.get();
    result_.status = static_cast<int>(message.result_int());
    result_.location_count = message.count(http::field::location);
    if (auto it = message.find(http::field::location); it != message.end()) {
      result_.location = std::string(it->value());
    }
    // Only a 200 needs its body; a redirect is judged by its Location alone.
    if (result_.status != 200) return Done();
    ReadBody();
  }

  void ReadBody() {
    stage_ = "reading the response body";
    size_t got = result_.body.size();
    if (parser_.is_done() || got > body_limit_) return Done();
    auto& body = parser_.get().body();
    body.data = body_buffer_.data() + got;
    body.size = body_buffer_.size() - got;
    http::async_read(stream_, buffer_, parser_,
                     [self = this->shared_from_this(), got](beast::error_code ec, size_t) {
                       size_t now = self->body_buffer_.size() - self->parser_.get().body().size;
                       self->result_.body.assign(self->body_buffer_.data(), now);
                       if (ec == http::error::need_buffer) ec = {};
                       if (ec) return self->Abort(ec, "while reading the response body");
                       if (now == got && !self->parser_.is_done()) return self->Done();
                       self->ReadBody();
                     });
  }

  void Abort(beast::error_code ec, std::string_view what) {
    std::string detail;
    if (ec == beast::error::timeout) {
      detail = "timeout " + std::string(what) + " (" + endpoint_ + ")";
    } else if (ec == http::error::header_limit || ec == asio::error::message_size) {
      detail = "response headers from " + endpoint_ + " exceed " +
               std::to_string(internal::kHttpHeaderLimit) + " bytes";
    } else if (ec == http::error::end_of_stream || ec == asio::error::eof) {
      detail = endpoint_ + " closed the connection " + std::string(what);
    } else if (ec.category() == http::make_error_code(http::error::end_of_stream).category()) {
      detail = "malformed HTTP response from " + endpoint_ + " (" + ec.message() + ")";
    } else {
      detail = endpoint_ + ": error " + std::string(what) + ": " + ec.message();
    }
    ProblemType type = ProblemType::kConnection;
    if (kTls && what == kHandshake && ec != beast::error::timeout) type = ProblemType::kTls;
    result_.error = Error{type, std::move(detail)};
    Done();
  }

  void Done() {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    Close();
    done(std::move(result_));
  }

  HttpUrl url_;
  std::string endpoint_;
  Deadline deadline_;
  size_t body_limit_;
  std::vector<char> body_buffer_;
  Stream stream_;
  beast::flat_buffer buffer_{2 * internal::kHttpHeaderLimit};
  http::request<http::empty_body> request_;
  http::response_parser<http::buffer_body> parser_;
  ExchangeResult result_;
  std::function<void(ExchangeResult)> done_;
  std::string_view stage_ = "starting";
};

using Strand = asio::strand<asio::any_io_executor>;

class HttpFetchCheck : public std::enable_shared_from_this<HttpFetchCheck> {
 public:
  HttpFetchCheck(asio::any_io_executor executor, CheckDeps deps, internal::HttpFetchSpec spec,
                 Deadline deadline, std::function<void(CheckResult)> done)
      : executor_(executor),
        strand_(asio::make_strand(executor)),
        deps_(deps),
        spec_(std::move(spec)),
        deadline_(deadline),
        done_(std::move(done)),
        watchdog_(strand_) {
    result_.method = spec_.method;
    result_.identifier = spec_.identifier;
    ports_ = {deps_.dialer.http_port(), deps_.dialer.tls_port()};
  }

  // Everything runs on the check's strand; `done` is posted to the caller's executor.
  void Launch() {
    asio::post(strand_, [self = shared_from_this()] { self->Start(); });
  }

 private:
  void Start() {
    if (spec_.ident.ip) {
      if (auto allowed = deps_.dialer.policy().Check(*spec_.ident.ip); !allowed) {
        deps_.metrics.ObserveRefusedAddress();
        return Finish(Error{ProblemType::kRejectedIdentifier,
                            "IP identifier refused: " + allowed.error().detail});
      }
    }
    session_ = deps_.resolver.NewSession();
    watchdog_.expires_at(deadline_);
    watchdog_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->OnDeadline();
    });
    StartHop(spec_.start);
  }

  void StartHop(HttpUrl url) {
    if (!visited_.insert(url.Key()).second) {
      return Finish(Error{ProblemType::kConnection,
                          "redirect loop: " + url.ToString() + " was already requested"});
    }
    url_ = std::move(url);
    if (url_.ip) {
      auto candidates =
          internal::ChooseCandidates({*url_.ip}, deps_.dialer.policy(), deps_.metrics, url_.host);
      return OnCandidates(std::move(candidates));
    }
    phase_ = "resolving " + url_.host;
    internal::LookupAddresses(
        strand_, *session_, url_.host, deadline_, &result_.evidence,
        [self = shared_from_this()](Result<std::vector<asio::ip::address>> addresses) {
          if (self->finished_) return;
          if (!addresses) {
            HttpHopEvidence hop;
            hop.url = self->url_.ToString();
            hop.error = addresses.error().detail;
            self->result_.evidence.http_hops.push_back(std::move(hop));
            return self->Finish(addresses.error());
          }
          self->OnCandidates(internal::ChooseCandidates(*addresses, self->deps_.dialer.policy(),
                                                        self->deps_.metrics, self->url_.host));
        });
  }

  void OnCandidates(Result<std::vector<asio::ip::address>> candidates) {
    if (!candidates) {
      HttpHopEvidence hop;
      hop.url = url_.ToString();
      hop.error = candidates.error().detail;
      result_.evidence.http_hops.push_back(std::move(hop));
      Error error = candidates.error();
      if (redirects_ > 0) error.detail = "redirect target refused: " + error.detail;
      return Finish(std::move(error));
    }
    candidates_ = std::move(*candidates);
    TryConnect(0);
  }

  void TryConnect(size_t index) {
    const auto& address = candidates_[index];
    HttpHopEvidence hop;
    hop.url = url_.ToString();
    hop.address = address.to_string();
    result_.evidence.http_hops.push_back(std::move(hop));
    phase_ = "connecting to " + EndpointText(address, url_.port);
    Deadline attempt =
        internal::AttemptDeadline(Clock::now(), deadline_, index, candidates_.size());
    deps_.dialer.Connect(address, url_.port, attempt,
                         [self = shared_from_this(), index](Result<tcp::socket> socket) {
                           // The dialer calls back on its own executor; the socket is moved in a
                           // shared_ptr because std::function needs copyable lambdas.
                           auto holder = std::make_shared<Result<tcp::socket>>(std::move(socket));
                           asio::dispatch(self->strand_, [self, index, holder] {
                             self->OnConnected(index, std::move(*holder));
                           });
                         });
  }

  void OnConnected(size_t index, Result<tcp::socket> socket) {
    if (finished_) return;
    auto& hop = result_.evidence.http_hops.back();
    if (!socket) {
      hop.error = socket.error().detail;
      if (index + 1 < candidates_.size()) return TryConnect(index + 1);
      return Finish(socket.error());
    }
    const auto& address = candidates_[index];
    result_.evidence.address_used = address.to_string();
    // Re-home the connection on this check's strand so that every handler below is
    // serialized with the rest of the check.
    boost::system::error_code ec;
    auto native = socket->release(ec);
    if (ec) return Finish(Error{ProblemType::kServerInternal, "socket release: " + ec.message()});
    tcp::socket own(strand_, address.is_v6() ? tcp::v6() : tcp::v4(), native);
    std::string endpoint = EndpointText(address, url_.port);
    phase_ = "talking to " + endpoint;
    if (url_.https()) {
      if (!tls_context_) {
        tls_context_ = std::make_shared<ssl::context>(ssl::context::tls_client);
        tls_context_->set_verify_mode(ssl::verify_none);  // see the file comment
        SSL_CTX_set_min_proto_version(tls_context_->native_handle(), TLS1_2_VERSION);
      }
      exchange_ = std::make_shared<HttpExchangeImpl<beast::ssl_stream<beast::tcp_stream>>>(
          url_, endpoint, deadline_, spec_.body_limit, std::move(own), *tls_context_);
    } else {
      exchange_ = std::make_shared<HttpExchangeImpl<beast::tcp_stream>>(
          url_, endpoint, deadline_, spec_.body_limit, std::move(own));
    }
    exchange_->Start([self = shared_from_this()](ExchangeResult r) {
      asio::dispatch(self->strand_,
                     [self, r = std::move(r)]() mutable { self->OnResponse(std::move(r)); });
    });
  }

  void OnResponse(ExchangeResult r) {
    if (finished_) return;
    auto& hop = result_.evidence.http_hops.back();
    hop.status = r.status;
    hop.location = internal::PrintableText(r.location, 512);
    if (r.error) {
      hop.error = r.error->detail;
      return Finish(*r.error);
    }
    std::string where = url_.ToString() + " [" + result_.evidence.address_used + "]";
    if (IsRedirect(r.status)) {
      if (r.location_count == 0) {
        return Finish(Error{ProblemType::kUnauthorized, "invalid response from " + where +
                                                            ": HTTP " + std::to_string(r.status) +
                                                            " without a Location header"});
      }
      if (r.location_count > 1) {
        return Finish(Error{ProblemType::kConnection,
                            "invalid redirect from " + where + ": more than one Location"});
      }
      if (redirects_ >= kMaxRedirects) {
        return Finish(Error{ProblemType::kConnection, "too many redirects: more than " +
                                                          std::to_string(kMaxRedirects) +
                                                          ", the last from " + where});
      }
      auto next = internal::ResolveRedirect(url_, r.location, ports_);
      if (!next) {
        hop.error = next.error().detail;
        return Finish(next.error());
      }
      ++redirects_;
      return StartHop(std::move(*next));
    }
    if (r.status != 200) {
      return Finish(
          Error{ProblemType::kUnauthorized, "invalid response from " + where + ": HTTP status " +
                                                std::to_string(r.status) + " (expected 200)"});
    }
    result_.evidence.http_body =
        internal::PrintableText(internal::TrimHttpBody(r.body), spec_.evidence_body_limit);
    std::optional<Error> verdict =
        spec_.judge ? spec_.judge(r.body, &result_.evidence)
                    : std::optional<Error>(Error{ProblemType::kServerInternal, "no judge"});
    if (verdict) {
      verdict->detail += " (from " + where + ")";
      return Finish(std::move(verdict));
    }
    Finish(std::nullopt);
  }

  void OnDeadline() {
    if (finished_) return;
    if (phase_.starts_with("resolving")) {
      return Finish(Error{ProblemType::kDns, "timeout: deadline reached while " + phase_});
    }
    std::string detail = "timeout: deadline reached while " + phase_;
    if (exchange_) detail += ", " + std::string(exchange_->Stage());
    auto& hops = result_.evidence.http_hops;
    if (!hops.empty() && hops.back().error.empty()) hops.back().error = detail;
    Finish(Error{ProblemType::kConnection, std::move(detail)});
  }

  void Finish(std::optional<Error> problem) {
    if (finished_) return;
    finished_ = true;
    watchdog_.cancel();
    if (session_) session_->Cancel();
    if (exchange_) exchange_->Close();
    result_.valid = !problem;
    result_.problem = std::move(problem);
    asio::post(executor_, [done = std::move(done_), result = std::move(result_)]() mutable {
      done(std::move(result));
    });
  }

  asio::any_io_executor executor_;
  Strand strand_;
  CheckDeps deps_;
  internal::HttpFetchSpec spec_;
  Deadline deadline_;
  std::function<void(CheckResult)> done_;
  asio::steady_timer watchdog_;
  CheckResult result_;
  HttpPorts ports_;
  HttpUrl url_;
  std::vector<asio::ip::address> candidates_;
  std::set<std::string> visited_;
  int redirects_ = 0;
  std::string phase_ = "starting";
  std::unique_ptr<resolver::Session> session_;
  std::shared_ptr<ssl::context> tls_context_;
  std::shared_ptr<HttpExchange> exchange_;
  bool finished_ = false;
};

}  // namespace

namespace internal {

void RunHttpFetch(asio::any_io_executor executor, CheckDeps deps, HttpFetchSpec spec,
                  Deadline deadline, std::function<void(CheckResult)> done) {
  auto check = std::make_shared<HttpFetchCheck>(executor, deps, std::move(spec), deadline,
                                                std::move(done));
  check->Launch();
}

}  // namespace internal

void RunHttp01(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
               std::function<void(CheckResult)> done) {
  auto fail = [&](Error error) {
    internal::FailBeforeQuery(std::move(executor), Method::kHttp01, request.identifier,
                              std::move(error), std::move(done));
  };
  auto ident = internal::ParseWebIdentifier(request.identifier);
  if (!ident) return fail(ident.error());
  if (auto ok = ValidateToken(request.token); !ok) return fail(ok.error());
  if (auto ok = ValidateKeyAuthorization(request.key_authorization); !ok) return fail(ok.error());
  // RFC 8555 §8.1: keyAuthorization = token || '.' || thumbprint.
  if (!request.key_authorization.starts_with(request.token + ".")) {
    return fail(Error{ProblemType::kMalformed,
                      "key authorization does not begin with the token (RFC 8555 §8.1)"});
  }
  internal::HttpFetchSpec spec;
  spec.method = Method::kHttp01;
  spec.identifier = request.identifier;
  spec.ident = *ident;
  spec.start = internal::ChallengeUrl(*ident, request.token,
                                      HttpPorts{deps.dialer.http_port(), deps.dialer.tls_port()});
  spec.body_limit = internal::kHttpBodyLimit;
  spec.evidence_body_limit = internal::kHttpBodyLimit;
  spec.judge = [key_authorization = request.key_authorization](
                   std::string_view body, Evidence*) -> std::optional<Error> {
    if (auto ok = internal::CompareHttpBody(body, key_authorization); !ok) return ok.error();
    return std::nullopt;
  };
  internal::RunHttpFetch(std::move(executor), deps, std::move(spec), request.deadline,
                         std::move(done));
}

}  // namespace mpic::checks
