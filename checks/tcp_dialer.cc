#include "checks/tcp_dialer.h"

namespace mpic::checks {
namespace {

using asio::ip::tcp;

// One connect attempt. The socket and the timer share a strand, so "timed out" and
// "connected" cannot race even on a multi-threaded io_context.
struct ConnectOp {
  explicit ConnectOp(asio::strand<asio::any_io_executor> s) : strand(s), socket(s), timer(s) {}

  asio::strand<asio::any_io_executor> strand;
  tcp::socket socket;
  asio::steady_timer timer;
  Dialer::ConnectCallback callback;
  std::string endpoint;
  bool timed_out = false;
  bool finished = false;

  void Finish(Result<tcp::socket> result) {
    if (finished) return;
    finished = true;
    timer.cancel();
    callback(std::move(result));
  }
};

std::string ConnectErrorDetail(const boost::system::error_code& ec, const std::string& endpoint) {
  if (ec == asio::error::connection_refused) return "connection refused by " + endpoint;
  if (ec == asio::error::network_unreachable || ec == asio::error::host_unreachable) {
    return endpoint + " is unreachable (" + ec.message() + ")";
  }
  return "cannot connect to " + endpoint + ": " + ec.message();
}

}  // namespace

std::string EndpointText(const asio::ip::address& address, uint16_t port) {
  if (address.is_v6()) return "[" + address.to_string() + "]:" + std::to_string(port);
  return address.to_string() + ":" + std::to_string(port);
}

Result<std::unique_ptr<TcpDialer>> TcpDialer::Create(asio::any_io_executor executor,
                                                     AddressPolicy policy, DialerPorts ports) {
  if (ports.http_port == 0 || ports.tls_port == 0) {
    return Fail(ProblemType::kServerInternal, "dialer ports must be non-zero");
  }
  bool overridden = ports.http_port != 80 || ports.tls_port != 443;
  if (overridden && !policy.lab_mode()) {
    return Fail(ProblemType::kServerInternal,
                "port overrides (http " + std::to_string(ports.http_port) + ", tls " +
                    std::to_string(ports.tls_port) +
                    ") are only allowed in lab mode (RFC 8555 §8.3 and RFC 8737 §3 name "
                    "ports 80 and 443)");
  }
  return std::unique_ptr<TcpDialer>(new TcpDialer(std::move(executor), std::move(policy), ports));
}

void TcpDialer::Connect(const asio::ip::address& address, uint16_t port, Deadline deadline,
                        ConnectCallback callback) {
  auto op = std::make_shared<ConnectOp>(asio::make_strand(executor_));
  op->callback = std::move(callback);
  op->endpoint = EndpointText(address, port);
  // Everything, including the policy check, runs on the op's strand; the policy is judged
  // here, as late as possible before the connect itself.
  asio::post(op->strand, [this, op, address, port, deadline] {
    if (auto allowed = policy_.Check(address); !allowed) {
      return op->Finish(tl::unexpected(allowed.error()));
    }
    if (Clock::now() >= deadline) {
      return op->Finish(
          Fail(ProblemType::kConnection, "deadline reached before connecting to " + op->endpoint));
    }
    op->timer.expires_at(deadline);
    op->timer.async_wait([op](const boost::system::error_code& ec) {
      if (ec || op->finished) return;
      op->timed_out = true;
      boost::system::error_code ignored;
      op->socket.close(ignored);  // completes the connect with operation_aborted
    });
    op->socket.async_connect(
        tcp::endpoint(address, port), [op](const boost::system::error_code& ec) {
          if (op->timed_out) {
            return op->Finish(
                Fail(ProblemType::kConnection, "timeout connecting to " + op->endpoint));
          }
          if (ec) {
            return op->Finish(Fail(ProblemType::kConnection, ConnectErrorDetail(ec, op->endpoint)));
          }
          op->Finish(std::move(op->socket));
        });
  });
}

}  // namespace mpic::checks
