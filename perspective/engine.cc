#include "perspective/engine.h"

#include "resolver/validation_resolver.h"

namespace mpic::perspective {
namespace {

class Run final : public PlanRun, public std::enable_shared_from_this<Run> {
 public:
  Run(asio::any_io_executor executor, resolver::Resolver& resolver, checks::Dialer& dialer,
      const checks::TimeSource& clock, checks::CheckMetrics& metrics,
      std::function<void(PlanResult)> done)
      : executor_(std::move(executor)),
        resolver_(std::make_shared<resolver::ValidationResolver>(executor_, resolver)),
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
  // One resolver state for every lookup of this run (one validation at one perspective): the
  // DNSSEC chain is verified once, and nothing survives the run (BR §3.2.2.9).
  std::shared_ptr<resolver::ValidationResolver> resolver_;
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
