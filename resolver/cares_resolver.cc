#include "resolver/cares_resolver.h"

#include <arpa/inet.h>
#include <ares.h>

#include <charconv>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "common/dns_name.h"
#include "resolver/internal/answer.h"

namespace mpic::resolver {
namespace {

using Descriptor = asio::posix::stream_descriptor;

std::chrono::microseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

struct State;

// What c-ares' socket-state callback reaches for one channel. The callback's argument is fixed
// when the channel is made, so it points here and `owner` follows the channel from session to
// session.
struct Slot {
  State* owner = nullptr;
};

}  // namespace

// Initialised c-ares channels kept for later sessions: making one costs more than the query it
// serves (it reads files and the kernel's randomness). A channel goes back only when c-ares has
// no query and no socket left in it (c-ares closes every socket of a channel once its last query
// ends, unless ARES_FLAG_STAYOPEN, which is never set), so the next session still starts from
// nothing: its first query opens a new socket with a new source port, and c-ares keeps no cache.
// Used from any thread; channels themselves are used by one session at a time.
class CaresResolver::ChannelPool {
 public:
  struct Entry {
    ares_channel channel = nullptr;
    std::unique_ptr<Slot> slot;
  };

  ~ChannelPool() {
    for (Entry& entry : idle_) ares_destroy(entry.channel);
  }

  std::optional<Entry> Take() {
    std::lock_guard lock(mutex_);
    if (idle_.empty()) return std::nullopt;
    Entry entry = std::move(idle_.back());
    idle_.pop_back();
    ++reused_;
    return entry;
  }

  // Keeps `entry`, which holds no query and no socket, if there is room; destroys it otherwise.
  void Give(Entry entry) {
    entry.slot->owner = nullptr;
    {
      std::lock_guard lock(mutex_);
      if (idle_.size() < kMaxIdle) {
        idle_.push_back(std::move(entry));
        return;
      }
    }
    ares_destroy(entry.channel);
  }

  uint64_t reused() const {
    std::lock_guard lock(mutex_);
    return reused_;
  }

 private:
  static constexpr size_t kMaxIdle = 256;
  mutable std::mutex mutex_;
  std::vector<Entry> idle_;
  uint64_t reused_ = 0;
};

namespace {

struct Pending {
  std::string name;
  uint16_t type = 0;
  LookupCallback callback;
  std::optional<asio::steady_timer> timer;
  Clock::time_point start = Clock::now();
  bool done = false;  // the user callback was posted; waits only for c-ares to let go
  uint64_t id = 0;
  State* state = nullptr;
};

// One watched c-ares socket. Handlers hold it by shared_ptr; `closed` stops them touching the
// fd after c-ares is done with it.
struct Watch {
  Watch(asio::any_io_executor ex, int fd) : descriptor(std::move(ex), fd) {}
  Descriptor descriptor;
  bool want_read = false, want_write = false;
  bool reading = false, writing = false;
  bool closed = false;
};

struct State : std::enable_shared_from_this<State> {
  State(asio::any_io_executor ex, std::shared_ptr<CaresResolver::ChannelPool> channels)
      : executor(ex), timer(ex), pool(std::move(channels)) {}
  ~State() {
    if (channel) {
      // `watches` mirrors c-ares' open sockets (sock_state_cb): none and no query -> reusable.
      if (pending.empty() && watches.empty() && usable) {
        pool->Give({channel, std::move(slot)});
      } else {
        ares_destroy(channel);  // completes what is left with ARES_EDESTRUCTION
      }
    }
    for (auto& [fd, w] : watches) Close(*w);
  }

  static void Close(Watch& w) {
    w.closed = true;
    w.descriptor.cancel();
    w.descriptor.release();  // docs/architecture.md, Pitfalls: c-ares closes its own sockets
  }

