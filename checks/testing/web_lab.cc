#include "checks/testing/web_lab.h"

#include "resolver/unbound_resolver.h"

namespace mpic::checks::testing {

tl::expected<std::unique_ptr<WebLab>, std::string> WebLab::Start() {
  std::unique_ptr<WebLab> lab(new WebLab);
  auto dns = mpic::testing::DnsLab::Start();
  if (!dns) return tl::unexpected("DnsLab: " + dns.error());
  lab->dns_ = std::move(*dns);
  resolver::UnboundConfig config;
  config.root_hints_file = lab->dns_->root_hints_file();
  config.trust_anchor_file = lab->dns_->trust_anchor_file();
  config.allow_loopback_servers = true;
  auto resolver = resolver::UnboundResolver::Create(lab->io_.get_executor(), config);
  if (!resolver) return tl::unexpected("resolver: " + resolver.error().detail);
  lab->resolver_ = std::move(*resolver);
  return lab;
}

std::string WebLab::Set(const std::string& name, const std::string& type,
                        std::vector<std::string> rdata) {
  auto r = dns_->Set("secure.lab.", name, type, std::move(rdata));
  return r ? "" : r.error();
}

std::unique_ptr<TcpDialer> WebLab::MakeDialer(uint16_t http_port, uint16_t tls_port,
                                              std::vector<std::string> extra_ranges) {
  AddressPolicy policy;
  if (!policy.AllowLabRange(lab_range())) return nullptr;
  for (const auto& range : extra_ranges) {
    if (!policy.AllowLabRange(range)) return nullptr;
  }
  auto dialer = TcpDialer::Create(io_.get_executor(), std::move(policy), {http_port, tls_port});
  return dialer ? std::move(*dialer) : nullptr;
}

CheckResult WebLab::Run(Dialer& dialer, CheckRequest request) {
  CheckDeps deps{*resolver_, dialer, clock_, metrics_};
  // Shared with the callback: a check that overran `limit` must not write into a dead frame.
  auto result = std::make_shared<std::optional<CheckResult>>();
  auto limit = request.deadline + std::chrono::seconds(5);
  CheckResult missing;
  missing.method = request.method;
  missing.identifier = request.identifier;
  io_.restart();
  RunCheck(io_.get_executor(), deps, std::move(request),
           [result](CheckResult r) { *result = std::move(r); });
  while (!*result && Clock::now() < limit) {
    io_.run_one_for(std::chrono::milliseconds(50));
    if (io_.stopped()) io_.restart();
  }
  // Let cancelled stragglers (lookups, sockets) finish while their objects still exist.
  for (int i = 0; i < 100 && io_.poll() > 0; ++i) {
  }
  if (*result) return std::move(**result);
  missing.problem = Error{ProblemType::kServerInternal, "check did not return in time"};
  return missing;
}

}  // namespace mpic::checks::testing
