// The one perspective engine: runs the checks a plan asks for (DCV and/or CAA, concurrently)
// for va-remote and for the primary's own check alike, so both are cancellable, bounded by a
// watchdog and measured the same way.
//
//   perspective::Engine engine(resolver, dialer, clock, metrics);
//   auto run = engine.Start(strand, std::move(plan), [](perspective::PlanResult r) {
//     if (r.end != perspective::PlanResult::End::kDone) return;  // cancelled or overran
//     use(*r.dcv, *r.caa);
//   });
//   ...
//   run->Cancel();  // client gone: lookups cancelled, `done` gets kCancelled at once
//
// Every lookup of one run shares one resolver state (resolver::ValidationResolver: one pristine
// libunbound context per validation per perspective, so the DNSSEC chain is verified once) that
// the run can cancel; results arriving after the run ended are dropped. `done` runs exactly once, on the executor given to Start.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>

#include "checks/check.h"
#include "common/asio.h"
#include "perspective/wire.h"
#include "resolver/resolver.h"

namespace mpic::perspective {

// A check that overruns its own deadline (a bug: RunCheck promises a verdict by then) is not
// waited for longer than this.
inline constexpr std::chrono::milliseconds kWatchdogSlack{2000};

struct PlanResult {
  enum class End {
    kDone,       // every requested check produced its result
    kCancelled,  // Cancel() came first
    kOverran,    // a check broke its deadline by more than kWatchdogSlack
  };
  End end = End::kDone;
  std::optional<checks::CheckResult> dcv;  // present when requested (and End::kDone)
  std::optional<checks::CheckResult> caa;
};

// A running plan.
class PlanRun {
 public:
  virtual ~PlanRun() = default;
  // Cancels the run's lookups and ends it with kCancelled (if not ended yet). Call on the
  // run's executor.
  virtual void Cancel() = 0;
};

// What runs a plan: the Engine, or a double in the primary's tests.
class Runner {
 public:
  virtual ~Runner() = default;
  [[nodiscard]] virtual std::shared_ptr<PlanRun> Start(asio::any_io_executor executor,
                                                       CheckPlan plan,
                                                       std::function<void(PlanResult)> done) = 0;
};

class Engine final : public Runner {
 public:
  // Everything must outlive the engine and every run it started.
  Engine(resolver::Resolver& resolver, checks::Dialer& dialer, const checks::TimeSource& clock,
         checks::CheckMetrics& metrics);

  // Starts the plan's checks on `executor` (each check's own deadline applies; the watchdog
  // fires kWatchdogSlack after the latest). An empty plan ends kDone at once.
  [[nodiscard]] std::shared_ptr<PlanRun> Start(asio::any_io_executor executor, CheckPlan plan,
                                               std::function<void(PlanResult)> done) override;

 private:
  resolver::Resolver& resolver_;
  checks::Dialer& dialer_;
  const checks::TimeSource& clock_;
  checks::CheckMetrics& metrics_;
};

}  // namespace mpic::perspective
