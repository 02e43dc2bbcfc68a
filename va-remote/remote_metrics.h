// Prometheus metrics of va-remote: the checks it runs (perspective::CheckMetrics, role "remote")
// plus its RPCs. Labels are closed sets (method, outcome, gRPC code): never a domain, an address
// or a token.
//
//   RemoteMetrics metrics;
//   exposer.RegisterCollectable(metrics.registry());
//   checks::CheckDeps deps{resolver, dialer, clock, metrics.checks()};
//   metrics.CountRequest(grpc::StatusCode::OK);
#pragma once

#include <grpcpp/support/status.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "perspective/metrics.h"

namespace mpic::va_remote {

class RemoteMetrics {
 public:
  RemoteMetrics();

  [[nodiscard]] perspective::CheckMetrics& checks() { return checks_; }
  // mpic_remote_requests_total{code}: one per Check RPC the service answered.
  void CountRequest(grpc::StatusCode code);
  // mpic_remote_inflight: Check RPCs whose checks are still running.
  void AddInflight(double delta) { inflight_->Increment(delta); }

  [[nodiscard]] std::shared_ptr<prometheus::Registry> registry() const { return registry_; }
  [[nodiscard]] std::string Serialize() const { return perspective::Serialize(*registry_); }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  perspective::CheckMetrics checks_;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
  prometheus::Gauge* inflight_ = nullptr;
};

}  // namespace mpic::va_remote
