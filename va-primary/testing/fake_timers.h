// A fake clock for the validation state machine: time moves only when the test calls Advance,
// which runs every timer that fell due, in order. Single-threaded (the test's io_context).
#pragma once

#include <map>
#include <memory>
#include <utility>

#include "va-primary/internal/timers.h"

namespace mpic::va_primary::testing {

class FakeTimers final : public internal::Timers {
 public:
  FakeTimers() = default;
  ~FakeTimers() override {
    // Pending callbacks may own the last reference to a timer's holder, whose handle then
    // cancels into this object: empty the map before it is destroyed.
    auto doomed = std::move(pending_);
    pending_.clear();
  }
  FakeTimers(const FakeTimers&) = delete;
  FakeTimers& operator=(const FakeTimers&) = delete;

  Clock::time_point Now() const override { return now_; }

  std::unique_ptr<internal::Timer> After(asio::any_io_executor executor,
                                         std::chrono::milliseconds delay,
                                         std::function<void()> fire) override {
    const uint64_t id = next_id_++;
    pending_.emplace(std::make_pair(now_ + delay, id), Entry{std::move(executor), std::move(fire)});
    return std::make_unique<Handle>(this, std::make_pair(now_ + delay, id));
  }

  // Moves the clock forward by `by`, posting each timer that falls due to its executor.
  void Advance(std::chrono::milliseconds by) {
    const Clock::time_point until = now_ + by;
    while (!pending_.empty() && pending_.begin()->first.first <= until) {
      auto node = pending_.extract(pending_.begin());
      now_ = node.key().first;
      asio::post(node.mapped().executor, std::move(node.mapped().fire));
    }
    now_ = until;
  }

  [[nodiscard]] size_t pending() const { return pending_.size(); }

 private:
  using Key = std::pair<Clock::time_point, uint64_t>;
  struct Entry {
    asio::any_io_executor executor;
    std::function<void()> fire;
  };
  class Handle final : public internal::Timer {
   public:
    Handle(FakeTimers* owner, Key key) : owner_(owner), key_(key) {}
    ~Handle() override { Cancel(); }
    void Cancel() override { owner_->pending_.erase(key_); }

   private:
    FakeTimers* owner_;
    Key key_;
  };

  Clock::time_point now_{};
  uint64_t next_id_ = 1;
  std::map<Key, Entry> pending_;
};

}  // namespace mpic::va_primary::testing
