// libunbound's pluggable event API (unbound-event.h) on an Asio executor: contexts made with
// ub_ctx_create_ub_event(base.get()) do their sockets and timers on the executor's thread, so
// a context costs no worker thread, no pipes, and no thread hand-off per answer.
//
// libunbound expects level-triggered readiness (libevent's); Asio's epoll reactor is edge-
// triggered, so each arming first polls the descriptor and fires at once if it is ready. The
// io_context must be run by ONE thread (a strand is not enough): with several, readiness can
// arrive between that poll and the wait, and libunbound would see it only at its timeout.
#pragma once

#include <memory>

#include "common/asio.h"

struct ub_event_base;

namespace mpic::resolver::internal {

class UbEventBase {
 public:
  explicit UbEventBase(asio::any_io_executor executor);
  ~UbEventBase();
  UbEventBase(const UbEventBase&) = delete;
  UbEventBase& operator=(const UbEventBase&) = delete;

  // For ub_ctx_create_ub_event. Must outlive every context created over it.
  ub_event_base* get();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mpic::resolver::internal
