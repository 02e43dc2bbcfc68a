// SIGINT, SIGTERM and SIGHUP turned into a flag for the launchers' bounded waits (`mpic fleet`,
// `mpic netsim fleet`): while a SignalScope lives, these signals set CaughtSignal() instead of
// ending the process, so that the launcher stops its children in order. Installed without
// SA_RESTART, so blocking waits return at once; the previous handlers come back on destruction.
//
//   lab::SignalScope signals;
//   auto fleet = LocalFleet::Start(options, std::cerr, [] { return lab::CaughtSignal() != 0; });
//
// One scope at a time, on the main thread.
#pragma once

#include <csignal>
#include <iterator>

namespace mpic::lab {

class SignalScope {
 public:
  SignalScope();
  ~SignalScope();
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

 private:
  static constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP};
  struct sigaction old_[std::size(kSignals)]{};
};

// The last signal caught while a SignalScope lived (0: none since it was created).
[[nodiscard]] int CaughtSignal();

}  // namespace mpic::lab
