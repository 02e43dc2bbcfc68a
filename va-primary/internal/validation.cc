#include "va-primary/internal/validation.h"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <exception>
#include <optional>

#include "common/log.h"
#include "perspective/wire.h"
#include "quorum/selection.h"
#include "va-primary/audit.h"
#include "va-primary/internal/reply.h"
#include "va-primary/internal/response.h"

namespace mpic::va_primary::internal {
namespace {

using SteadyClock = std::chrono::steady_clock;
using perspective::PrimarySettings;

class Validation : public std::enable_shared_from_this<Validation> {
 public:
  Validation(const Env& env, CheckedRequest request, ValidationOptions options,
             ValidationDone done)
      : env_(env),
        settings_(env_.settings),
        strand_(asio::make_strand(env.executor)),
        request_(std::move(request)),
        options_(std::move(options)),
        done_(std::move(done)) {}

  void Start() {
    asio::post(strand_, [self = shared_from_this()] { self->Guard([&] { self->Begin(); }); });
  }

 private:
  enum class Phase { kNotStarted, kRunning, kFinal };
  struct Slot {
    RemoteClient* client = nullptr;  // null for the primary
    std::string name;                // the configured perspective name
    v1::PerspectiveResult result;
    Phase phase = Phase::kNotStarted;
    Timers::Clock::time_point started;
    std::chrono::milliseconds timeout{0};  // the RPC deadline (remote, method)
    std::shared_ptr<RemoteCall> call;
  };

  double MillisSince(Timers::Clock::time_point start) const {
    return std::chrono::duration<double, std::milli>(env_.timers.Now() - start).count();
  }

  // Runs `step`; an exception anywhere becomes a fail-closed decision (or, once the record is
  // being produced, an INTERNAL error without a decision).
  template <typename F>
  void Guard(F&& step) {
    try {
      step();
    } catch (const std::exception& e) {
      Abort(std::string("internal error: ") + e.what());
    } catch (...) {
      Abort("internal error: unknown exception");
    }
  }

  void Abort(const std::string& detail) {
    try {
      if (!finalizing_) return ForceDecision(Error{ProblemType::kServerInternal, detail});
    } catch (...) {
    }
    FinishRpc(grpc::Status(grpc::StatusCode::INTERNAL, detail));
  }

  void Begin() {
    request_id_ = RandomRequestId();
    if (options_.trace.trace_id.empty()) options_.trace = trace::NewTrace();
    primary_.result.mutable_perspective()->CopyFrom(settings_.config.identity());

    // BR §3.2.2.9: the cohort for this attempt, disjoint from earlier attempts' cohorts.
    std::vector<quorum::Perspective> cohort;
    const int cohort_size =
        options_.cohort_size > 0 ? options_.cohort_size : settings_.remotes_per_validation;
    if (cohort_size > 0) {
      const int attempt =
          static_cast<int>(std::min<uint32_t>(request_.attempt, static_cast<uint32_t>(INT_MAX)));
      auto selected = quorum::SelectCohort(settings_.selection_secret, request_.identifier, attempt,
                                           settings_.remotes, cohort_size);
      if (!selected) return ForceDecision(selected.error());
      cohort = std::move(*selected);
    }
    auto tally = quorum::Tally::Create(settings_.policy, cohort);
    if (!tally) return ForceDecision(tally.error());
    tally_.emplace(std::move(*tally));
    for (const quorum::Perspective& p : cohort) {
      Slot slot;
      slot.name = p.name;
      for (RemoteClient* client : env_.remotes) {
        if (client->endpoint().identity().name() == p.name) slot.client = client;
      }
      if (slot.client == nullptr) {
        return ForceDecision(Error{ProblemType::kServerInternal,
                                   "selected remote \"" + p.name + "\" has no client"});
      }
      slot.result.mutable_perspective()->CopyFrom(slot.client->endpoint().identity());
      slot.timeout = settings_.RemoteTimeoutFor(slot.client->endpoint(), request_.method);
      remotes_.push_back(std::move(slot));
    }

    // Every wait is bounded: if nothing decides by then, whatever is running timed out. The
    // deadlines are the method's (method_timeouts) where it has its own.
    max_check_ = settings_.DeadlinesFor(request_.method).max_check;
    std::chrono::milliseconds longest_remote{0};
    for (const Slot& slot : remotes_) longest_remote = std::max(longest_remote, slot.timeout);
    const auto limit = (settings_.config.remotes_after_primary()
                            ? max_check_ + longest_remote
                            : std::max(max_check_, longest_remote)) +
                       std::chrono::seconds(1);
    watchdog_ = env_.timers.After(strand_, std::chrono::duration_cast<std::chrono::milliseconds>(limit),
                                  [self = shared_from_this()] {
                                    self->Guard([&] { self->OnWatchdog(); });
                                  });

    StartPrimary();
    if (!settings_.config.remotes_after_primary()) StartRemotes();
    MaybeDecide();
  }

