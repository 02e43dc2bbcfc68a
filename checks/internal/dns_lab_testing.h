// Test support for the DNS-01 and CAA lab tests (checks/dns01_lab_test.cc and friends): one
// DnsLab per test binary (a gtest Environment), and a helper that runs one check against it
// through a fresh libunbound resolver, bounded by the request's deadline. Test-only.
//
//   mpic::checks::testing::LabEnv::Register();     // once, at namespace scope in one file
//   CheckResult r = RunOnLab(MakeRequest(Method::kDns01, "d1.secure.lab"));
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "checks/check.h"
#include "common/asio.h"
#include "resolver/unbound_resolver.h"
#include "tests/dnslab/dnslab.h"

namespace mpic::checks::testing {

using namespace std::chrono_literals;

class LabEnv : public ::testing::Environment {
 public:
  static mpic::testing::DnsLab* lab() { return lab_; }

  static ::testing::Environment* Register() {
    return ::testing::AddGlobalTestEnvironment(new LabEnv);
  }

  void SetUp() override {
    auto lab = mpic::testing::DnsLab::Start();
    ASSERT_TRUE(lab.has_value()) << lab.error();
    lab_ = lab->release();
  }
  void TearDown() override {
    delete lab_;
    lab_ = nullptr;
  }

 private:
  static inline mpic::testing::DnsLab* lab_ = nullptr;
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
