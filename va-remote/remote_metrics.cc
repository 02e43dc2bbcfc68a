#include "va-remote/remote_metrics.h"

#include <prometheus/text_serializer.h>

namespace mpic::va_remote {
namespace {

using checks::Method;

constexpr std::array<Method, 4> kAllMethods{Method::kHttp01, Method::kDns01, Method::kTlsAlpn01,
                                            Method::kCaa};

size_t Index(Method method) {
  for (size_t i = 0; i < kAllMethods.size(); ++i) {
    if (kAllMethods[i] == method) return i;
  }
  return 0;
}

}  // namespace

RemoteMetrics::RemoteMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  auto& checks = prometheus::BuildCounter()
                     .Name("mpic_remote_checks_total")
                     .Help("Checks this perspective completed, by method and outcome")
                     .Register(*registry_);
  auto& durations = prometheus::BuildHistogram()
                        .Name("mpic_remote_check_duration_seconds")
                        .Help("Time from the start of a check to its verdict")
                        .Register(*registry_);
  requests_ = &prometheus::BuildCounter()
                   .Name("mpic_remote_requests_total")
                   .Help("Check RPCs answered, by gRPC status code")
                   .Register(*registry_);
  refused_addresses_ = &prometheus::BuildCounter()
                            .Name("mpic_remote_refused_addresses_total")
                            .Help("Connections the address policy refused")
                            .Register(*registry_)
                            .Add({});
  inflight_ = &prometheus::BuildGauge()
                   .Name("mpic_remote_inflight")
                   .Help("Check RPCs whose checks are running")
                   .Register(*registry_)
                   .Add({});
  const prometheus::Histogram::BucketBoundaries buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                        0.5,   1,    2.5,   5,    10,  30};
  for (Method m : kAllMethods) {
    std::string name(checks::MethodName(m));
    size_t i = Index(m);
    checks_[i][0] = &checks.Add({{"method", name}, {"outcome", "invalid"}});
    checks_[i][1] = &checks.Add({{"method", name}, {"outcome", "valid"}});
    durations_[i] = &durations.Add({{"method", name}}, buckets);
  }
  // The common codes exist from the start, so rates work before the first error.
  for (auto code : {grpc::StatusCode::OK, grpc::StatusCode::INVALID_ARGUMENT,
                    grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::CANCELLED}) {
    requests_->Add({{"code", std::string(GrpcCodeName(code))}});
  }
}

void RemoteMetrics::ObserveCheck(Method method, bool valid, double seconds) {
  size_t i = Index(method);
  checks_[i][valid ? 1 : 0]->Increment();
  durations_[i]->Observe(seconds);
}

void RemoteMetrics::ObserveRefusedAddress() { refused_addresses_->Increment(); }

void RemoteMetrics::CountRequest(grpc::StatusCode code) {
  // Family::Add is thread-safe and returns the existing child for known labels.
  requests_->Add({{"code", std::string(GrpcCodeName(code))}}).Increment();
}

std::string RemoteMetrics::Serialize() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace mpic::va_remote
