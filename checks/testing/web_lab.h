// The world the web-check integration tests run in: a DnsLab (real signed zones on loopback),
// a libunbound resolver pointed at it, one io_context, and a bounded way to run a check.
//
//   auto lab = WebLab::Start();                       // once per test binary (slow: NSD)
//   ASSERT_TRUE(lab) << lab.error();
//   (*lab)->Set("web.secure.lab.", "A", {(*lab)->free_address(0)});
//   auto dialer = (*lab)->MakeDialer(http_server->port(), 443);
//   CheckResult r = (*lab)->Run(*dialer, request);    // returns by request.deadline + slack
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "checks/check.h"
#include "checks/tcp_dialer.h"
#include "tests/dnslab/dnslab.h"

namespace mpic::checks::testing {

// Counts refused addresses, so tests can see the policy at work.
class CountingMetrics : public CheckMetrics {
 public:
  void ObserveRefusedAddress() override { ++refused; }
  std::atomic<int> refused{0};
};

class WebLab {
 public:
  static tl::expected<std::unique_ptr<WebLab>, std::string> Start();

  mpic::testing::DnsLab& dns() { return *dns_; }
  asio::io_context& io() { return io_; }
  resolver::Resolver& resolver() { return *resolver_; }
  CountingMetrics& metrics() { return metrics_; }

  // "127.A.B.0/24": the lab's block, allowed in lab mode.
  std::string lab_range() const { return dns_->block() + ".0/24"; }
  std::string free_address(size_t i) const { return dns_->free_address(i); }

  // Sets an RRset in secure.lab. (`name` relative or absolute); "" on success.
  [[nodiscard]] std::string Set(const std::string& name, const std::string& type,
                                std::vector<std::string> rdata);

  // A lab-mode dialer: the lab block and `extra_ranges` allowed, ports overridden. A test
  // guard sits in front of it: whatever the policy says (it allows public unicast), a connect
  // to anything but a loopback address fails, so no test can reach off the machine. nullptr
  // when a range does not parse or is not loopback.
  [[nodiscard]] std::unique_ptr<Dialer> MakeDialer(uint16_t http_port, uint16_t tls_port,
                                                   std::vector<std::string> extra_ranges = {
                                                       "::1/128"});

  // Runs one check through RunCheck and waits for its verdict (bounded by the request's deadline
  // plus 5 s; a check that misses that bound yields a serverInternal "did not return" result,
  // which tests treat as a failure).
  CheckResult Run(Dialer& dialer, CheckRequest request);

 private:
  WebLab() = default;

  std::unique_ptr<mpic::testing::DnsLab> dns_;
  asio::io_context io_;
  std::unique_ptr<resolver::Resolver> resolver_;
  CountingMetrics metrics_;
  TimeSource clock_;
};

// A syntactically valid token and key authorization pair (RFC 8555 §8.1).
inline constexpr std::string_view kTestToken = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
inline constexpr std::string_view kTestKeyAuthorization =
    "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

}  // namespace mpic::checks::testing
