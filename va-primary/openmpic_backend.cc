#include "va-primary/openmpic_backend.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "va-primary/request.h"

namespace mpic::va_primary {
namespace {

int64_t UnixNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One POST /mpic: its attempts, one after the other (each on the previous one's strand).
class Attempts : public std::enable_shared_from_this<Attempts> {
 public:
  Attempts(internal::Env env, CheckedRequest request, openmpic::Orchestration orchestration,
           AuditInfo::Api api, trace::Context trace, openmpic::BackendCallback done,
           internal::Outstanding& in_flight)
      : env_(std::move(env)),
        request_(std::move(request)),
        orchestration_(orchestration),
        api_(std::move(api)),
        trace_(std::move(trace)),
        done_(std::move(done)),
        in_flight_(in_flight) {}

  // Runs the attempts holding `slot` (null: no admission bound) until the answer is given.
  void Start(std::shared_ptr<Admission::Slot> slot) {
    slot_ = std::move(slot);
    Next();
  }

  // Refused before any attempt ran (the primary is busy): no record, nothing asked.
  void Refuse(Error error) { Finish(Fail(std::move(error))); }

  void Next() {
    CheckedRequest attempt = request_;
    // Attempt N asks the N-th disjoint cohort; cohort_for_single_attempt pins the one attempt.
    const int index = orchestration_.cohort ? *orchestration_.cohort - 1 : count_;
    attempt.attempt = request_.attempt + static_cast<uint32_t>(index);
    internal::ValidationOptions options;
    options.cohort_size = orchestration_.perspective_count;
    options.monitoring = orchestration_.monitoring;
    options.min_corroborations = orchestration_.monitoring ? 0 : orchestration_.quorum_count;
    options.api = api_;
    options.trace = trace_;  // every attempt in the caller's trace
    internal::RunValidation(
        env_, std::move(attempt), std::move(options),
        [self = shared_from_this()](grpc::Status status, v1::ValidateResponse response) {
          self->OnAttempt(status, std::move(response));
        });
  }

 private:
  void OnAttempt(const grpc::Status& status, v1::ValidateResponse response) {
    ++count_;
    if (!status.ok()) {
      // No record, no decision (the audit log failed): the whole request fails, closed.
      return Finish(Fail(ProblemType::kServerInternal,
                         "attempt " + std::to_string(count_) + ": " + status.error_message()));
    }
    openmpic::AttemptResult result{std::move(response), UnixNanos()};
    if (result.response.decision() == v1::CORROBORATED || count_ >= orchestration_.max_attempts) {
      openmpic::BackendResult out;
      out.final = std::move(result);
      out.earlier = std::move(earlier_);
      return Finish(std::move(out));
    }
    earlier_.push_back(std::move(result));
    Next();
  }

  void Finish(Result<openmpic::BackendResult> result) {
    // Every record is written (or the request failed): the next validation may start.
    if (slot_) slot_->Release();
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(result));
    in_flight_.Done();
  }

  const internal::Env env_;  // the generation every attempt runs on
  const CheckedRequest request_;
  const openmpic::Orchestration orchestration_;
  const AuditInfo::Api api_;
  const trace::Context trace_;
  openmpic::BackendCallback done_;
  internal::Outstanding& in_flight_;
  std::shared_ptr<Admission::Slot> slot_;
  int count_ = 0;
  std::vector<openmpic::AttemptResult> earlier_;
};

}  // namespace

void OpenMpicBackend::Validate(const openmpic::BackendRequest& request,
                               openmpic::BackendCallback done) {
  if (closed_) {
    return done(Fail(ProblemType::kServerInternal, "va-primary is shutting down"));
  }
  auto checked = CheckValidateRequest(request.validate);
  if (!checked) return done(Fail(checked.error()));
  const openmpic::Orchestration& o = request.orchestration;
  if (o.perspective_count < 1 || o.max_attempts < 1 || (o.quorum_count == 0 && !o.monitoring)) {
    return done(Fail(ProblemType::kServerInternal, "orchestration was not resolved"));
  }
  std::vector<std::string_view> traceparent(request.traceparent.begin(),
                                            request.traceparent.end());
  std::vector<std::string_view> tracestate(request.tracestate.begin(), request.tracestate.end());
  trace::Context trace = trace::Accept(traceparent, tracestate);
  // Rate limits (per account, per identifier) before anything runs: HTTP 429.
  if (rate_limits_ != nullptr) {
    if (Status limited = rate_limits_->Admit(*checked, trace, "openmpic"); !limited) {
      return done(Fail(limited.error()));
    }
  }
  AuditInfo::Api api;
  api.name = "openmpic";
  api.trace_identifier = request.trace_identifier;
  api.client = request.client;
  api.perspective_count = o.perspective_count;
  api.quorum_count = o.monitoring ? 0 : o.quorum_count;
  api.monitoring = o.monitoring;
  in_flight_.Add();
  auto attempts = std::make_shared<Attempts>(current_(), std::move(*checked), o, std::move(api),
                                             std::move(trace), std::move(done), in_flight_);
  if (!admission_) return attempts->Start(nullptr);
  // The same bound as gRPC's Validate: at most max_in_flight run, a few wait up to 1 s; a
  // refusal is HTTP 503 with the reason ("va-primary busy: ...") and Retry-After.
  admission_->Acquire(Admission::Clock::time_point::max(),
                      [attempts](Admission::Ticket ticket) {
                        if (!ticket) {
                          return attempts->Refuse(
                              Error{ProblemType::kUnavailable, ticket.error().detail});
                        }
                        attempts->Start(std::move(*ticket));
                      });
}

}  // namespace mpic::va_primary
