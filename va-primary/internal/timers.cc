#include "va-primary/internal/timers.h"

namespace mpic::va_primary::internal {
namespace {

class AsioTimer final : public Timer {
 public:
  explicit AsioTimer(asio::any_io_executor executor) : timer_(std::move(executor)) {}
  ~AsioTimer() override { timer_.cancel(); }

  void Start(std::chrono::milliseconds delay, std::function<void()> fire) {
    timer_.expires_after(delay);
    timer_.async_wait([fire = std::move(fire)](const boost::system::error_code& ec) {
      if (!ec) fire();
    });
  }
  void Cancel() override { timer_.cancel(); }

 private:
  asio::steady_timer timer_;
};

}  // namespace

std::unique_ptr<Timer> AsioTimers::After(asio::any_io_executor executor,
                                         std::chrono::milliseconds delay,
                                         std::function<void()> fire) {
  auto timer = std::make_unique<AsioTimer>(std::move(executor));
  timer->Start(delay, std::move(fire));
  return timer;
}

}  // namespace mpic::va_primary::internal
