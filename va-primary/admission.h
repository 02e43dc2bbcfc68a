// Bounds the validations the primary runs at once (issue 15, defect 4): each one holds a fresh
// resolver context, sockets and memory until its record is written, and the applicant controls
// how slow its servers are. Up to `max_in_flight` run; up to `max_queued` more wait (first come,
// first served) for a slot until their queue deadline; anything beyond is refused at once.
//
//   Admission admission(io.get_executor(), {.max_in_flight = 64, .max_queued = 64,
//                                           .max_wait = std::chrono::seconds(1)});
//   admission.Acquire(call_deadline, [&](Admission::Ticket ticket) {
//     if (!ticket) return Refuse(RESOURCE_EXHAUSTED, ticket.error().detail);
//     Run(..., [t = std::move(*ticket)] { /* slot released when t goes */ });
//   });
//
// Thread-safe. The callback runs exactly once: at once (inside Acquire) when a slot is free or
// the queue is full, later on the executor when a slot frees up or the wait ends.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>

#include "common/asio.h"
#include "common/error.h"

namespace mpic::va_primary {

class Admission : public std::enable_shared_from_this<Admission> {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    int max_in_flight = 64;
    int max_queued = 64;
    std::chrono::milliseconds max_wait{1000};
  };

  // What the counters read (for metrics and tests).
  struct Counts {
    int in_flight = 0;
    int queued = 0;
    uint64_t refused_full = 0;     // queue full: refused at once
    uint64_t refused_timeout = 0;  // waited until the queue deadline
  };

  // Holds one slot; releasing it (destruction or Release()) admits the next waiter.
  class Slot {
   public:
    explicit Slot(std::shared_ptr<Admission> owner) : owner_(std::move(owner)) {}
    Slot(Slot&&) noexcept = default;
    Slot& operator=(Slot&&) noexcept = default;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { Release(); }
    void Release() {
      if (auto owner = std::move(owner_)) owner->ReleaseSlot();
    }

   private:
    std::shared_ptr<Admission> owner_;
  };
  using Ticket = Result<std::shared_ptr<Slot>>;
  using Callback = std::function<void(Ticket)>;
  // Called (outside the lock) whenever a count changes.
  using Observer = std::function<void(const Counts&)>;

  // Created through Make (slots keep the admission alive).
  [[nodiscard]] static std::shared_ptr<Admission> Make(asio::any_io_executor executor,
                                                       Options options, Observer observer = {});

  // `deadline`: the caller's own deadline; a waiter gives up at the earlier of it and
  // now + max_wait. A refusal is an Error whose detail says why (the server answers it
  // RESOURCE_EXHAUSTED).
  void Acquire(Clock::time_point deadline, Callback callback);

  [[nodiscard]] Counts counts() const;
  [[nodiscard]] Options options() const;

  // New limits (a configuration reload): raised, waiters are admitted at once; lowered, slots
  // released are not handed on until in_flight is below the new limit (nothing running is
  // stopped). max_wait is kept.
  void SetLimits(int max_in_flight, int max_queued);

 private:
  struct Waiter {
    uint64_t id = 0;
    Callback callback;
    std::unique_ptr<asio::steady_timer> timer;
  };

  Admission(asio::any_io_executor executor, Options options, Observer observer)
      : executor_(std::move(executor)), options_(options), observer_(std::move(observer)) {}
  void ReleaseSlot();
  void Expire(uint64_t id);
  void Notify();
  [[nodiscard]] std::string BusyMessage(std::string_view what) const;

  asio::any_io_executor executor_;
  Options options_;  // guarded by mutex_ (SetLimits)
  Observer observer_;
  mutable std::mutex mutex_;
  Counts counts_;
  std::list<Waiter> waiters_;
  uint64_t next_id_ = 1;
};

}  // namespace mpic::va_primary
