#include "va-remote/remote_metrics.h"

#include "perspective/wire.h"

namespace mpic::va_remote {

RemoteMetrics::RemoteMetrics()
    : registry_(std::make_shared<prometheus::Registry>()), checks_(*registry_, "remote") {
  requests_ = &prometheus::BuildCounter()
                   .Name("mpic_remote_requests_total")
                   .Help("Check RPCs answered, by gRPC status code")
                   .Register(*registry_);
  inflight_ = &prometheus::BuildGauge()
                   .Name("mpic_remote_inflight")
                   .Help("Check RPCs whose checks are running")
                   .Register(*registry_)
                   .Add({});
  // The common codes exist from the start, so rates work before the first error.
  for (auto code : {grpc::StatusCode::OK, grpc::StatusCode::INVALID_ARGUMENT,
                    grpc::StatusCode::RESOURCE_EXHAUSTED, grpc::StatusCode::CANCELLED}) {
    requests_->Add({{"code", std::string(perspective::GrpcCodeName(code))}});
  }
}

void RemoteMetrics::CountRequest(grpc::StatusCode code) {
  // Family::Add is thread-safe and returns the existing child for known labels.
  requests_->Add({{"code", std::string(perspective::GrpcCodeName(code))}}).Increment();
}

}  // namespace mpic::va_remote
