// Prometheus metrics of a perspective (Prometheus naming conventions: mpic_ prefix, base
// units, _total counters — prometheus-cpp appends nothing, LAB-NOTES #13). Labels are closed
// sets (method, outcome, gRPC code): never a domain, an address or a token.
//
//   RemoteMetrics metrics;                       // its own registry
//   exposer.RegisterCollectable(metrics.registry());
//   checks::CheckDeps deps{resolver, dialer, clock, metrics};  // checks report into it
//   metrics.CountRequest(grpc::StatusCode::OK);
//   std::string text = metrics.Serialize();      // the exposition text, e.g. for tests
#pragma once

#include <grpcpp/support/status.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "checks/check.h"
#include "proto/convert.h"

namespace mpic::va_remote {

using proto::GrpcCodeName;  // "DEADLINE_EXCEEDED", ... (proto/convert.h)

class RemoteMetrics final : public checks::CheckMetrics {
 public:
  RemoteMetrics();

  // mpic_remote_checks_total{method,outcome="valid"|"invalid"} and
  // mpic_remote_check_duration_seconds{method}. Thread-safe.
  void ObserveCheck(checks::Method method, bool valid, double seconds) override;
  // mpic_remote_refused_addresses_total.
  void ObserveRefusedAddress() override;

  // mpic_remote_requests_total{code}: one per Check RPC the service answered.
  void CountRequest(grpc::StatusCode code);
  // mpic_remote_inflight: Check RPCs whose checks are still running.
  void AddInflight(double delta) { inflight_->Increment(delta); }

  [[nodiscard]] std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  // The text exposition format of everything registered.
  [[nodiscard]] std::string Serialize() const;

 private:
  static constexpr size_t kMethods = 4;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  std::array<std::array<prometheus::Counter*, 2>, kMethods> checks_{};  // [method][valid]
  std::array<prometheus::Histogram*, kMethods> durations_{};
  prometheus::Counter* refused_addresses_ = nullptr;
  prometheus::Gauge* inflight_ = nullptr;
};

}  // namespace mpic::va_remote
