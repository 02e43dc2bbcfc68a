#include "va-primary/internal/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>

namespace mpic::va_primary::internal {
namespace {

// 1 ms .. 30 s: a cached lookup is sub-millisecond, a cold recursion tens of ms, a deadline s.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
  return buckets;
}

}  // namespace

PrimaryMetrics::PrimaryMetrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      decisions_(prometheus::BuildCounter()
                     .Name("mpic_primary_decisions_total")
                     .Help("Validation decisions answered to the CA, by decision")
                     .Register(*registry_)),
      latency_(prometheus::BuildHistogram()
                   .Name("mpic_primary_perspective_latency_seconds")
                   .Help("Time from start until a perspective's result arrived")
                   .Register(*registry_)),
      results_(prometheus::BuildCounter()
                   .Name("mpic_primary_perspective_results_total")
                   .Help("Final state of each perspective in each validation")
                   .Register(*registry_)),
      rpc_errors_(prometheus::BuildCounter()
                      .Name("mpic_primary_remote_rpc_errors_total")
                      .Help("Remote Check RPCs that ended with a gRPC error, by code")
                      .Register(*registry_)),
      stragglers_cancelled_(prometheus::BuildCounter()
                                .Name("mpic_primary_stragglers_cancelled_total")
                                .Help("Perspectives still running after the grace period")
                                .Register(*registry_)
                                .Add({})),
      audit_failures_(prometheus::BuildCounter()
                          .Name("mpic_primary_audit_write_failures_total")
                          .Help("Audit records that could not be written (no answer was sent)")
                          .Register(*registry_)
                          .Add({})) {}

void PrimaryMetrics::Decision(std::string_view decision) {
  decisions_.Add({{"decision", std::string(decision)}}).Increment();
}

void PrimaryMetrics::PerspectiveLatency(const std::string& perspective, double seconds) {
  latency_.Add({{"perspective", perspective}}, LatencyBuckets()).Observe(seconds);
}

void PrimaryMetrics::PerspectiveResult(const std::string& perspective, std::string_view status) {
  results_.Add({{"perspective", perspective}, {"status", std::string(status)}}).Increment();
}

void PrimaryMetrics::RemoteRpcError(std::string_view code) {
  rpc_errors_.Add({{"code", std::string(code)}}).Increment();
}

void PrimaryMetrics::StragglerCancelled() { stragglers_cancelled_.Increment(); }

void PrimaryMetrics::AuditWriteFailure() { audit_failures_.Increment(); }

}  // namespace mpic::va_primary::internal