  void OnSocketState(int fd, bool readable, bool writable) {
    if (!readable && !writable) {
      if (auto it = watches.find(fd); it != watches.end()) {
        Close(*it->second);
        watches.erase(it);
      }
      return;
    }
    auto& w = watches[fd];
    if (!w) w = std::make_shared<Watch>(executor, fd);
    w->want_read = readable;
    w->want_write = writable;
    ArmSocket(w, fd);
  }

  void ArmSocket(const std::shared_ptr<Watch>& w, int fd) {
    if (w->closed) return;
    if (w->want_read && !w->reading) {
      w->reading = true;
      w->descriptor.async_wait(Descriptor::wait_read,
                               [self = shared_from_this(), w, fd](const auto& ec) {
                                 w->reading = false;
                                 if (ec || w->closed) return;
                                 ares_process_fd(self->channel, fd, ARES_SOCKET_BAD);
                                 self->ArmSocket(w, fd);
                                 self->ArmTimer();
                               });
    }
    if (w->want_write && !w->writing) {
      w->writing = true;
      w->descriptor.async_wait(Descriptor::wait_write,
                               [self = shared_from_this(), w, fd](const auto& ec) {
                                 w->writing = false;
                                 if (ec || w->closed) return;
                                 ares_process_fd(self->channel, ARES_SOCKET_BAD, fd);
                                 self->ArmSocket(w, fd);
                                 self->ArmTimer();
                               });
    }
  }

