#include "lab/signal_scope.h"

#include <atomic>

namespace mpic::lab {
namespace {

std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free);

void OnSignal(int sig) { g_signal.store(sig); }

}  // namespace

SignalScope::SignalScope() {
  g_signal.store(0);
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &sa, &old_[i]);
}

SignalScope::~SignalScope() {
  for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &old_[i], nullptr);
}

int CaughtSignal() { return g_signal.load(); }

}  // namespace mpic::lab
