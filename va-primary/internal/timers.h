// The clock and timers of a validation, behind an interface so that the state machine's tests
// run on a fake clock (va-primary/testing/fake_timers.h) in microseconds instead of seconds.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "common/asio.h"

namespace mpic::va_primary::internal {

class Timer {
 public:
  virtual ~Timer() = default;
  // The callback will not run (if it has not yet). Idempotent; on the timer's executor.
  virtual void Cancel() = 0;
};

class Timers {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~Timers() = default;
  [[nodiscard]] virtual Clock::time_point Now() const = 0;
  // Runs `fire` on `executor` after `delay`, unless cancelled first.
  [[nodiscard]] virtual std::unique_ptr<Timer> After(asio::any_io_executor executor,
                                                     std::chrono::milliseconds delay,
                                                     std::function<void()> fire) = 0;
};

// Real time, Asio steady timers.
class AsioTimers final : public Timers {
 public:
  Clock::time_point Now() const override { return Clock::now(); }
  std::unique_ptr<Timer> After(asio::any_io_executor executor, std::chrono::milliseconds delay,
                               std::function<void()> fire) override;
};

}  // namespace mpic::va_primary::internal
