// TLS-ALPN-01 (RFC 8737; IP identifiers: RFC 8738 §6).
//
// Problem types, and why:
//   malformed           identifier or key authorization unusable (no traffic is sent)
//   rejectedIdentifier  an IP identifier in a special-purpose range
//   dns                 a failed lookup (SERVFAIL, bogus, timeout) or no A/AAAA at all
//   connection          no allowed address; connect refused or timed out; the deadline passed
//                       during the handshake
//   tls                 the handshake failed, acme-tls/1 was not negotiated (RFC 8737 §3
//                       requires it), no certificate, or a certificate that does not parse
//   unauthorized        a certificate that parses but does not prove control: SAN count or
//                       value, acmeIdentifier missing, not critical, wrong size or wrong digest
//                       (as the Go VA reports an incorrect validation certificate)
//
// The certificate is self-signed by design, so chain verification is off; OpenSSL 3.0 would
// refuse it anyway for the unknown critical acmeIdentifier extension (docs/architecture.md, Pitfalls). Every
// property RFC 8737 requires is checked by hand in internal::VerifyAcmeCertificate.
#include "checks/tls_alpn01.h"

#include <array>
#include <cstdint>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>

#include "checks/internal/tls_cert.h"
#include "checks/internal/web_common.h"
#include "checks/key_authorization.h"
#include "checks/tcp_dialer.h"

namespace mpic::checks {
namespace {

namespace beast = boost::beast;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using Strand = asio::strand<asio::any_io_executor>;

// SSL_set_tlsext_host_name is a macro with a C cast; this is the same call, typed.
bool SetServerName(SSL* ssl, const std::string& name) {
  return SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                  const_cast<char*>(name.c_str())) == 1;
}

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};

class TlsAlpn01Check : public std::enable_shared_from_this<TlsAlpn01Check> {
 public:
  TlsAlpn01Check(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
                 std::function<void(CheckResult)> done)
      : executor_(executor),
        strand_(asio::make_strand(executor)),
        deps_(deps),
        request_(std::move(request)),
        done_(std::move(done)),
        watchdog_(strand_),
        tls_context_(ssl::context::tls_client) {
    result_.method = Method::kTlsAlpn01;
    result_.identifier = request_.identifier;
  }

  void Launch() {
    asio::post(strand_, [self = shared_from_this()] { self->Start(); });
  }

