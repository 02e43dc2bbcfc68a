#include "va-primary/admission.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace mpic::va_primary {

std::shared_ptr<Admission> Admission::Make(asio::any_io_executor executor, Options options,
                                           Observer observer) {
  if (options.max_in_flight < 1) options.max_in_flight = 1;
  if (options.max_queued < 0) options.max_queued = 0;
  return std::shared_ptr<Admission>(
      new Admission(std::move(executor), options, std::move(observer)));
}

std::string Admission::BusyMessage(std::string_view what) const {
  return "va-primary busy: " + std::to_string(options_.max_in_flight) +
         " validations in flight (max_in_flight) and " + std::string(what) + "; retry later";
}

void Admission::Acquire(Clock::time_point deadline, Callback callback) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (counts_.in_flight < options_.max_in_flight && waiters_.empty()) {
    ++counts_.in_flight;
    lock.unlock();
    Notify();
    callback(std::make_shared<Slot>(shared_from_this()));
    return;
  }
  const auto now = Clock::now();
  const auto until = std::min(deadline, now + options_.max_wait);
  if (counts_.queued >= options_.max_queued || until <= now) {
    ++counts_.refused_full;
    const std::string message =
        BusyMessage(std::to_string(options_.max_queued) + " waiting (queue full)");
    lock.unlock();
    Notify();
    callback(Fail(ProblemType::kServerInternal, message));
    return;
  }
  ++counts_.queued;
  const uint64_t id = next_id_++;
  waiters_.push_back(
      Waiter{id, std::move(callback), std::make_unique<asio::steady_timer>(executor_)});
  asio::steady_timer& timer = *waiters_.back().timer;
  timer.expires_at(until);
  timer.async_wait([self = shared_from_this(), id](const boost::system::error_code& ec) {
    if (ec != asio::error::operation_aborted) self->Expire(id);
  });
  lock.unlock();
  Notify();
}

void Admission::Expire(uint64_t id) {
  std::unique_lock<std::mutex> lock(mutex_);
  // Still queued? (ReleaseSlot removes a waiter before it cancels its timer, and a cancelled
  // timer whose handler was already queued arrives here with ec == success.)
  auto it =
      std::find_if(waiters_.begin(), waiters_.end(), [id](const Waiter& w) { return w.id == id; });
  if (it == waiters_.end()) return;
  Callback callback = std::move(it->callback);
  waiters_.erase(it);
  --counts_.queued;
  ++counts_.refused_timeout;
  const std::string message = BusyMessage("no slot freed up while this request waited");
  lock.unlock();
  Notify();
  callback(Fail(ProblemType::kServerInternal, message));
}

void Admission::ReleaseSlot() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (waiters_.empty() || counts_.in_flight > options_.max_in_flight) {
    --counts_.in_flight;
    lock.unlock();
    Notify();
    return;
  }
  // The slot passes straight to the first waiter (in_flight unchanged).
  Waiter next = std::move(waiters_.front());
  waiters_.pop_front();
  --counts_.queued;
  lock.unlock();
  next.timer->cancel();
  Notify();
  auto slot = std::make_shared<Slot>(shared_from_this());
  // On the executor: the releaser may be inside a lock or a gRPC callback.
  asio::post(executor_, [callback = std::move(next.callback), slot = std::move(slot)]() mutable {
    callback(std::move(slot));
  });
}

void Admission::SetLimits(int max_in_flight, int max_queued) {
  std::vector<Waiter> admitted;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    options_.max_in_flight = std::max(1, max_in_flight);
    options_.max_queued = std::max(0, max_queued);
    while (!waiters_.empty() && counts_.in_flight < options_.max_in_flight) {
      admitted.push_back(std::move(waiters_.front()));
      waiters_.pop_front();
      --counts_.queued;
      ++counts_.in_flight;
    }
  }
  Notify();
  for (Waiter& waiter : admitted) {
    waiter.timer->cancel();
    auto slot = std::make_shared<Slot>(shared_from_this());
    asio::post(executor_, [callback = std::move(waiter.callback), slot = std::move(slot)]() mutable {
      callback(std::move(slot));
    });
  }
}

Admission::Options Admission::options() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return options_;
}

Admission::Counts Admission::counts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counts_;
}

void Admission::Notify() {
  if (observer_) observer_(counts());
}

}  // namespace mpic::va_primary
