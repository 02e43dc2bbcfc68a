#include "va-primary/internal/validation.h"

#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <exception>
#include <optional>

#include "quorum/selection.h"
#include "va-primary/divergence.h"
#include "va-primary/internal/deps.h"
#include "va-primary/internal/log.h"

namespace mpic::va_primary::internal {
namespace {

using SteadyClock = std::chrono::steady_clock;

double MillisSince(SteadyClock::time_point start) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
}

std::string RirText(v1::Rir rir) {
  auto parsed = RirFromProto(rir);
  return parsed ? std::string(quorum::RirName(*parsed)) : "unspecified";
}

// A check outcome as the primary judges it: valid only with no problem, for the right method
// and identifier (fail closed on anything else).
bool OutcomeValid(const v1::CheckOutcome& outcome) {
  return outcome.valid() && outcome.problem().type().empty();
}

class Validation : public std::enable_shared_from_this<Validation> {
 public:
  Validation(Shared& shared, grpc::ServerUnaryReactor* reactor, CheckedRequest request,
             v1::ValidateResponse* response)
      : shared_(shared),
        settings_(shared.settings),
        strand_(asio::make_strand(shared.io)),
        grace_timer_(strand_),
        watchdog_(strand_),
        reactor_(reactor),
        request_(std::move(request)),
        response_(response) {}

  void Start() {
    asio::post(strand_, [self = shared_from_this()] { self->Guard([&] { self->Begin(); }); });
  }

 private:
  struct RemoteCall {
    grpc::ClientContext context;
    v1::CheckRequest request;
    v1::CheckResponse response;
  };
  enum class Phase { kNotStarted, kRunning, kFinal };
  struct Slot {
    const RemoteClient* client = nullptr;  // null for the primary
    v1::PerspectiveResult result;
    Phase phase = Phase::kNotStarted;
    SteadyClock::time_point started;
    std::shared_ptr<RemoteCall> call;
  };
  enum class Check { kDcv, kCaa };

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
    start_ = SteadyClock::now();
    request_id_ = RandomRequestId();
    primary_.result.mutable_perspective()->CopyFrom(settings_.config.identity());

    // BR §3.2.2.9: the cohort for this attempt, disjoint from earlier attempts' cohorts.
    std::vector<quorum::Perspective> cohort;
    if (settings_.remotes_per_validation > 0) {
      const int attempt =
          static_cast<int>(std::min<uint32_t>(request_.attempt, static_cast<uint32_t>(INT_MAX)));
      auto selected = quorum::SelectCohort(settings_.selection_secret, request_.identifier, attempt,
                                           settings_.remotes, settings_.remotes_per_validation);
      if (!selected) return ForceDecision(selected.error());
      cohort = std::move(*selected);
    }
    auto tally = quorum::Tally::Create(settings_.policy, cohort);
    if (!tally) return ForceDecision(tally.error());
    tally_.emplace(std::move(*tally));
    for (const quorum::Perspective& p : cohort) {
      Slot slot;
      for (const RemoteClient& client : shared_.remotes) {
        if (client.perspective.name == p.name) slot.client = &client;
      }
      if (slot.client == nullptr) {
        return ForceDecision(Error{ProblemType::kServerInternal,
                                   "selected remote \"" + p.name + "\" has no client"});
      }
      slot.result.mutable_perspective()->CopyFrom(slot.client->endpoint.identity());
      remotes_.push_back(std::move(slot));
    }