  // The primary's own checks: the perspective engine, exactly as a remote runs them.
  void StartPrimary() {
    const auto deadline = checks::Clock::now() + max_check_;
    primary_.phase = Phase::kRunning;
    primary_.started = env_.timers.Now();
    env_.outstanding.Add();
    own_run_ = env_.own.Start(strand_, OwnCheckPlan(request_, request_id_, deadline),
                              [self = shared_from_this()](perspective::PlanResult result) {
                                self->Guard([&] { self->OnPrimaryChecks(std::move(result)); });
                                self->env_.outstanding.Done();
                              });
  }

  void OnPrimaryChecks(perspective::PlanResult plan) {
    // Let go of the run on the strand (this validation may be released last on a gRPC thread;
    // the run's resolver state belongs to the strand). Its caller still holds it.
    own_run_.reset();
    if (primary_.phase == Phase::kFinal) return;  // timed out or cancelled meanwhile
    primary_.phase = Phase::kFinal;
    v1::PerspectiveResult& r = primary_.result;
    r.set_latency_ms(MillisSince(primary_.started));
    quorum::Outcome tallied = quorum::Outcome::kError;
    if (plan.end == perspective::PlanResult::End::kOverran) {
      r.set_status(v1::TIMED_OUT);
      r.set_error("the primary's own check overran its deadline");
      tallied = quorum::Outcome::kTimeout;
    } else if (plan.end == perspective::PlanResult::End::kCancelled) {
      r.set_status(v1::CANCELLED);
      r.set_error("the primary's own check was cancelled");
    } else {
      if (plan.dcv) *r.mutable_dcv() = perspective::OutcomeToProto(*plan.dcv);
      if (plan.caa) *r.mutable_caa() = perspective::OutcomeToProto(*plan.caa);
      r.set_status(v1::ANSWERED);
      std::vector<const v1::CheckOutcome*> requested;
      if (request_.dcv) requested.push_back(r.has_dcv() ? &r.dcv() : nullptr);
      if (request_.caa) requested.push_back(r.has_caa() ? &r.caa() : nullptr);
      tallied = perspective::ClassifyOutcomes(requested);
    }
    r.set_corroborates(tallied == quorum::Outcome::kCorroborated);
    if (Status ok = tally_->SetPrimary(tallied); !ok) return ForceDecision(ok.error());

    if (settings_.config.remotes_after_primary() && !finalizing_) {
      if (r.corroborates()) {
        StartRemotes();
      } else {
        AbandonRemotes();
      }
    }
    MaybeDecide();
  }

  void StartRemotes() {
    for (std::size_t i = 0; i < remotes_.size(); ++i) {
      Slot& slot = remotes_[i];
      if (slot.phase != Phase::kNotStarted) continue;
      slot.phase = Phase::kRunning;
      slot.started = env_.timers.Now();
      env_.outstanding.Add();
      // Callbacks only post into Asio: all state lives on the strand.
      // The trace goes on with a new parent-id (span) per remote call.
      slot.call = slot.client->Check(
          RemoteCheckRequest(request_, request_id_),
          std::chrono::system_clock::now() + slot.timeout,
          CallTrace{options_.trace.Child(), options_.trace.tracestate},
          [self = shared_from_this(), i](grpc::Status status, v1::CheckResponse reply) {
            asio::post(self->strand_, [self, i, status = std::move(status),
                                       reply = std::move(reply)]() mutable {
              self->Guard([&] { self->OnRemoteDone(i, status, std::move(reply)); });
              self->env_.outstanding.Done();
            });
          });
    }
  }

