// The Open MPIC REST API's backend in va-primary (docs/openmpic.md): each POST /mpic runs up to
// `max_attempts` validations through the same state machine as a gRPC Validate call, each on
// the attempt's own disjoint cohort (quorum::SelectCohort's attempt index), stopping at the
// first corroborated one. Earlier attempts are returned for `previous_attempt_results` and never
// counted (BR §3.2.2.9). Every attempt writes its own audit record, exactly as a gRPC one, plus
// the API, the caller's trace_identifier and client identity, the effective counts and whether
// monitoring mode (quorum_count 0) was in force.
//
//   mpic::va_primary::OpenMpicBackend backend(env);
//   auto server = mpic::openmpic::Server::Start(io, options, backend);
//   ...
//   backend.Close();                         // new requests: 500 "shutting down"
//   backend.WaitIdle(deadline);              // in-flight requests answered
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

#include "openmpic/backend.h"
#include "va-primary/admission.h"
#include "va-primary/internal/validation.h"
#include "va-primary/rate_limit.h"

namespace mpic::va_primary {

class OpenMpicBackend final : public openmpic::Backend {
 public:
  // Every request runs on what `current` returns when it arrives (all its attempts on the same
  // configuration generation, whatever a reload does meanwhile). `rate_limits`: checked on
  // every request before any attempt runs (null: none). `admission`: the same max_in_flight
  // bound gRPC calls take a slot from, held by a request for all its attempts (null: none).
  explicit OpenMpicBackend(std::function<internal::Env()> current,
                           RateLimitGate* rate_limits = nullptr,
                           std::shared_ptr<Admission> admission = nullptr)
      : current_(std::move(current)),
        rate_limits_(rate_limits),
        admission_(std::move(admission)) {}
  // A fixed environment that outlives the backend (tests).
  explicit OpenMpicBackend(internal::Env& env, RateLimitGate* rate_limits = nullptr,
                           std::shared_ptr<Admission> admission = nullptr)
      : current_([&env] { return env; }),
        rate_limits_(rate_limits),
        admission_(std::move(admission)) {}

  void Validate(const openmpic::BackendRequest& request, openmpic::BackendCallback done) override;

  // Refuse new requests (kServerInternal); in-flight ones finish.
  void Close() { closed_ = true; }
  // True when no request is in flight before `deadline`.
  bool WaitIdle(std::chrono::steady_clock::time_point deadline) {
    return in_flight_.WaitZero(deadline);
  }

 private:
  std::function<internal::Env()> current_;
  RateLimitGate* rate_limits_;
  std::shared_ptr<Admission> admission_;
  std::atomic<bool> closed_{false};
  internal::Outstanding in_flight_;
};

}  // namespace mpic::va_primary
