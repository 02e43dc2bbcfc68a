#include "perspective/engine.h"

#include <set>
#include <vector>

namespace mpic::perspective {
namespace {

class TrackingResolver;

// A session of the real resolver that its run can cancel (client gone, shutdown).
class TrackedSession final : public resolver::Session {
 public:
  TrackedSession(std::unique_ptr<resolver::Session> inner, std::shared_ptr<TrackingResolver> owner)
      : inner_(std::move(inner)), owner_(std::move(owner)) {}
  ~TrackedSession() override;

  void Lookup(std::string_view name, uint16_t type, resolver::Deadline deadline,
              resolver::LookupCallback callback) override {
    inner_->Lookup(name, type, deadline, std::move(callback));
  }
  void Cancel() override { inner_->Cancel(); }

 private:
  std::unique_ptr<resolver::Session> inner_;
  std::shared_ptr<TrackingResolver> owner_;
};

// The resolver one run's checks see: sessions of the real resolver (each fresh, as the real one
// guarantees), remembered so that the run can cancel them. Used on the run's executor only.
// Shared with the sessions, which the checks may keep past the run's own lifetime.
class TrackingResolver final : public resolver::Resolver,
                               public std::enable_shared_from_this<TrackingResolver> {
 public:
  explicit TrackingResolver(resolver::Resolver& inner) : inner_(inner) {}

  std::unique_ptr<resolver::Session> NewSession() override {
    auto session = std::make_unique<TrackedSession>(inner_.NewSession(), shared_from_this());
    if (cancelled_) session->Cancel();
    live_.insert(session.get());
    return session;
  }
  std::string Describe() const override { return inner_.Describe(); }

  void CancelAll() {
    cancelled_ = true;
    // Cancel() only posts callbacks; no session is destroyed while we iterate.
    for (TrackedSession* s : std::vector<TrackedSession*>(live_.begin(), live_.end())) {
      s->Cancel();
    }
  }
  void Forget(TrackedSession* session) { live_.erase(session); }

 private:
  resolver::Resolver& inner_;
  std::set<TrackedSession*> live_;
  bool cancelled_ = false;
};

TrackedSession::~TrackedSession() {
  inner_.reset();
  owner_->Forget(this);
}

class Run final : public PlanRun, public std::enable_shared_from_this<Run> {
 public:
  Run(asio::any_io_executor executor, resolver::Resolver& resolver, checks::Dialer& dialer,
      const checks::TimeSource& clock, checks::CheckMetrics& metrics,
      std::function<void(PlanResult)> done)
      : executor_(std::move(executor)),
        resolver_(std::make_shared<TrackingResolver>(resolver)),
        deps_{*resolver_, dialer, clock, metrics},
        done_(std::move(done)),
        watchdog_(executor_) {}

  void Begin(CheckPlan plan) {
    if (ended_) return;  // cancelled before it began
    pending_ = (plan.dcv ? 1 : 0) + (plan.caa ? 1 : 0);
    if (pending_ == 0) {
      asio::post(executor_, [self = shared_from_this()] { self->End(PlanResult::End::kDone); });
      return;
    }
    checks::Deadline latest = checks::Deadline::min();
    for (auto* which : {&plan.dcv, &plan.caa}) {
      if (!*which) continue;
      latest = std::max(latest, (*which)->deadline);
      const bool is_dcv = which == &plan.dcv;
      checks::RunCheck(executor_, deps_, std::move(**which),
                       [self = shared_from_this(), is_dcv](checks::CheckResult r) {
                         self->OnResult(is_dcv, std::move(r));
                       });
    }
    // RunCheck promises a verdict by the deadline; the watchdog bounds one that breaks it.
    watchdog_.expires_at(latest + kWatchdogSlack);
    watchdog_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->ended_) return;
      self->resolver_->CancelAll();
      self->End(PlanResult::End::kOverran);
    });
  }

  void Cancel() override {
    resolver_->CancelAll();
    if (!ended_) End(PlanResult::End::kCancelled);
  }

 private:
  void OnResult(bool is_dcv, checks::CheckResult result) {
    if (ended_) return;  // late results of an ended run are dropped
    (is_dcv ? result_.dcv : result_.caa) = std::move(result);
    if (--pending_ == 0) End(PlanResult::End::kDone);
  }

  void End(PlanResult::End end) {
    ended_ = true;
    watchdog_.cancel();
    result_.end = end;
    if (end != PlanResult::End::kDone) {
      result_.dcv.reset();
      result_.caa.reset();
    }
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(result_));
  }

  asio::any_io_executor executor_;
  std::shared_ptr<TrackingResolver> resolver_;
  checks::CheckDeps deps_;
  std::function<void(PlanResult)> done_;
  asio::steady_timer watchdog_;
  PlanResult result_;
  int pending_ = 0;
  bool ended_ = false;
};

}  // namespace

Engine::Engine(resolver::Resolver& resolver, checks::Dialer& dialer,
               const checks::TimeSource& clock, checks::CheckMetrics& metrics)
    : resolver_(resolver), dialer_(dialer), clock_(clock), metrics_(metrics) {}

std::shared_ptr<PlanRun> Engine::Start(asio::any_io_executor executor, CheckPlan plan,
                                       std::function<void(PlanResult)> done) {
  auto run = std::make_shared<Run>(executor, resolver_, dialer_, clock_, metrics_,
                                   std::move(done));
  // Begin on the executor: checks and their callbacks live there, never on the caller's thread.
  asio::dispatch(executor, [run, plan = std::move(plan)]() mutable { run->Begin(std::move(plan)); });
  return run;
}

}  // namespace mpic::perspective
