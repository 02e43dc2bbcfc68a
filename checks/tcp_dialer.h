// The production Dialer: a TCP connect bounded by the check's deadline, with the address
// policy enforced immediately before the connect (a DNS answer filtered earlier cannot be
// swapped for a private address in between: DNS rebinding). Ports are 80 (HTTP-01) and 443
// (TLS-ALPN-01, https redirects); a lab may override them, and only a lab.
//
//   AddressPolicy policy;
//   (void)policy.AllowLabRange("127.12.34.0/24");  // lab mode
//   auto dialer = TcpDialer::Create(io.get_executor(), policy, {.http_port = 8080});
//   (*dialer)->Connect(addr, (*dialer)->http_port(), deadline, [](Result<tcp::socket> s) {...});
#pragma once

#include <memory>

#include "checks/check.h"

namespace mpic::checks {

struct DialerPorts {
  uint16_t http_port = 80;  // RFC 8555 §8.3
  uint16_t tls_port = 443;  // RFC 8737 §3
};

class TcpDialer final : public Dialer {
 public:
  // Refuses port overrides (or port 0) unless `policy` is in lab mode: production must only
  // ever talk to the ports the RFCs name.
  [[nodiscard]] static Result<std::unique_ptr<TcpDialer>> Create(asio::any_io_executor executor,
                                                                 AddressPolicy policy,
                                                                 DialerPorts ports = {});

  // Calls back exactly once, on this dialer's executor: a connected socket, or kConnection with
  // a detail (refused by policy, refused by the peer, unreachable, timed out at `deadline`).
  // The dialer must outlive the connects it has in flight (it is a long-lived dependency).
  void Connect(const asio::ip::address& address, uint16_t port, Deadline deadline,
               ConnectCallback callback) override;

  const AddressPolicy& policy() const override { return policy_; }
  uint16_t http_port() const override { return ports_.http_port; }
  uint16_t tls_port() const override { return ports_.tls_port; }

 private:
  TcpDialer(asio::any_io_executor executor, AddressPolicy policy, DialerPorts ports)
      : executor_(std::move(executor)), policy_(std::move(policy)), ports_(ports) {}

  asio::any_io_executor executor_;
  AddressPolicy policy_;
  DialerPorts ports_;
};

// "1.2.3.4:80" or "[2001:db8::1]:443", for details.
[[nodiscard]] std::string EndpointText(const asio::ip::address& address, uint16_t port);

}  // namespace mpic::checks
