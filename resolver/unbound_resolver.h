// The default backend: libunbound doing full recursion from the configured root hints and
// validating DNSSEC against the configured trust anchor. Every session gets a brand-new
// ub_ctx, so no answer, key or delegation learned by one validation can serve another
// (only a fresh context is cache-free). Results are delivered on the executor. By default a
// context runs on the executor's thread through libunbound's event API (no thread per
// context); resolver::ValidationResolver shares one session among a validation's lookups.
//
//   UnboundConfig config;  // defaults: the real root from Debian's dns-root-data
//   config.root_hints_file = lab.root_hints_file();
//   config.trust_anchor_file = lab.trust_anchor_file();
//   config.allow_loopback_servers = true;  // the lab's servers live on 127.0.0.0/8
//   auto resolver = UnboundResolver::Create(io.get_executor(), config);
#pragma once

#include <memory>
#include <string>

#include "common/asio.h"
#include "resolver/resolver.h"

namespace mpic::resolver {

struct UnboundConfig {
  std::string root_hints_file = "/usr/share/dns/root.hints";
  std::string trust_anchor_file = "/usr/share/dns/root.key";  // DS or DNSKEY, presentation
  // Lets unbound query servers on 127.0.0.0/8 and ::1 (the lab); off in production.
  bool allow_loopback_servers = false;
  // IPv6 transport to authoritative servers.
  bool use_ipv6 = true;
  // How a context runs. false (default): on the executor's thread through libunbound's
  // pluggable event API: no thread, no pipes per context; the io_context must then be run by
  // one thread. true: ub_ctx_async, one libunbound worker thread per context (kept for
  // comparison, docs/BENCHMARKS.md).
  bool worker_thread = false;
};

namespace internal {
class UbEventBase;
}  // namespace internal

class UnboundResolver final : public Resolver {
 public:
  // Checks the configuration by building and finalizing one context (reads the root hints and
  // the trust anchor; no query leaves the machine). A bad file is an error, not a crash.
  [[nodiscard]] static Result<std::unique_ptr<UnboundResolver>> Create(
      asio::any_io_executor executor, UnboundConfig config);

  ~UnboundResolver() override;

  std::unique_ptr<Session> NewSession() override;
  std::string Describe() const override;

 private:
  UnboundResolver(asio::any_io_executor executor, UnboundConfig config);

  asio::any_io_executor executor_;
  UnboundConfig config_;
  // Shared with every session (a context must not outlive the base it was made over).
  std::shared_ptr<internal::UbEventBase> event_base_;
};

}  // namespace mpic::resolver
