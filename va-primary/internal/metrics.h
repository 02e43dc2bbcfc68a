// The primary's Prometheus metrics (Prometheus naming: counters carry `_total`, which
// prometheus-cpp does not append; docs/architecture.md, Pitfalls). The
// perspective label is the configured perspective NAME (config, never request data).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <string_view>

namespace mpic::va_primary::internal {

class PrimaryMetrics {
 public:
  PrimaryMetrics();

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

  // decision: "corroborated" | "not_corroborated".
  void Decision(std::string_view decision);
  void PerspectiveLatency(const std::string& perspective, double seconds);
  // status: "corroborated", "invalid", "rpc_error", "timed_out", "identity_mismatch",
  // "cancelled", "not_started".
  void PerspectiveResult(const std::string& perspective, std::string_view status);
  // code: the gRPC status code name, e.g. "UNAVAILABLE".
  void RemoteRpcError(std::string_view code);
  void StragglerCancelled();
  void AuditWriteFailure();

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& decisions_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Counter>& results_;
  prometheus::Family<prometheus::Counter>& rpc_errors_;
  prometheus::Counter& stragglers_cancelled_;
  prometheus::Counter& audit_failures_;
};

}  // namespace mpic::va_primary::internal
