// One validation's life (see primary_server.h, DESIGN): cohort, own checks and remote RPCs,
// tally, grace, cancellation, audit record, answer. Every member is touched only on the
// validation's strand; gRPC and audit callbacks post to it.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "checks/check.h"
#include "common/asio.h"
#include "mpic/v1/perspective.grpc.pb.h"
#include "mpic/v1/primary.pb.h"
#include "quorum/quorum.h"
#include "va-primary/audit.h"
#include "va-primary/config.h"
#include "va-primary/internal/metrics.h"
#include "va-primary/request.h"

namespace mpic::va_primary::internal {

// A long-lived mTLS channel to one remote (the first handshake costs ~47 ms; LAB-NOTES).
struct RemoteClient {
  v1::RemoteEndpoint endpoint;
  quorum::Perspective perspective;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Perspective::Stub> stub;
};

// Counts asynchronous operations still owed a callback (checks, RPCs, audit writes), so that
// shutdown stops the io_context only once nothing can post into it any more.
class Outstanding {
 public:
  void Add() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++count_;
  }
  void Done() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--count_ == 0) zero_.notify_all();
  }
  // True when the count reached zero before `deadline`.
  bool WaitZero(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    return zero_.wait_until(lock, deadline, [this] { return count_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable zero_;
  long count_ = 0;
};

// Shared by every validation; outlives them all (owned by the server).
struct Shared {
  const PrimarySettings& settings;
  asio::io_context& io;
  resolver::Resolver& resolver;
  checks::Dialer& dialer;
  const checks::TimeSource& clock;
  checks::CheckMetrics& check_metrics;
  PrimaryMetrics& metrics;
  AuditLog& audit;
  const std::vector<RemoteClient>& remotes;  // parallel to settings.remotes
  Outstanding& outstanding;
};

// 32 lower-case hex digits from a CSPRNG.
[[nodiscard]] std::string RandomRequestId();
// Metric / log label of a perspective's final state.
[[nodiscard]] std::string_view ResultLabel(const v1::PerspectiveResult& result);

// Runs one validation and calls reactor->Finish exactly once.
void RunValidation(Shared& shared, grpc::ServerUnaryReactor* reactor, CheckedRequest request,
                   v1::ValidateResponse* response);

}  // namespace mpic::va_primary::internal