  // remotes_after_primary and the primary failed: the remotes are never asked. They count as
  // non-corroborating only if the tally still needs them to decide (primary optional).
  void AbandonRemotes() {
    for (Slot& slot : remotes_) {
      if (slot.phase != Phase::kNotStarted) continue;
      slot.phase = Phase::kFinal;
      slot.result.set_status(v1::NOT_STARTED);
      slot.result.set_error("not asked: the primary's own check failed (remotes_after_primary)");
      if (tally_->decision() == quorum::Decision::kPending) {
        if (Status ok = tally_->Add(slot.name, quorum::Outcome::kError); !ok) {
          return ForceDecision(ok.error());
        }
      }
    }
  }

  void OnRemoteDone(std::size_t index, const grpc::Status& status, v1::CheckResponse reply) {
    Slot& slot = remotes_[index];
    if (slot.phase == Phase::kFinal) return;  // cancelled or timed out by us: already recorded
    slot.phase = Phase::kFinal;
    slot.result.set_latency_ms(MillisSince(slot.started));
    const ReplyVerdict verdict = ClassifyReply(request_, slot.client->endpoint().identity(),
                                               status, std::move(reply), &slot.result);
    if (!verdict.rpc_error.empty()) env_.metrics.RemoteRpcError(verdict.rpc_error);
    if (Status ok = tally_->Add(slot.name, verdict.outcome); !ok) {
      return ForceDecision(ok.error());
    }
    MaybeDecide();
  }

  void OnWatchdog() {
    if (finalizing_ || decided_) return;
    const std::string why = "no result within the validation's bound";
    if (primary_.phase == Phase::kRunning) {
      primary_.phase = Phase::kFinal;  // before Cancel: its callback then finds it final
      if (auto run = std::move(own_run_)) run->Cancel();
      primary_.result.set_status(v1::TIMED_OUT);
      primary_.result.set_error(why);
      primary_.result.set_latency_ms(MillisSince(primary_.started));
      if (Status ok = tally_->SetPrimary(quorum::Outcome::kTimeout); !ok) {
        return ForceDecision(ok.error());
      }
      if (settings_.config.remotes_after_primary()) AbandonRemotes();
    }
    for (Slot& slot : remotes_) {
      if (slot.phase != Phase::kRunning) continue;
      slot.phase = Phase::kFinal;
      slot.call->Cancel();
      slot.result.set_status(v1::TIMED_OUT);
      slot.result.set_error(why);
      slot.result.set_latency_ms(MillisSince(slot.started));
      if (Status ok = tally_->Add(slot.name, quorum::Outcome::kTimeout); !ok) {
        return ForceDecision(ok.error());
      }
    }
    MaybeDecide();
    if (!decided_) {
      ForceDecision(Error{ProblemType::kServerInternal,
                          "validation reached no decision within its bound: " + tally_->reason()});
    }
  }

  bool RemotesRunning() const {
    return std::any_of(remotes_.begin(), remotes_.end(),
                       [](const Slot& s) { return s.phase == Phase::kRunning; });
  }

  bool AllSettled() const { return primary_.phase == Phase::kFinal && !RemotesRunning(); }

  // Fix the decision as soon as the tally has one; then grace, then record and answer.
  void MaybeDecide() {
    if (finalizing_) return;
    if (!decided_) {
      if (options_.monitoring) {
        // Monitoring mode: the primary decides; the quorum is still computed and logged.
        if (primary_.phase != Phase::kFinal) return;
        if (tally_->quorum() == quorum::Decision::kPending && RemotesRunning()) return;
      } else if (options_.min_corroborations > 0 &&
                 tally_->decision() == quorum::Decision::kCorroborated &&
                 tally_->corroborating() < options_.min_corroborations) {
        // A stricter quorum than the policy's: wait for more remotes while any may still
        // corroborate (the response then says NOT_CORROBORATED if too few did).
        if (RemotesRunning() &&
            tally_->attempted() - tally_->non_corroborating() >= options_.min_corroborations) {
          return;
        }
      } else if (tally_->decision() == quorum::Decision::kPending) {
        return;
      }
      // Not-enforced phase: the primary decides, but the quorum must still be computed and
      // logged (BR: "must run and log"), so wait for it while remotes are still running.
      if (!options_.monitoring && !tally_->enforced() &&
          tally_->quorum() == quorum::Decision::kPending && RemotesRunning()) {
        return;
      }
      decided_ = true;
      decided_at_ = std::chrono::system_clock::now();
      decided_steady_ = env_.timers.Now();
      decided_quorum_ = tally_->QuorumString();
      if (AllSettled() || settings_.straggler_grace.count() == 0) return Finalize();
      grace_timer_ = env_.timers.After(strand_, settings_.straggler_grace,
                                       [self = shared_from_this()] {
                                         self->Guard([&] { self->Finalize(); });
                                       });
      return;
    }
    if (AllSettled()) Finalize();  // every straggler made it within the grace period
  }