 private:
  void Start() {
    auto ident = internal::ParseWebIdentifier(request_.identifier);
    if (!ident) return Finish(ident.error());
    ident_ = *ident;
    // The key authorization, or (Open MPIC's key_authorization_hash) only its digest.
    if (request_.key_authorization.empty() && request_.key_authorization_sha256) {
      expected_digest_ = *request_.key_authorization_sha256;
    } else if (auto ok = ValidateKeyAuthorization(request_.key_authorization); !ok) {
      return Finish(ok.error());
    } else {
      expected_digest_ = Sha256(request_.key_authorization);
    }
    if (auto ok = ConfigureTls(); !ok) return Finish(ok.error());
    watchdog_.expires_at(request_.deadline);
    watchdog_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->OnDeadline();
    });
    if (ident_.ip) {
      if (auto allowed = deps_.dialer.policy().Check(*ident_.ip); !allowed) {
        deps_.metrics.ObserveRefusedAddress();
        return Finish(Error{ProblemType::kRejectedIdentifier,
                            "IP identifier refused: " + allowed.error().detail});
      }
      candidates_ = {*ident_.ip};
      return TryConnect(0);
    }
    session_ = deps_.resolver.NewSession();
    phase_ = "resolving " + ident_.host;
    internal::LookupAddresses(
        strand_, *session_, ident_.host, request_.deadline, &result_.evidence,
        [self = shared_from_this()](Result<std::vector<asio::ip::address>> addresses) {
          if (self->finished_) return;
          if (!addresses) return self->Finish(addresses.error());
          auto candidates = internal::ChooseCandidates(*addresses, self->deps_.dialer.policy(),
                                                       self->deps_.metrics, self->ident_.host);
          if (!candidates) return self->Finish(candidates.error());
          self->candidates_ = std::move(*candidates);
          self->TryConnect(0);
        });
  }

  Status ConfigureTls() {
    SSL_CTX* ctx = tls_context_.native_handle();
    tls_context_.set_verify_mode(ssl::verify_none);  // see the file comment
    // RFC 8737 §4: TLS 1.2 or later.
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // RFC 8737 §3: offer acme-tls/1 and nothing else (wire format: length-prefixed).
    std::string protos(1, static_cast<char>(internal::kAcmeTlsAlpn.size()));
    protos += internal::kAcmeTlsAlpn;
    if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(protos.data()),
                                static_cast<unsigned>(protos.size())) != 0) {
      return Fail(ProblemType::kServerInternal, "cannot configure ALPN");
    }
    // RFC 8737 §3 / RFC 8738 §6: SNI carries the name, or the reverse name of an IP.
    sni_ = ident_.ip ? internal::ReverseDnsName(*ident_.ip) : ident_.host;
    return {};
  }

  void TryConnect(size_t index) {
    const auto& address = candidates_[index];
    endpoint_ = EndpointText(address, deps_.dialer.tls_port());
    phase_ = "connecting to " + endpoint_;
    Deadline attempt =
        internal::AttemptDeadline(Clock::now(), request_.deadline, index, candidates_.size());
    deps_.dialer.Connect(address, deps_.dialer.tls_port(), attempt,
                         [self = shared_from_this(), index](Result<tcp::socket> socket) {
                           auto holder = std::make_shared<Result<tcp::socket>>(std::move(socket));
                           asio::dispatch(self->strand_, [self, index, holder] {
                             self->OnConnected(index, std::move(*holder));
                           });
                         });
  }

  void OnConnected(size_t index, Result<tcp::socket> socket) {
    if (finished_) return;
    if (!socket) {
      // IPv6 first, IPv4 only when the connection itself failed (docs/domain-rules.md).
      if (index + 1 < candidates_.size()) return TryConnect(index + 1);
      return Finish(socket.error());
    }
    const auto& address = candidates_[index];
    result_.evidence.address_used = address.to_string();
    boost::system::error_code ec;
    auto native = socket->release(ec);
    if (ec) return Finish(Error{ProblemType::kServerInternal, "socket release: " + ec.message()});
    stream_.emplace(tcp::socket(strand_, address.is_v6() ? tcp::v6() : tcp::v4(), native),
                    tls_context_);
    beast::get_lowest_layer(*stream_).expires_at(request_.deadline);
    if (!SetServerName(stream_->native_handle(), sni_)) {
      return Finish(Error{ProblemType::kServerInternal, "cannot set SNI " + sni_});
    }
    phase_ = "in the TLS handshake with " + endpoint_;
    stream_->async_handshake(
        ssl::stream_base::client,
        [self = shared_from_this()](beast::error_code hs_ec) { self->OnHandshake(hs_ec); });
  }

  void OnHandshake(beast::error_code ec) {
    if (finished_) return;
    if (ec == beast::error::timeout) {
      return Finish(Error{ProblemType::kConnection, "timeout " + phase_});
    }
    if (ec) {
      return Finish(
          Error{ProblemType::kTls, "TLS handshake with " + endpoint_ + " failed: " + ec.message()});
    }
    SSL* ssl = stream_->native_handle();
    const unsigned char* alpn = nullptr;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    std::string_view selected(reinterpret_cast<const char*>(alpn), alpn ? alpn_len : 0);
    result_.evidence.alpn = internal::PrintableText(selected, 64);
    if (selected != internal::kAcmeTlsAlpn) {
      return Finish(Error{
          ProblemType::kTls,
          endpoint_ +
              " did not negotiate ALPN protocol \"acme-tls/1\" (RFC 8737 "
              "§3); negotiated: " +
              (selected.empty() ? std::string("none") : "\"" + result_.evidence.alpn + "\"")});
    }
    std::unique_ptr<X509, X509Deleter> cert(SSL_get1_peer_certificate(ssl));
    if (!cert) return Finish(Error{ProblemType::kTls, endpoint_ + " sent no certificate"});
    int len = i2d_X509(cert.get(), nullptr);
    if (len <= 0) return Finish(Error{ProblemType::kTls, "cannot encode the peer certificate"});
    std::vector<uint8_t> der(static_cast<size_t>(len));
    unsigned char* out = der.data();
    i2d_X509(cert.get(), &out);
    auto verdict = internal::VerifyAcmeCertificateDigest(der, ident_.host, expected_digest_,
                                                         &result_.evidence);
    if (!verdict) {
      Error error = verdict.error();
      error.detail += " (from " + endpoint_ + ")";
      return Finish(std::move(error));
    }
    Finish(std::nullopt);
  }

  void OnDeadline() {
    if (finished_) return;
    ProblemType type =
        phase_.starts_with("resolving") ? ProblemType::kDns : ProblemType::kConnection;
    Finish(Error{type, "timeout: deadline reached while " + phase_});
  }

  void Finish(std::optional<Error> problem) {
    if (finished_) return;
    finished_ = true;
    watchdog_.cancel();
    if (session_) session_->Cancel();
    if (stream_) {
      // No close_notify: the verdict is in, and a peer that never reads must not hold us.
      beast::get_lowest_layer(*stream_).close();
    }
    result_.valid = !problem;
    result_.problem = std::move(problem);
    asio::post(executor_, [done = std::move(done_), result = std::move(result_)]() mutable {
      done(std::move(result));
    });
  }

  asio::any_io_executor executor_;
  Strand strand_;
  CheckDeps deps_;
  CheckRequest request_;
  std::function<void(CheckResult)> done_;
  asio::steady_timer watchdog_;
  ssl::context tls_context_;
  CheckResult result_;
  internal::WebIdentifier ident_;
  std::array<uint8_t, 32> expected_digest_{};  // SHA-256 of the key authorization
  std::string sni_;
  std::string endpoint_;
  std::vector<asio::ip::address> candidates_;
  std::string phase_ = "starting";
  std::unique_ptr<resolver::Session> session_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream_;
  bool finished_ = false;
};

}  // namespace

void RunTlsAlpn01(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
                  std::function<void(CheckResult)> done) {
  auto check =
      std::make_shared<TlsAlpn01Check>(executor, deps, std::move(request), std::move(done));
  check->Launch();
}

}  // namespace mpic::checks