  // c-ares' own retransmission timer.
  void ArmTimer() {
    timeval tv{};
    if (ares_timeout(channel, nullptr, &tv) == nullptr) {
      timer.cancel();
      return;
    }
    timer.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
    timer.async_wait([weak = weak_from_this()](const auto& ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      ares_process_fd(self->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      self->ArmTimer();
    });
  }

  void Finish(Pending* p, LookupResult result) {
    if (p->done) return;
    p->done = true;
    if (p->timer) p->timer->cancel();
    asio::post(executor, [cb = std::move(p->callback), r = std::move(result)]() mutable {
      cb(std::move(r));
    });
  }

  asio::any_io_executor executor;
  ares_channel channel = nullptr;
  std::unique_ptr<Slot> slot;
  bool usable = false;  // initialised and configured
  asio::steady_timer timer;
  std::shared_ptr<CaresResolver::ChannelPool> pool;
  std::map<int, std::shared_ptr<Watch>> watches;
  std::map<uint64_t, std::unique_ptr<Pending>> pending;
  uint64_t next_id = 1;
  std::string server;
  bool require_ad = false;
  bool cancelled = false;
};

LookupResult FromPacket(const State& state, const Pending& p, int status,
                        std::span<const uint8_t> packet) {
  if (status != ARES_SUCCESS || packet.empty()) {
    return tl::unexpected(LookupError{
        Error{ProblemType::kDns, "stub resolver " + state.server + " failed for " + p.name + "/" +
                                     dns::RrTypeName(p.type) + ": " + ares_strerror(status)},
        std::nullopt, status == ARES_ETIMEOUT});
  }
  Answer answer;
  answer.name = p.name;
  answer.type = p.type;
  answer.server = state.server;
  answer.elapsed = Since(p.start);
  auto msg = dns::ParseMessage(packet);
  if (!msg) return tl::unexpected(LookupError{msg.error(), std::nullopt});
  if (msg->qname != p.name || msg->qtype != p.type) {
    return tl::unexpected(LookupError{
        Error{ProblemType::kDns, "stub resolver answered a different question"}, std::nullopt});
  }
  answer.dnssec = msg->ad ? DnssecStatus::kSecure : DnssecStatus::kInsecure;
  if (auto st = internal::FillFromPacket(packet, &answer); !st) {
    return tl::unexpected(LookupError{st.error(), std::move(answer)});
  }
  if (msg->tc) {
    return tl::unexpected(LookupError{
        Error{ProblemType::kDns, "truncated answer for " + p.name + " from " + state.server},
        std::move(answer)});
  }
  auto classified = internal::Classify(std::move(answer));
  if (classified && state.require_ad && classified->dnssec != DnssecStatus::kSecure) {
    std::string detail = "stub resolver " + state.server + " did not authenticate " + p.name +
                         "/" + dns::RrTypeName(p.type) + " (AD bit clear) and DNSSEC is required";
    return tl::unexpected(LookupError{Error{ProblemType::kDns, detail}, std::move(*classified)});
  }
  return classified;
}

void OnAresResult(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* p = static_cast<Pending*>(arg);
  State* state = p->state;
  if (!p->done) {
    std::span<const uint8_t> packet;
    if (abuf && alen > 0) packet = std::span(abuf, static_cast<size_t>(alen));
    state->Finish(p, FromPacket(*state, *p, status, packet));
  }
  state->pending.erase(p->id);
}

void OnSocketState(void* data, ares_socket_t fd, int readable, int writable) {
  // A pooled channel has no sockets, so c-ares calls this only while a session owns it.
  if (State* owner = static_cast<Slot*>(data)->owner) {
    owner->OnSocketState(fd, readable != 0, writable != 0);
  }
}

class CaresSession final : public Session {
 public:
  CaresSession(asio::any_io_executor executor, const StubConfig& config, std::string server,
               std::shared_ptr<CaresResolver::ChannelPool> pool)
      : executor_(executor), state_(std::make_shared<State>(executor, std::move(pool))) {
    state_->server = std::move(server);
    state_->require_ad = config.require_ad;
    if (auto pooled = state_->pool->Take()) {
      state_->channel = pooled->channel;
      state_->slot = std::move(pooled->slot);
      state_->slot->owner = state_.get();
      state_->usable = true;
      return;
    }
    state_->slot = std::make_unique<Slot>();
    state_->slot->owner = state_.get();
    ares_options options{};
    // NOCHECKRESP: hand SERVFAIL/REFUSED to us instead of retrying; we classify them.
    options.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH;
    options.timeout = config.attempt_timeout_ms;
    options.tries = config.tries;
    options.sock_state_cb = &OnSocketState;
    options.sock_state_cb_data = state_->slot.get();
    options.ndomains = 0;
    options.lookups = const_cast<char*>("b");
    // Never read the machine's resolver configuration.
    options.resolvconf_path = const_cast<char*>("/dev/null");
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB |
               ARES_OPT_DOMAINS | ARES_OPT_LOOKUPS | ARES_OPT_RESOLVCONF;
    if (int r = ares_init_options(&state_->channel, &options, mask); r != ARES_SUCCESS) {
      init_error_ = Error{ProblemType::kServerInternal, std::string("c-ares: ") + ares_strerror(r)};
      state_->channel = nullptr;
      return;
    }
    if (int r = ares_set_servers_ports_csv(state_->channel, state_->server.c_str());
        r != ARES_SUCCESS) {
      init_error_ = Error{ProblemType::kServerInternal,
                          "c-ares server " + state_->server + ": " + ares_strerror(r)};
      return;
    }
    state_->usable = true;
  }

  ~CaresSession() override { Cancel(); }

