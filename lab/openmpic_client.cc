#include "lab/openmpic_client.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <optional>

#include "common/asio.h"

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace mpic::lab {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

Result<tcp::endpoint> LoopbackEndpoint(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Fail(ProblemType::kMalformed, "address \"" + address + "\" is not host:port");
  }
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(host, ec);
  int port = 0;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (...) {
    port = 0;
  }
  if (ec || port < 1 || port > 65535) {
    return Fail(ProblemType::kMalformed, "address \"" + address + "\" is not IP:port");
  }
  if (!ip.is_loopback()) {
    return Fail(ProblemType::kMalformed,
                "address \"" + address + "\" is not on loopback (127.0.0.0/8, ::1)");
  }
  return tcp::endpoint(ip, static_cast<uint16_t>(port));
}

}  // namespace

class OpenMpicClient::Impl {
 public:
  explicit Impl(Options options) : options_(std::move(options)) {}

  Status Init() {
    auto endpoint = LoopbackEndpoint(options_.address);
    if (!endpoint) return Fail(endpoint.error());
    endpoint_ = *endpoint;
    host_ = options_.address;
    if (!options_.plaintext) {
      boost::system::error_code ec;
      context_.set_verify_mode(ssl::verify_peer, ec);
      if (!ec) context_.load_verify_file(options_.tls.ca_file, ec);
      if (ec) return Fail(ProblemType::kMalformed, "ca " + options_.tls.ca_file + ": " +
                                                       ec.message());
      if (!options_.tls.cert_file.empty()) {
        context_.use_certificate_chain_file(options_.tls.cert_file, ec);
        if (!ec) context_.use_private_key_file(options_.tls.key_file, ssl::context::pem, ec);
        if (ec) return Fail(ProblemType::kMalformed, "client certificate " +
                                                         options_.tls.cert_file + ": " +
                                                         ec.message());
      }
    }
    return Reconnect();
  }

  Result<HttpReply> Send(http::verb verb, const std::string& target, const std::string& body) {
    http::request<http::string_body> request{verb, target, 11};
    request.set(http::field::host, host_);
    request.keep_alive(true);
    if (verb == http::verb::post) request.set(http::field::content_type, "application/json");
    if (!options_.api_key.empty()) request.set(options_.api_key_header, options_.api_key);
    request.body() = body;
    request.prepare_payload();
    auto reply = Exchange(request);
    if (!reply && reply.error().type == ProblemType::kConnection && reused_) {
      // The server may have closed the kept-alive connection meanwhile: once more, fresh.
      if (Status ok = Reconnect(); !ok) return Fail(ok.error());
      reply = Exchange(request);
    }
    return reply;
  }

 private:
  tcp::socket& Socket() { return tls_ ? tls_->next_layer() : *plain_; }

  Status Reconnect() {
    tls_.reset();
    plain_.reset();
    buffer_.clear();
    reused_ = false;
    boost::system::error_code ec;
    tcp::socket socket(io_);
    socket.connect(endpoint_, ec);
    if (ec) {
      return Fail(ProblemType::kConnection,
                  "connect " + options_.address + ": " + ec.message());
    }
    const auto ms = options_.timeout.count();
    timeval tv{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (options_.plaintext) {
      plain_.emplace(std::move(socket));
      return {};
    }
    tls_.emplace(std::move(socket), context_);
    const std::string name = options_.tls.server_name.empty()
                                 ? endpoint_.address().to_string()
                                 : options_.tls.server_name;
    tls_->set_verify_callback(ssl::host_name_verification(name));
    tls_->handshake(ssl::stream_base::client, ec);
    if (ec) {
      tls_.reset();
      return Fail(ProblemType::kConnection, "TLS handshake with " + options_.address + ": " +
                                                ec.message());
    }
    return {};
  }

  template <typename Stream>
  Result<HttpReply> ExchangeOn(Stream& stream, const http::request<http::string_body>& request) {
    beast::error_code ec;
    http::write(stream, request, ec);
    if (ec) return Fail(ProblemType::kConnection, "write: " + ec.message());
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 << 20);
    http::read(stream, buffer_, parser, ec);
    if (ec) return Fail(ProblemType::kConnection, "read: " + ec.message());
    HttpReply reply;
    reply.status = static_cast<int>(parser.get().result_int());
    reply.body = std::move(parser.get().body());
    if (!parser.get().keep_alive()) need_reconnect_ = true;
    return reply;
  }

  Result<HttpReply> Exchange(const http::request<http::string_body>& request) {
    if (need_reconnect_ || (!tls_ && !plain_)) {
      need_reconnect_ = false;
      if (Status ok = Reconnect(); !ok) return Fail(ok.error());
    }
    auto reply = tls_ ? ExchangeOn(*tls_, request) : ExchangeOn(*plain_, request);
    if (!reply) {
      need_reconnect_ = true;
    } else {
      reused_ = true;
    }
    return reply;
  }

  Options options_;
  asio::io_context io_;
  ssl::context context_{ssl::context::tls_client};
  tcp::endpoint endpoint_;
  std::string host_;
  std::optional<ssl::stream<tcp::socket>> tls_;
  std::optional<tcp::socket> plain_;
  beast::flat_buffer buffer_;
  bool reused_ = false;
  bool need_reconnect_ = false;
};

Result<std::unique_ptr<OpenMpicClient>> OpenMpicClient::Connect(Options options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (Status ok = impl->Init(); !ok) return Fail(ok.error());
  return std::unique_ptr<OpenMpicClient>(new OpenMpicClient(std::move(impl)));
}

OpenMpicClient::OpenMpicClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OpenMpicClient::~OpenMpicClient() = default;

Result<HttpReply> OpenMpicClient::Post(const std::string& target, const std::string& body) {
  return impl_->Send(http::verb::post, target, body);
}

Result<HttpReply> OpenMpicClient::Get(const std::string& target) {
  return impl_->Send(http::verb::get, target, "");
}

}  // namespace mpic::lab
