// The one harness of the checks' lab tests (*_lab_test.cc in checks/): the world they run in is
// a DnsLab (lab/dnslab.h: real signed zones on loopback), a libunbound resolver pointed at it,
// one io_context, and a bounded way to run a check. Test-only.
//
// HTTP-01 and TLS-ALPN-01 (a lab per test suite, real servers, a loopback-only dialer):
//   auto lab = CheckLab::Start();                     // once per test binary (slow: NSD)
//   ASSERT_TRUE(lab) << lab.error();
//   (*lab)->Set("web.secure.lab.", "A", {(*lab)->free_address(0)});
//   auto dialer = (*lab)->MakeDialer(http_server->port(), 443);
//   CheckResult r = (*lab)->Run(*dialer, request);    // returns by request.deadline + slack
//
// DNS-01 and CAA (one lab per test binary as a gtest Environment, a fresh resolver per check,
// no dialer at all):
//   mpic::checks::testing::LabEnv::Register();     // once, at namespace scope in one file
//   CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "d1.secure.lab"));
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "checks/check.h"
#include "checks/tcp_dialer.h"
#include "common/asio.h"
#include "lab/dnslab.h"
#include "resolver/unbound_resolver.h"

namespace mpic::checks::testing {

// Counts refused addresses, so tests can see the policy at work.
class CountingMetrics : public CheckMetrics {
 public:
  void ObserveRefusedAddress() override { ++refused; }
  std::atomic<int> refused{0};
};

class CheckLab {
 public:
  static tl::expected<std::unique_ptr<CheckLab>, std::string> Start();

  mpic::lab::DnsLab& dns() { return *dns_; }
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
  CheckLab() = default;

  std::unique_ptr<mpic::lab::DnsLab> dns_;
  asio::io_context io_;
  std::unique_ptr<resolver::Resolver> resolver_;
  CountingMetrics metrics_;
  TimeSource clock_;
};

// A syntactically valid token and key authorization pair (RFC 8555 §8.1).
inline constexpr std::string_view kTestToken = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
inline constexpr std::string_view kTestKeyAuthorization =
    "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

// --- DNS-01 and CAA: a fresh resolver per check, no dialer --------------------------------

using namespace std::chrono_literals;

// One CheckLab for the whole test binary; lab() is its DnsLab (nullptr until set up).
class LabEnv : public ::testing::Environment {
 public:
  static mpic::lab::DnsLab* lab() { return lab_ != nullptr ? &lab_->dns() : nullptr; }
  // The whole CheckLab (dialers, Run), for binaries that mix DNS and web checks on one lab.
  static CheckLab* check_lab() { return lab_; }

  static ::testing::Environment* Register() {
    return ::testing::AddGlobalTestEnvironment(new LabEnv);
  }

  void SetUp() override {
    auto lab = CheckLab::Start();
    ASSERT_TRUE(lab.has_value()) << lab.error();
    lab_ = lab->release();
  }
  void TearDown() override {
    delete lab_;
    lab_ = nullptr;
  }

 private:
  static inline CheckLab* lab_ = nullptr;
};

// DNS-01 and CAA never connect; a connect attempt is a bug.
class NoDialer final : public Dialer {
 public:
  void Connect(const asio::ip::address&, uint16_t, Deadline, ConnectCallback callback) override {
    ADD_FAILURE() << "a DNS check tried to connect";
    callback(Fail(ProblemType::kServerInternal, "no dialer in DNS tests"));
  }
  const AddressPolicy& policy() const override { return policy_; }

 private:
  AddressPolicy policy_;
};

// A valid key authorization (token "." thumbprint, RFC 8555 §8.1).
inline constexpr const char* kKeyAuthorization =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
inline constexpr const char* kCaaIssuer = "ca.example";  // the lab's apex CAA names it

inline CheckRequest MakeRequest(Method method, std::string identifier,
                                std::chrono::milliseconds timeout = 5s) {
  CheckRequest r;
  r.method = method;
  r.identifier = std::move(identifier);
  r.key_authorization = kKeyAuthorization;
  r.caa_issuer_domains = {kCaaIssuer};
  r.caa_validation_method = "dns-01";
  r.deadline = Clock::now() + timeout;
  return r;
}

inline resolver::UnboundConfig LabResolverConfig() {
  resolver::UnboundConfig config;
  config.root_hints_file = LabEnv::lab()->root_hints_file();
  config.trust_anchor_file = LabEnv::lab()->trust_anchor_file();
  config.allow_loopback_servers = true;
  config.use_ipv6 = false;
  return config;
}

// Runs one check on a fresh resolver and io_context; fails the test if no verdict arrives by
// the deadline plus a second of slack.
inline CheckResult RunOnLab(CheckRequest request) {
  CheckResult out;
  if (LabEnv::lab() == nullptr) {
    ADD_FAILURE() << "no lab";
    return out;
  }
  asio::io_context io;
  auto resolver = resolver::UnboundResolver::Create(io.get_executor(), LabResolverConfig());
  if (!resolver) {
    ADD_FAILURE() << resolver.error().detail;
    return out;
  }
  NoDialer dialer;
  TimeSource clock;
  CheckMetrics metrics;
  std::optional<CheckResult> result;
  auto hard_stop = request.deadline + 1s;
  RunCheck(io.get_executor(), CheckDeps{**resolver, dialer, clock, metrics}, std::move(request),
           [&](CheckResult r) { result = std::move(r); });
  while (!result && Clock::now() < hard_stop) io.run_one_until(hard_stop);
  if (!result) {
    ADD_FAILURE() << "no verdict by the deadline";
    return out;
  }
  // Let cancelled stragglers finish (bounded) so nothing outlives the resolver.
  io.run_for(200ms);
  return std::move(*result);
}

// "urn:ietf:params:acme:error:dns" -> ProblemType of a result, for assertions.
inline std::string ProblemName(const CheckResult& r) {
  return r.problem ? std::string(ProblemTypeName(r.problem->type)) : "none";
}

}  // namespace mpic::checks::testing
