#include "checks/testing/check_lab.h"

#include "resolver/unbound_resolver.h"

namespace mpic::checks::testing {
namespace {

// Refuses every non-loopback address before the real dialer sees it (tests only).
class LoopbackOnlyDialer final : public Dialer {
 public:
  explicit LoopbackOnlyDialer(std::unique_ptr<TcpDialer> inner) : inner_(std::move(inner)) {}

  void Connect(const asio::ip::address& address, uint16_t port, Deadline deadline,
               ConnectCallback callback) override {
    const bool loopback = address.is_v6() && address.to_v6().is_v4_mapped()
                              ? address.to_v6().to_v4().is_loopback()
                              : address.is_loopback();
    if (!loopback) {
      callback(Fail(ProblemType::kConnection,
                    "test guard: " + address.to_string() + " is not loopback"));
      return;
    }
    inner_->Connect(address, port, deadline, std::move(callback));
  }
  const AddressPolicy& policy() const override { return inner_->policy(); }
  uint16_t http_port() const override { return inner_->http_port(); }
  uint16_t tls_port() const override { return inner_->tls_port(); }

 private:
  std::unique_ptr<TcpDialer> inner_;
};

bool IsLoopbackRange(const std::string& text) {
  auto cidr = Cidr::Parse(text);
  if (!cidr) return false;
  if (cidr->network.is_v4()) return cidr->network.is_loopback() && cidr->prefix >= 8;
  return cidr->network.is_loopback() && cidr->prefix == 128;
}

}  // namespace

tl::expected<std::unique_ptr<CheckLab>, std::string> CheckLab::Start() {
  std::unique_ptr<CheckLab> lab(new CheckLab);
  auto dns = mpic::lab::DnsLab::Start();
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

std::string CheckLab::Set(const std::string& name, const std::string& type,
                        std::vector<std::string> rdata) {
  auto r = dns_->Set("secure.lab.", name, type, std::move(rdata));
  return r ? "" : r.error();
}

std::unique_ptr<Dialer> CheckLab::MakeDialer(uint16_t http_port, uint16_t tls_port,
                                           std::vector<std::string> extra_ranges) {
  AddressPolicy policy;
  if (!policy.AllowLabRange(lab_range())) return nullptr;
  for (const auto& range : extra_ranges) {
    if (!IsLoopbackRange(range) || !policy.AllowLabRange(range)) return nullptr;
  }
  auto dialer = TcpDialer::Create(io_.get_executor(), std::move(policy), {http_port, tls_port});
  if (!dialer) return nullptr;
  return std::make_unique<LoopbackOnlyDialer>(std::move(*dialer));
}

CheckResult CheckLab::Run(Dialer& dialer, CheckRequest request) {
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
