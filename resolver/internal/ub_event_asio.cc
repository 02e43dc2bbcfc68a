#include "resolver/internal/ub_event_asio.h"

#include <poll.h>
#include <sys/time.h>
#include <unbound-event.h>

#include <chrono>
#include <optional>

namespace mpic::resolver::internal {
namespace {

using Callback = void (*)(int, short, void*);

// One libunbound event: a socket to watch for readiness, a timeout, or both. Pending Asio
// handlers hold it by shared_ptr; `generation` tells them whether they are still wanted.
struct Core {
  explicit Core(const asio::any_io_executor& ex) : executor(ex), timer(ex) {}

  asio::any_io_executor executor;
  int fd = -1;
  short bits = 0;
  Callback cb = nullptr;
  void* arg = nullptr;
  std::optional<asio::posix::stream_descriptor> descriptor;  // registered while armed
  asio::steady_timer timer;
  std::optional<std::chrono::microseconds> timeout;
  bool active = false;
  bool freed = false;
  uint64_t generation = 0;
  std::shared_ptr<Core> self;  // libunbound's reference, dropped by free()
};

// Standard layout with the C struct first: libunbound's ub_event* is a pointer to this.
struct Event {
  ub_event ub;
  Core* core;
};
static_assert(std::is_standard_layout_v<Event>);

struct Base {
  ub_event_base ub;
  asio::any_io_executor* executor;
};
static_assert(std::is_standard_layout_v<Base>);

Core& CoreOf(ub_event* ev) { return *reinterpret_cast<Event*>(ev)->core; }

std::optional<std::chrono::microseconds> ToDuration(const timeval* tv) {
  if (!tv) return std::nullopt;
  return std::chrono::seconds(tv->tv_sec) + std::chrono::microseconds(tv->tv_usec);
}

// Drops every pending wait and the timer. `release` also hands the descriptor back to
// libunbound (it is libunbound's socket: never closed here); done whenever the event stops
// being armed, since libunbound may close the fd and reuse its number for another event.
void Disarm(Core& c, bool release) {
  ++c.generation;
  if (c.descriptor) {
    if (release) {
      c.descriptor->release();
      c.descriptor.reset();
    } else {
      boost::system::error_code ignored;
      c.descriptor->cancel(ignored);
    }
  }
  c.timer.cancel();
}

void Arm(const std::shared_ptr<Core>& c);

void Fire(const std::shared_ptr<Core>& c, uint64_t generation, short what) {
  if (c->freed || !c->active || c->generation != generation) return;
  const bool persist = (c->bits & UB_EV_PERSIST) != 0;
  // As with libevent: a non-persistent event is no longer pending once it fired.
  Disarm(*c, /*release=*/!persist);
  if (!persist) c->active = false;
  const uint64_t before = c->generation;
  c->cb(c->fd, what, c->arg);  // may add, delete or free this event
  if (persist && !c->freed && c->active && c->generation == before) Arm(c);
}

void Arm(const std::shared_ptr<Core>& c) {
  const uint64_t generation = c->generation;
  const short io = static_cast<short>(c->bits & (UB_EV_READ | UB_EV_WRITE));
  if (c->fd >= 0 && io != 0) {
    // libunbound expects level-triggered readiness; Asio waits for the next edge. A socket
    // that is ready already (data left from an earlier read) fires now.
    pollfd p{c->fd, static_cast<short>(((io & UB_EV_READ) ? POLLIN : 0) |
                                       ((io & UB_EV_WRITE) ? POLLOUT : 0)),
             0};
    boost::system::error_code ec;
    if (::poll(&p, 1, 0) <= 0 || p.revents == 0) {
      if (!c->descriptor) {
        c->descriptor.emplace(c->executor);
        c->descriptor->assign(c->fd, ec);
        if (ec) c->descriptor.reset();
      }
    }
    if (p.revents != 0 || ec) {
      short ready = 0;
      if (p.revents & (POLLIN | POLLERR | POLLHUP)) ready |= io & UB_EV_READ;
      if (p.revents & (POLLOUT | POLLERR | POLLHUP)) ready |= io & UB_EV_WRITE;
      if (ready == 0) ready = io;  // POLLNVAL or no reactor: libunbound finds the error
      asio::post(c->executor, [c, generation, ready] { Fire(c, generation, ready); });
      return;
    }
    if (io & UB_EV_READ) {
      c->descriptor->async_wait(asio::posix::stream_descriptor::wait_read,
                                [c, generation](const boost::system::error_code& e) {
                                  if (!e) Fire(c, generation, UB_EV_READ);
                                });
    }
    if (io & UB_EV_WRITE) {
      c->descriptor->async_wait(asio::posix::stream_descriptor::wait_write,
                                [c, generation](const boost::system::error_code& e) {
                                  if (!e) Fire(c, generation, UB_EV_WRITE);
                                });
    }
  }
  if (c->timeout) {
    c->timer.expires_after(*c->timeout);
    c->timer.async_wait([c, generation](const boost::system::error_code& e) {
      if (!e) Fire(c, generation, UB_EV_TIMEOUT);
    });
  }
}

// --- ub_event_vmt ---

void AddBits(ub_event* ev, short bits) { CoreOf(ev).bits |= bits; }
void DelBits(ub_event* ev, short bits) { CoreOf(ev).bits &= static_cast<short>(~bits); }

void SetFd(ub_event* ev, int fd) {
  Core& c = CoreOf(ev);
  Disarm(c, /*release=*/true);
  c.fd = fd;
}

void FreeEvent(ub_event* ev) {
  auto* event = reinterpret_cast<Event*>(ev);
  std::shared_ptr<Core> core = std::move(event->core->self);
  core->freed = true;
  core->active = false;
  Disarm(*core, /*release=*/true);
  delete event;
}

int AddEvent(ub_event* ev, timeval* tv) {
  Core& c = CoreOf(ev);
  Disarm(c, /*release=*/false);
  c.timeout = ToDuration(tv);
  c.active = true;
  Arm(c.self);
  return 0;
}

int DelEvent(ub_event* ev) {
  Core& c = CoreOf(ev);
  c.active = false;
  Disarm(c, /*release=*/true);
  return 0;
}

int AddTimer(ub_event* ev, ub_event_base*, Callback cb, void* arg, timeval* tv) {
  Core& c = CoreOf(ev);
  Disarm(c, /*release=*/true);
  c.cb = cb;
  c.arg = arg;
  c.fd = -1;
  c.bits = UB_EV_TIMEOUT;
  c.timeout = ToDuration(tv);
  c.active = true;
  Arm(c.self);
  return 0;
}

int DelTimer(ub_event* ev) { return DelEvent(ev); }

// Signals and Windows events are never asked of a libunbound context.
int NoSignal(ub_event*, timeval*) { return -1; }
int NoSignalDel(ub_event*) { return -1; }
void NoWsaUnregister(ub_event*) {}
void NoWouldBlock(ub_event*, int) {}

ub_event_vmt kEventVmt = {AddBits,  DelBits,  SetFd,    FreeEvent,   AddEvent,       DelEvent,
                          AddTimer, DelTimer, NoSignal, NoSignalDel, NoWsaUnregister,
                          NoWouldBlock};

// --- ub_event_base_vmt ---

ub_event* NewEvent(ub_event_base* base, int fd, short bits, Callback cb, void* arg) {
  auto core = std::make_shared<Core>(*reinterpret_cast<Base*>(base)->executor);
  core->fd = fd;
  core->bits = bits;
  core->cb = cb;
  core->arg = arg;
  core->self = core;
  auto* event = new Event{{UB_EVENT_MAGIC, &kEventVmt}, core.get()};
  return &event->ub;
}

void FreeBase(ub_event_base*) {}            // owned by UbEventBase
int Dispatch(ub_event_base*) { return -1; }  // the executor's owner runs the loop
int LoopExit(ub_event_base*, timeval*) { return 0; }
ub_event* NoNewSignal(ub_event_base*, int, Callback, void*) { return nullptr; }
ub_event* NoWsaRegister(ub_event_base*, void*, Callback, void*) { return nullptr; }

ub_event_base_vmt kBaseVmt = {FreeBase, Dispatch, LoopExit, NewEvent, NoNewSignal, NoWsaRegister};

}  // namespace

struct UbEventBase::Impl {
  explicit Impl(asio::any_io_executor ex) : executor(std::move(ex)) {
    base.ub = {UB_EVENT_MAGIC, &kBaseVmt};
    base.executor = &executor;
  }
  asio::any_io_executor executor;
  Base base;
};

UbEventBase::UbEventBase(asio::any_io_executor executor)
    : impl_(std::make_unique<Impl>(std::move(executor))) {}

UbEventBase::~UbEventBase() = default;

ub_event_base* UbEventBase::get() { return &impl_->base.ub; }

}  // namespace mpic::resolver::internal