  void ForceDecision(Error error) {
    if (finalizing_) return;
    log::Error("validation failed closed", {{"request_id", request_id_},
                                            {"trace_id", options_.trace.trace_id},
                                            {"detail", error.detail}});
    forced_ = std::move(error);
    if (!decided_) {
      decided_ = true;
      decided_at_ = std::chrono::system_clock::now();
      decided_steady_ = env_.timers.Now();
      decided_quorum_ = tally_ ? tally_->QuorumString() : "";
    }
    Finalize();
  }

  // Cancel stragglers, build the response, write the record, then answer.
  void Finalize() {
    if (finalizing_) return;
    finalizing_ = true;
    if (grace_timer_) grace_timer_->Cancel();
    if (watchdog_) watchdog_->Cancel();

    const std::string late = "still running " +
                             std::to_string(static_cast<long>(MillisSince(decided_steady_))) +
                             " ms after the decision (grace " +
                             std::to_string(settings_.straggler_grace.count()) + " ms): cancelled";
    if (primary_.phase == Phase::kRunning) {
      // The own check's lookups are cancelled too, not left to run to their deadline.
      primary_.phase = Phase::kFinal;  // before Cancel: its callback then finds it final
      if (auto run = std::move(own_run_)) run->Cancel();
      primary_.result.set_status(v1::CANCELLED);
      primary_.result.set_error(late);
      primary_.result.set_latency_ms(MillisSince(primary_.started));
      env_.metrics.StragglerCancelled();
    } else if (primary_.phase == Phase::kNotStarted) {
      primary_.phase = Phase::kFinal;
      primary_.result.set_status(v1::NOT_STARTED);
    }
    for (Slot& slot : remotes_) {
      if (slot.phase == Phase::kRunning) {
        slot.phase = Phase::kFinal;
        slot.call->Cancel();
        slot.result.set_status(v1::CANCELLED);
        slot.result.set_error(late);
        slot.result.set_latency_ms(MillisSince(slot.started));
        env_.metrics.StragglerCancelled();
      } else if (slot.phase == Phase::kNotStarted) {
        slot.phase = Phase::kFinal;
        slot.result.set_status(v1::NOT_STARTED);
      }
    }

    BuildResponse();
    RecordMetrics();

    AuditInfo info;
    info.time = decided_at_;
    info.identifier = request_.identifier;
    info.method = MethodLabel(request_.method);
    if (request_.dcv) info.checks.push_back("dcv");
    if (request_.caa) info.checks.push_back("caa");
    info.attempt = request_.attempt;
    info.wildcard = request_.wildcard;
    if (request_.caa && request_.caa_smime) info.certificate_type = "s-mime";
    info.reason = forced_ ? forced_->detail : (tally_ ? tally_->reason() : "");
    info.api = options_.api;
    info.trace_id = options_.trace.trace_id;
    auto line = FormatAuditRecord(info, response_);
    if (!line) return OnAudited(Fail(line.error()));
    env_.outstanding.Add();
    env_.audit(std::move(*line), [self = shared_from_this()](Status written) {
      asio::post(self->strand_, [self, written = std::move(written)] {
        self->OnAudited(written);
        self->env_.outstanding.Done();
      });
    });
  }

  void BuildResponse() {
    FinalState state;
    state.settings = &settings_;
    state.request = &request_;
    state.request_id = request_id_;
    state.tally = tally_ ? &*tally_ : nullptr;
    state.forced = forced_ ? &*forced_ : nullptr;
    state.decided_quorum = decided_quorum_;
    state.min_corroborations = options_.min_corroborations;
    state.monitoring = options_.monitoring;
    // Finalize runs once and nothing reads the results after it: they move into the response.
    state.primary = std::move(primary_.result);
    for (Slot& slot : remotes_) state.remotes.push_back(std::move(slot.result));
    response_ = internal::BuildResponse(std::move(state));
  }