  void Lookup(std::string_view name, uint16_t type, Deadline deadline,
              LookupCallback callback) override {
    auto fail = [this](LookupCallback cb, LookupError e) {
      asio::post(executor_, [cb = std::move(cb), e = std::move(e)]() mutable {
        cb(tl::unexpected(std::move(e)));
      });
    };
    auto normalized = NormalizeDnsName(name);
    if (!normalized) return fail(std::move(callback), {normalized.error(), std::nullopt});
    if (init_error_) return fail(std::move(callback), {*init_error_, std::nullopt});
    if (state_->cancelled) {
      return fail(std::move(callback), internal::CancelledError(Fqdn(*normalized), type));
    }
    auto query = dns::BuildQuery(0, *normalized, type, /*dnssec_ok=*/true);
    if (!query) return fail(std::move(callback), {query.error(), std::nullopt});

    auto owned = std::make_unique<Pending>();
    Pending* p = owned.get();
    p->name = Fqdn(*normalized);
    p->type = type;
    p->callback = std::move(callback);
    p->state = state_.get();
    p->id = state_->next_id++;
    p->timer.emplace(executor_);
    state_->pending.emplace(p->id, std::move(owned));
    p->timer->expires_at(deadline);
    p->timer->async_wait([weak = std::weak_ptr<State>(state_), id = p->id](const auto& ec) {
      auto state = weak.lock();
      if (ec || !state) return;
      auto it = state->pending.find(id);
      if (it == state->pending.end()) return;
      // c-ares cannot cancel one query: answer now, let c-ares finish it in the background.
      Pending* q = it->second.get();
      state->Finish(q, tl::unexpected(internal::TimeoutError(q->name, q->type, Since(q->start))));
    });
    // May call OnAresResult synchronously (e.g. no usable server); Finish posts, so that is safe.
    ares_send(state_->channel, query->data(), static_cast<int>(query->size()), &OnAresResult, p);
    state_->ArmTimer();
  }

  void Cancel() override {
    if (state_->cancelled) return;
    state_->cancelled = true;
    for (auto& [id, owned] : state_->pending) {
      Pending* p = owned.get();
      state_->Finish(p, tl::unexpected(internal::CancelledError(p->name, p->type)));
    }
    if (state_->channel) ares_cancel(state_->channel);  // c-ares lets go of every Pending
    state_->timer.cancel();
  }

 private:
  asio::any_io_executor executor_;
  std::shared_ptr<State> state_;
  std::optional<Error> init_error_;
};

}  // namespace

Result<std::string> CaresResolver::CanonicalServer(std::string_view server) {
  std::string host(server);
  std::string port = "53";
  auto bad = [&](std::string why) {
    return Fail(ProblemType::kMalformed, "bad resolver address \"" + std::string(server) +
                                             "\": " + why);
  };
  if (server.starts_with('[')) {
    auto close = server.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    host = std::string(server.substr(1, close - 1));
    auto rest = server.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("expected ':' after ']'");
      port = std::string(rest.substr(1));
    }
  } else if (std::count(server.begin(), server.end(), ':') == 1) {
    auto colon = server.find(':');
    host = std::string(server.substr(0, colon));
    port = std::string(server.substr(colon + 1));
  }
  unsigned port_value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), port_value);
  if (ec != std::errc() || ptr != port.data() + port.size() || port_value == 0 ||
      port_value > 65535) {
    return bad("port must be 1..65535");
  }
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return host + ":" + port;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return "[" + host + "]:" + port;
  return bad("not an IP address");
}

Result<std::unique_ptr<CaresResolver>> CaresResolver::Create(asio::any_io_executor executor,
                                                              StubConfig config) {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  auto server = CanonicalServer(config.server);
  if (!server) return tl::unexpected(server.error());
  if (config.attempt_timeout_ms <= 0 || config.tries <= 0) {
    return Fail(ProblemType::kMalformed, "stub resolver timeout and tries must be positive");
  }
  return std::unique_ptr<CaresResolver>(
      new CaresResolver(std::move(executor), std::move(config), std::move(*server)));
}

CaresResolver::CaresResolver(asio::any_io_executor executor, StubConfig config,
                             std::string server)
    : executor_(std::move(executor)),
      config_(std::move(config)),
      server_(std::move(server)),
      pool_(std::make_shared<ChannelPool>()) {}

CaresResolver::~CaresResolver() = default;

std::unique_ptr<Session> CaresResolver::NewSession() {
  return std::make_unique<CaresSession>(executor_, config_, server_, pool_);
}

uint64_t CaresResolver::channels_reused() const { return pool_->reused(); }

std::string CaresResolver::Describe() const {
  return "stub(" + server_ + (config_.require_ad ? ", require-ad)" : ")");
}

}  // namespace mpic::resolver