    // Every wait is bounded: if nothing decides by then, whatever is running timed out.
    const auto limit = (settings_.config.remotes_after_primary()
                            ? settings_.max_check + settings_.remote_timeout
                            : std::max(settings_.max_check, settings_.remote_timeout)) +
                       std::chrono::seconds(1);
    watchdog_.expires_after(limit);
    watchdog_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->Guard([&] { self->OnWatchdog(); });
    });

    StartPrimary();
    if (!settings_.config.remotes_after_primary()) StartRemotes();
    MaybeDecide();
  }

  // The primary's own checks: the same code path as a remote (checks::RunCheck, a fresh resolver
  // session per check).
  void StartPrimary() {
    const auto deadline = SteadyClock::now() + settings_.max_check;
    checks::CheckDeps deps{shared_.resolver, shared_.dialer, shared_.clock, shared_.check_metrics};
    primary_.phase = Phase::kRunning;
    primary_.started = SteadyClock::now();
    std::vector<std::pair<Check, checks::CheckRequest>> runs;
    if (request_.dcv) runs.emplace_back(Check::kDcv, DcvCheckRequest(request_, deadline));
    if (request_.caa) runs.emplace_back(Check::kCaa, CaaCheckRequest(request_, deadline));
    primary_checks_pending_ = static_cast<int>(runs.size());  // before any can complete
    for (auto& [which, check] : runs) {
      shared_.outstanding.Add();
      checks::RunCheck(strand_, deps, std::move(check),
                       [self = shared_from_this(), which = which](checks::CheckResult result) {
                         self->Guard([&] { self->OnPrimaryCheck(which, std::move(result)); });
                         self->shared_.outstanding.Done();
                       });
    }
  }

  void OnPrimaryCheck(Check which, checks::CheckResult result) {
    if (primary_.phase == Phase::kFinal) return;  // timed out or cancelled meanwhile
    v1::CheckOutcome outcome = OutcomeToProto(result);
    if (which == Check::kDcv) {
      *primary_.result.mutable_dcv() = std::move(outcome);
    } else {
      *primary_.result.mutable_caa() = std::move(outcome);
    }
    if (--primary_checks_pending_ > 0) return;

    primary_.phase = Phase::kFinal;
    v1::PerspectiveResult& r = primary_.result;
    r.set_status(v1::ANSWERED);
    r.set_latency_ms(MillisSince(primary_.started));
    const bool dcv_ok = !request_.dcv || (r.has_dcv() && OutcomeValid(r.dcv()));
    const bool caa_ok = !request_.caa || (r.has_caa() && OutcomeValid(r.caa()));
    r.set_corroborates(dcv_ok && caa_ok);
    quorum::Outcome tallied = quorum::Outcome::kCorroborated;
    if (!r.corroborates()) {
      const std::string internal_urn = ProblemTypeUrn(ProblemType::kServerInternal);
      const bool internal = (r.has_dcv() && r.dcv().problem().type() == internal_urn) ||
                            (r.has_caa() && r.caa().problem().type() == internal_urn);
      tallied = internal ? quorum::Outcome::kError : quorum::Outcome::kInvalid;
    }
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
      auto call = std::make_shared<RemoteCall>();
      call->request = RemoteCheckRequest(request_, request_id_);
      call->context.set_deadline(std::chrono::system_clock::now() + settings_.remote_timeout);
      slot.phase = Phase::kRunning;
      slot.started = SteadyClock::now();
      slot.call = call;
      shared_.outstanding.Add();
      // gRPC callbacks only post into Asio (ARCHITECTURE.md): all state lives on the strand.
      slot.client->stub->async()->Check(
          &call->context, &call->request, &call->response,
          [self = shared_from_this(), i, call](grpc::Status status) {
            asio::post(self->strand_, [self, i, call, status = std::move(status)] {
              self->Guard([&] { self->OnRemoteDone(i, *call, status); });
              self->shared_.outstanding.Done();
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
        if (Status ok = tally_->Add(slot.client->perspective.name, quorum::Outcome::kError); !ok) {
          return ForceDecision(ok.error());
        }
      }
    }
  }

  void OnRemoteDone(std::size_t index, RemoteCall& call, const grpc::Status& status) {
    Slot& slot = remotes_[index];
    if (slot.phase == Phase::kFinal) return;  // cancelled or timed out by us: already recorded
    slot.phase = Phase::kFinal;
    slot.result.set_latency_ms(MillisSince(slot.started));
    const quorum::Outcome outcome = Classify(slot, call, status);
    if (Status ok = tally_->Add(slot.client->perspective.name, outcome); !ok) {
      return ForceDecision(ok.error());
    }
    MaybeDecide();
  }

  // A remote's reply as a tally outcome; fills the slot's result. Corroborates iff every
  // requested check is valid, from the configured identity.
  quorum::Outcome Classify(Slot& slot, RemoteCall& call, const grpc::Status& status) {
    v1::PerspectiveResult& r = slot.result;
    r.set_corroborates(false);
    if (!status.ok()) {
      const std::string code(proto::GrpcCodeName(status.error_code()));
      shared_.metrics.RemoteRpcError(code);
      r.set_error(code + ": " + status.error_message());
      if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
        r.set_status(v1::TIMED_OUT);
        return quorum::Outcome::kTimeout;
      }
      r.set_status(v1::RPC_ERROR);
      return quorum::Outcome::kError;
    }
    v1::CheckResponse& reply = call.response;
    // Moved, not copied (the evidence is most of the reply); checked below in `r`.
    if (reply.has_dcv()) *r.mutable_dcv() = std::move(*reply.mutable_dcv());
    if (reply.has_caa()) *r.mutable_caa() = std::move(*reply.mutable_caa());

    // The remote must be who the configuration says (BR §3.2.2.9 counts RIRs and places).
    const v1::PerspectiveIdentity& configured = slot.client->endpoint.identity();
    if (reply.perspective().name() != configured.name() ||
        reply.perspective().rir() != configured.rir()) {
      r.set_status(v1::IDENTITY_MISMATCH);
      r.set_error("replied as \"" + reply.perspective().name() + "\" (" +
                  RirText(reply.perspective().rir()) + "), configured as \"" + configured.name() +
                  "\" (" + RirText(configured.rir()) + ")");
      return quorum::Outcome::kError;
    }

    std::string malformed;
    const std::string identifier = quorum::NormalizeIdentifier(request_.identifier);
    auto check_outcome = [&](bool requested, bool present, const v1::CheckOutcome& outcome,
                             v1::Method method, const char* name) {
      if (!requested || !malformed.empty()) return;
      if (!present) {
        malformed = std::string("reply lacks the requested ") + name + " outcome";
      } else if (outcome.method() != method) {
        malformed = std::string("the ") + name + " outcome is for another method";
      } else if (quorum::NormalizeIdentifier(outcome.identifier()) != identifier) {
        malformed = std::string("the ") + name + " outcome is for identifier \"" +
                    outcome.identifier().substr(0, 64) + "\"";
      }
    };
    check_outcome(request_.dcv.has_value(), r.has_dcv(), r.dcv(), request_.method, "dcv");
    check_outcome(request_.caa, r.has_caa(), r.caa(), v1::CAA, "caa");
    if (!malformed.empty()) {
      r.set_status(v1::RPC_ERROR);
      r.set_error("malformed reply: " + malformed);
      shared_.metrics.RemoteRpcError("MALFORMED_REPLY");
      return quorum::Outcome::kError;
    }

    r.set_status(v1::ANSWERED);
    const bool dcv_ok = !request_.dcv || OutcomeValid(r.dcv());
    const bool caa_ok = !request_.caa || OutcomeValid(r.caa());
    r.set_corroborates(dcv_ok && caa_ok);
    return r.corroborates() ? quorum::Outcome::kCorroborated : quorum::Outcome::kInvalid;
  }

  void OnWatchdog() {
    if (finalizing_ || decided_) return;
    const std::string why = "no result within the validation's bound";
    if (primary_.phase == Phase::kRunning) {
      primary_.phase = Phase::kFinal;
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
      slot.call->context.TryCancel();
      slot.phase = Phase::kFinal;
      slot.result.set_status(v1::TIMED_OUT);
      slot.result.set_error(why);
      slot.result.set_latency_ms(MillisSince(slot.started));
      if (Status ok = tally_->Add(slot.client->perspective.name, quorum::Outcome::kTimeout); !ok) {
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

  // Step 4 of the DESIGN: fix the decision as soon as the tally has one; then grace, then
  // record and answer.
  void MaybeDecide() {
    if (finalizing_) return;
    if (!decided_) {
      if (tally_->decision() == quorum::Decision::kPending) return;
      // Not-enforced phase: the primary decides, but the quorum must still be computed and
      // logged (BR: "must run and log"), so wait for it while remotes are still running.
      if (!tally_->enforced() && tally_->quorum() == quorum::Decision::kPending &&
          RemotesRunning()) {
        return;
      }
      decided_ = true;
      decided_at_ = std::chrono::system_clock::now();
      decided_steady_ = SteadyClock::now();
      if (AllSettled() || settings_.straggler_grace.count() == 0) return Finalize();
      grace_timer_.expires_after(settings_.straggler_grace);
      grace_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
        if (!ec) self->Guard([&] { self->Finalize(); });
      });
      return;
    }
    if (AllSettled()) Finalize();  // every straggler made it within the grace period
  }

  void ForceDecision(Error error) {
    if (finalizing_) return;
    Log("error", "validation failed closed",
        {{"request_id", request_id_}, {"detail", error.detail}});
    forced_ = std::move(error);
    if (!decided_) {
      decided_ = true;
      decided_at_ = std::chrono::system_clock::now();
      decided_steady_ = SteadyClock::now();
    }
    Finalize();
  }

  // Steps 5-7: cancel stragglers, build the response, write the record, then answer.
  void Finalize() {
    if (finalizing_) return;
    finalizing_ = true;
    grace_timer_.cancel();
    watchdog_.cancel();

    const std::string late = "still running " +
                             std::to_string(static_cast<long>(MillisSince(decided_steady_))) +
                             " ms after the decision (grace " +
                             std::to_string(settings_.straggler_grace.count()) + " ms): cancelled";
    if (primary_.phase == Phase::kRunning) {
      // checks::RunCheck cannot be interrupted; it ends by its own deadline and is ignored.
      primary_.phase = Phase::kFinal;
      primary_.result.set_status(v1::CANCELLED);
      primary_.result.set_error(late);
      primary_.result.set_latency_ms(MillisSince(primary_.started));
      shared_.metrics.StragglerCancelled();
    } else if (primary_.phase == Phase::kNotStarted) {
      primary_.phase = Phase::kFinal;
      primary_.result.set_status(v1::NOT_STARTED);
    }
    for (Slot& slot : remotes_) {
      if (slot.phase == Phase::kRunning) {
        slot.call->context.TryCancel();
        slot.phase = Phase::kFinal;
        slot.result.set_status(v1::CANCELLED);
        slot.result.set_error(late);
        slot.result.set_latency_ms(MillisSince(slot.started));
        shared_.metrics.StragglerCancelled();
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
    info.reason = forced_ ? forced_->detail : (tally_ ? tally_->reason() : "");
    auto line = FormatAuditRecord(info, *response_);
    if (!line) return OnAudited(Fail(line.error()));
    shared_.outstanding.Add();
    shared_.audit.Append(std::move(*line), [self = shared_from_this()](Status written) {
      asio::post(self->strand_, [self, written = std::move(written)] {
        self->OnAudited(written);
        self->shared_.outstanding.Done();
      });
    });
  }

  void BuildResponse() {
    v1::ValidateResponse& out = *response_;
    out.Clear();
    out.set_request_id(request_id_);
    const bool corroborated =
        !forced_ && tally_ && tally_->decision() == quorum::Decision::kCorroborated;
    out.set_decision(corroborated ? v1::CORROBORATED : v1::NOT_CORROBORATED);
    std::optional<v1::Problem> problem;
    if (!corroborated) problem = DecisionProblem();  // reads the results: before they move
    // Finalize runs once and nothing reads the results after it: they move into the response.
    *out.mutable_primary() = std::move(primary_.result);
    for (Slot& slot : remotes_) *out.add_remotes() = std::move(slot.result);
    out.set_quorum(tally_ ? tally_->QuorumString()
                          : "0/" + std::to_string(settings_.remotes_per_validation));
    out.set_policy(settings_.policy.Describe());
    out.set_phase(settings_.phase);
    out.set_enforced(settings_.policy.enforced());
    if (problem) *out.mutable_problem() = std::move(*problem);

    std::vector<const v1::PerspectiveResult*> answered;
    if (out.primary().status() == v1::ANSWERED) answered.push_back(&out.primary());
    for (const v1::PerspectiveResult& r : out.remotes()) {
      if (r.status() == v1::ANSWERED) answered.push_back(&r);
    }
    for (v1::Divergence& d : ComputeDivergences(answered)) *out.add_divergences() = std::move(d);
  }

  // Why not corroborated: the primary's own problem when its check failed, else the quorum.
  v1::Problem DecisionProblem() const {
    if (forced_) return ProblemToProto(*forced_);
    const v1::PerspectiveResult& p = primary_.result;
    if (p.status() == v1::ANSWERED && !p.corroborates() &&
        (settings_.policy.primary_required() || !settings_.policy.enforced())) {
      if (request_.dcv && p.has_dcv() && !OutcomeValid(p.dcv()) && p.dcv().has_problem()) {
        return p.dcv().problem();
      }
      if (p.has_caa() && p.caa().has_problem()) return p.caa().problem();
    }
    if (tally_->quorum() == quorum::Decision::kNotCorroborated) {
      return ProblemToProto(Error{ProblemType::kUnauthorized,
                                  "MPIC: remote perspectives did not corroborate (quorum " +
                                      tally_->QuorumString() + ", " + settings_.policy.Describe() +
                                      "): " + tally_->reason()});
    }
    return ProblemToProto(
        Error{ProblemType::kServerInternal, "MPIC: not corroborated: " + tally_->reason()});
  }

  void RecordMetrics() {
    auto record = [&](const v1::PerspectiveResult& r) {
      const std::string& name = r.perspective().name();
      shared_.metrics.PerspectiveResult(name, ResultLabel(r));
      switch (r.status()) {
        case v1::ANSWERED:
        case v1::RPC_ERROR:
        case v1::TIMED_OUT:
        case v1::IDENTITY_MISMATCH:
          shared_.metrics.PerspectiveLatency(name, r.latency_ms() / 1000.0);
          break;
        default:
          break;
      }
    };
    record(response_->primary());
    for (const v1::PerspectiveResult& r : response_->remotes()) record(r);
  }

  void OnAudited(const Status& written) {
    if (!written) {
      shared_.metrics.AuditWriteFailure();
      Log("error", "audit record not written: no answer sent",
          {{"request_id", request_id_}, {"detail", written.error().detail}});
      return FinishRpc(grpc::Status(grpc::StatusCode::INTERNAL,
                                    "audit record could not be written; no decision was made (" +
                                        written.error().detail + ")"));
    }
    shared_.metrics.Decision(response_->decision() == v1::CORROBORATED ? "corroborated"
                                                                       : "not_corroborated");
    FinishRpc(grpc::Status::OK);
  }

  void FinishRpc(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    reactor_->Finish(status);
  }

  Shared& shared_;
  const PrimarySettings& settings_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer grace_timer_;
  asio::steady_timer watchdog_;
  grpc::ServerUnaryReactor* reactor_;
  CheckedRequest request_;
  v1::ValidateResponse* response_;

  std::string request_id_;
  SteadyClock::time_point start_;
  std::optional<quorum::Tally> tally_;
  Slot primary_;
  int primary_checks_pending_ = 0;
  std::vector<Slot> remotes_;
  bool decided_ = false;
  std::chrono::system_clock::time_point decided_at_;
  SteadyClock::time_point decided_steady_;
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
    case v1::ANSWERED:
      return result.corroborates() ? "corroborated" : "invalid";
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

void RunValidation(Shared& shared, grpc::ServerUnaryReactor* reactor, CheckedRequest request,
                   v1::ValidateResponse* response) {
  std::make_shared<Validation>(shared, reactor, std::move(request), response)->Start();
}

}  // namespace mpic::va_primary::internal