  void RecordMetrics() {
    auto record = [&](const v1::PerspectiveResult& r) {
      const std::string& name = r.perspective().name();
      env_.metrics.PerspectiveResult(name, ResultLabel(r));
      switch (r.status()) {
        case v1::ANSWERED:
        case v1::RPC_ERROR:
        case v1::TIMED_OUT:
        case v1::IDENTITY_MISMATCH:
          env_.metrics.PerspectiveLatency(name, r.latency_ms() / 1000.0);
          break;
        default:
          break;
      }
    };
    record(response_.primary());
    for (const v1::PerspectiveResult& r : response_.remotes()) record(r);
  }

  void OnAudited(const Status& written) {
    if (!written) {
      env_.metrics.AuditWriteFailure();
      log::Error("audit record not written: no answer sent",
                 {{"request_id", request_id_},
                  {"trace_id", options_.trace.trace_id},
                  {"detail", written.error().detail}});
      return FinishRpc(grpc::Status(grpc::StatusCode::INTERNAL,
                                    "audit record could not be written; no decision was made (" +
                                        written.error().detail + ")"));
    }
    env_.metrics.Decision(response_.decision() == v1::CORROBORATED ? "corroborated"
                                                                   : "not_corroborated");
    log::Info("validation", {{"request_id", request_id_},
                             {"trace_id", options_.trace.trace_id},
                             {"identifier", request_.identifier},
                             {"method", MethodLabel(request_.method)},
                             {"attempt", request_.attempt},
                             {"decision", response_.decision() == v1::CORROBORATED
                                              ? "CORROBORATED"
                                              : "NOT_CORROBORATED"},
                             {"quorum", response_.quorum()},
                             {"decided_quorum", response_.decided_quorum()}});
    FinishRpc(grpc::Status::OK);
  }

  void FinishRpc(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(status, status.ok() ? std::move(response_) : v1::ValidateResponse());
  }

  const Env env_;  // a copy: holds this validation's configuration generation alive
  const PrimarySettings& settings_;
  std::chrono::milliseconds max_check_{0};  // the own check's deadline (method's)
  asio::strand<asio::any_io_executor> strand_;
  std::unique_ptr<Timer> grace_timer_;
  std::unique_ptr<Timer> watchdog_;
  CheckedRequest request_;
  ValidationOptions options_;
  ValidationDone done_;
  v1::ValidateResponse response_;

  std::string request_id_;
  std::optional<quorum::Tally> tally_;
  Slot primary_;
  std::shared_ptr<perspective::PlanRun> own_run_;
  std::vector<Slot> remotes_;
  bool decided_ = false;
  std::chrono::system_clock::time_point decided_at_;
  Timers::Clock::time_point decided_steady_;
  std::string decided_quorum_;
  std::optional<Error> forced_;
  bool finalizing_ = false;
  bool finished_ = false;
};

}  // namespace

std::string RandomRequestId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
    // Never reached in practice; fall back to a clock-derived value rather than fail.
    const auto now = SteadyClock::now().time_since_epoch().count();
    for (std::size_t i = 0; i < sizeof(bytes); ++i) {
      bytes[i] = static_cast<unsigned char>((now >> ((i % 8) * 8)) & 0xff);
    }
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0x0f]);
  }
  return out;
}

std::string_view ResultLabel(const v1::PerspectiveResult& result) {
  switch (result.status()) {
    case v1::ANSWERED: {
      if (result.corroborates()) return "corroborated";
      // Labelled exactly as the tally counted it (perspective::ClassifyOutcomes).
      const std::string internal = ProblemTypeUrn(ProblemType::kServerInternal);
      const bool failed_internally =
          (result.has_dcv() && result.dcv().problem().type() == internal) ||
          (result.has_caa() && result.caa().problem().type() == internal);
      return failed_internally ? "error" : "invalid";
    }
    case v1::RPC_ERROR:
      return "rpc_error";
    case v1::TIMED_OUT:
      return "timed_out";
    case v1::IDENTITY_MISMATCH:
      return "identity_mismatch";
    case v1::CANCELLED:
      return "cancelled";
    case v1::NOT_STARTED:
      return "not_started";
    default:
      break;
  }
  return "unknown";
}

void RunValidation(const Env& env, CheckedRequest request, ValidationDone done) {
  RunValidation(env, std::move(request), ValidationOptions{}, std::move(done));
}

void RunValidation(const Env& env, CheckedRequest request, ValidationOptions options,
                   ValidationDone done) {
  std::make_shared<Validation>(env, std::move(request), std::move(options), std::move(done))
      ->Start();
}

}  // namespace mpic::va_primary::internal
