// One validation's life, as a state machine on its own strand: cohort, the primary's own check
// (through the perspective engine) and the remote calls, the tally, the straggler grace period,
// cancellation, the audit record, the answer. Everything it touches comes in through `Env`
// (remotes, the own-check runner, timers, audit sink), so the orchestration is table-tested
// with in-memory doubles on a fake clock (va-primary/validation_test.cc).
#pragma once

#include <grpcpp/support/status.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/asio.h"
#include "common/error.h"
#include "common/trace_context.h"
#include "mpic/v1/primary.pb.h"
#include "perspective/engine.h"
#include "perspective/primary_config.h"
#include "va-primary/audit.h"
#include "va-primary/internal/metrics.h"
#include "va-primary/internal/timers.h"
#include "va-primary/remote_client.h"
#include "va-primary/request.h"

namespace mpic::va_primary::internal {

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

// Writes one audit line durably; `done` runs exactly once (any thread) with the outcome.
using AuditSink = std::function<void(std::string line, std::function<void(Status)> done)>;

// What a validation runs with. Each validation keeps its own copy from start to record, so a
// configuration reloaded meanwhile (SIGHUP, docs/operations.md) never changes one in flight:
// `settings` and `remotes` belong to the configuration generation `keep_alive` holds (null when
// the owner outlives every validation anyway, as in tests); the references below are shared by
// every generation and outlive them all (owned by the server or the test).
struct Env {
  const perspective::PrimarySettings& settings;
  asio::any_io_executor executor;      // each validation runs on a strand of it
  perspective::Runner& own;            // the primary's own checks
  std::vector<RemoteClient*> remotes;  // parallel to settings.remotes
  Timers& timers;
  PrimaryMetrics& metrics;
  AuditSink audit;
  Outstanding& outstanding;
  std::shared_ptr<const void> keep_alive;  // the generation owning settings and remotes
};

// The answer: OK with the decision, or an error status (INTERNAL: no record could be written,
// so no decision was made).
using ValidationDone = std::function<void(grpc::Status, v1::ValidateResponse)>;

// 32 lower-case hex digits from a CSPRNG.
[[nodiscard]] std::string RandomRequestId();
// Metric / log label of a perspective's final state: "corroborated", "invalid", "error",
// "rpc_error", "timed_out", "identity_mismatch", "cancelled", "not_started".
[[nodiscard]] std::string_view ResultLabel(const v1::PerspectiveResult& result);

// Per-request orchestration beyond the configuration (the Open MPIC API, docs/openmpic.md):
// only ever stricter than the configured floor (openmpic::ResolveOrchestration checks that).
struct ValidationOptions {
  int cohort_size = 0;         // remotes asked; 0: settings.remotes_per_validation
  int min_corroborations = 0;  // corroborating remotes required on top of the policy's rule
  // Open MPIC monitoring mode (quorum_count 0): the quorum is computed and logged, the decision
  // follows the primary's own check (never CORROBORATED without it).
  bool monitoring = false;
  // Recorded in the audit record ("api"); absent for gRPC requests.
  std::optional<AuditInfo::Api> api;
  // The W3C trace this validation belongs to (the caller's, or a new one): its trace id is
  // logged and audited, and every remote call carries it with a new parent-id. An empty
  // trace_id: a new trace is started.
  trace::Context trace;
};

// Runs one validation (on a copy of `env`); `done` is called exactly once, on the validation's
// strand.
void RunValidation(const Env& env, CheckedRequest request, ValidationDone done);
void RunValidation(const Env& env, CheckedRequest request, ValidationOptions options,
                   ValidationDone done);

}  // namespace mpic::va_primary::internal
