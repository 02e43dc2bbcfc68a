#include "resolver/unbound_resolver.h"

#include <unbound-event.h>
#include <unbound.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <optional>

#include "common/dns_name.h"
#include "resolver/internal/answer.h"
#include "resolver/internal/ub_event_asio.h"

namespace mpic::resolver {
namespace {

struct UbCtxDeleter {
  void operator()(ub_ctx* ctx) const { ub_ctx_delete(ctx); }
};
using UbCtxPtr = std::unique_ptr<ub_ctx, UbCtxDeleter>;

// libunbound logs through a FILE*; with val-log-level 2 (needed for why_bogus) it would write
// to stderr. Reasons reach us in ub_result instead.
FILE* DevNull() {
  static FILE* f = std::fopen("/dev/null", "w");
  return f;
}

Error UbError(std::string_view what, int code) {
  return Error{ProblemType::kServerInternal,
               "libunbound " + std::string(what) + ": " + ub_strerror(code)};
}

enum class ContextKind {
  kSync,          // ub_resolve only (the configuration probe)
  kWorkerThread,  // ub_ctx_async: libunbound starts a thread at the first lookup
  kEvent,         // ub_ctx_create_ub_event: runs on our executor
};

Result<UbCtxPtr> MakeContext(const UnboundConfig& config, ContextKind kind,
                             internal::UbEventBase* event_base) {
  UbCtxPtr ctx(kind == ContextKind::kEvent ? ub_ctx_create_ub_event(event_base->get())
                                           : ub_ctx_create());
  if (!ctx) return Fail(ProblemType::kServerInternal, "libunbound: cannot create a context");
  // ub_ctx_async must be the first call, or libunbound forks instead of threading.
  if (kind == ContextKind::kWorkerThread) {
    if (int r = ub_ctx_async(ctx.get(), 1); r != 0) return Fail(UbError("async", r));
  }
  ub_ctx_debugout(ctx.get(), DevNull());
  const std::pair<const char*, std::string> options[] = {
      {"root-hints:", config.root_hints_file},
      {"do-not-query-localhost:", config.allow_loopback_servers ? "no" : "yes"},
      {"do-ip6:", config.use_ipv6 ? "yes" : "no"},
      {"val-log-level:", "2"},  // fills ub_result::why_bogus
      {"verbosity:", "0"},
      // Strict validation defaults, spelled out: stripped signatures and DS denial are bogus.
      {"harden-dnssec-stripped:", "yes"},
      {"harden-below-nxdomain:", "yes"},
      // A context lives for one validation: small caches and port tables make it cheap to
      // create (the defaults size them for a long-lived server).
      {"msg-cache-size:", "256k"},
      {"rrset-cache-size:", "256k"},
      {"key-cache-size:", "256k"},
      {"neg-cache-size:", "64k"},
      {"infra-cache-numhosts:", "128"},
      {"msg-cache-slabs:", "1"},
      {"rrset-cache-slabs:", "1"},
      {"key-cache-slabs:", "1"},
      {"infra-cache-slabs:", "1"},
      {"outgoing-range:", "64"},
      {"num-queries-per-thread:", "32"},
  };
  for (const auto& [name, value] : options) {
    if (int r = ub_ctx_set_option(ctx.get(), name, value.c_str()); r != 0) {
      return Fail(UbError(std::string("option ") + name + " " + value, r));
    }
  }
  if (int r = ub_ctx_add_ta_file(ctx.get(), config.trust_anchor_file.c_str()); r != 0) {
    return Fail(UbError("trust anchor " + config.trust_anchor_file, r));
  }
  return ctx;
}

struct Pending;

// Everything a session's asynchronous operations touch; kept alive by their handlers.
struct State : std::enable_shared_from_this<State> {
  State(asio::any_io_executor ex, std::shared_ptr<internal::UbEventBase> base, UbCtxPtr c)
      : event_base(std::move(base)), executor(std::move(ex)), ctx(std::move(c)) {}
  ~State() {
    // The fd belongs to libunbound; give it back before deleting the context.
    if (fd) fd->release();
  }

  bool event_driven() const { return event_base != nullptr; }

  void Arm();
  void Complete(uint64_t id, LookupResult result);
  void CancelAll();

  std::shared_ptr<internal::UbEventBase> event_base;  // null: worker thread; outlives ctx
  asio::any_io_executor executor;
  UbCtxPtr ctx;
  std::optional<asio::posix::stream_descriptor> fd;  // ub_fd, worker-thread contexts only
  bool waiting = false;
  bool cancelled = false;
  std::map<uint64_t, std::unique_ptr<Pending>> pending;
  uint64_t next_id = 1;
};

struct Pending {
  Pending(asio::any_io_executor ex, std::string n, uint16_t t, LookupCallback cb)
      : name(std::move(n)), type(t), callback(std::move(cb)), timer(std::move(ex)) {}

  std::string name;
  uint16_t type;
  LookupCallback callback;
  asio::steady_timer timer;
  Clock::time_point start = Clock::now();
  int async_id = 0;
  uint64_t id = 0;
  State* state = nullptr;
};

std::chrono::microseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

// `rcode_overrides`: whether `rcode` replaces the packet's (ub_result's rcode is the
// validator's conclusion; the event callback's is NOERROR whenever there is a packet).
LookupResult FromAnswer(const Pending& p, int rcode, bool rcode_overrides, DnssecStatus dnssec,
                        const char* why_bogus, const void* data, int len) {
  Answer answer;
  answer.name = p.name;
  answer.type = p.type;
  answer.rcode = static_cast<uint16_t>(rcode);
  answer.dnssec = dnssec;
  if (why_bogus) answer.why_bogus = why_bogus;
  if (answer.dnssec == DnssecStatus::kBogus && answer.why_bogus.empty()) {
    answer.why_bogus = "validation failed";
  }
  answer.elapsed = Since(p.start);
  std::span<const uint8_t> packet;
  if (data && len > 0) {
    packet = std::span(static_cast<const uint8_t*>(data), static_cast<size_t>(len));
  }
  if (auto st = internal::FillFromPacket(packet, &answer); !st) {
    return tl::unexpected(LookupError{st.error(), std::move(answer)});
  }
  if (rcode_overrides || packet.empty()) answer.rcode = static_cast<uint16_t>(rcode);
  return internal::Classify(std::move(answer));
}

LookupResult FromUbResult(const Pending& p, int err, ub_result* result) {
  if (err != 0) {
    return tl::unexpected(LookupError{
        Error{ProblemType::kDns, "resolving " + p.name + ": " + ub_strerror(err)}, std::nullopt});
  }
  const DnssecStatus dnssec = result->bogus    ? DnssecStatus::kBogus
                              : result->secure ? DnssecStatus::kSecure
                                               : DnssecStatus::kInsecure;
  return FromAnswer(p, result->rcode, /*rcode_overrides=*/true, dnssec, result->why_bogus,
                    result->answer_packet, result->answer_len);
}

void OnUbResult(void* data, int err, ub_result* result) {
  auto* p = static_cast<Pending*>(data);
  LookupResult r = FromUbResult(*p, err, result);
  if (result) ub_resolve_free(result);
  p->state->Complete(p->id, std::move(r));
}

// ub_event_callback_type: sec is 0 insecure (or unchecked), 1 bogus, 2 secure.
void OnUbEvent(void* data, int rcode, void* packet, int len, int sec, char* why_bogus,
               int /*was_ratelimited*/) {
  auto* p = static_cast<Pending*>(data);
  const DnssecStatus dnssec = sec == 1   ? DnssecStatus::kBogus
                              : sec == 2 ? DnssecStatus::kSecure
                                         : DnssecStatus::kInsecure;
  LookupResult r =
      FromAnswer(*p, rcode, /*rcode_overrides=*/rcode != 0, dnssec, why_bogus, packet, len);
  p->state->Complete(p->id, std::move(r));
}

void State::Arm() {
  if (event_driven() || waiting || pending.empty() || cancelled) return;
  waiting = true;
  fd->async_wait(asio::posix::stream_descriptor::wait_read,
                 [self = shared_from_this()](const boost::system::error_code& ec) {
                   self->waiting = false;
                   if (ec || self->cancelled) return;
                   // Runs our callbacks (OnUbResult) synchronously, on this thread.
                   ub_process(self->ctx.get());
                   self->Arm();
                 });
}

void State::Complete(uint64_t id, LookupResult result) {
  auto it = pending.find(id);
  if (it == pending.end()) return;
  std::unique_ptr<Pending> owned = std::move(it->second);
  pending.erase(it);
  owned->timer.cancel();
  // Never call user code from inside ub_process: the user may destroy the session.
  asio::post(executor, [cb = std::move(owned->callback), r = std::move(result)]() mutable {
    cb(std::move(r));
  });
}

void State::CancelAll() {
  cancelled = true;
  while (!pending.empty()) {
    Pending* p = pending.begin()->second.get();
    ub_cancel(ctx.get(), p->async_id);
    Complete(p->id, tl::unexpected(internal::CancelledError(p->name, p->type)));
  }
  if (fd) fd->cancel();
}

class UnboundSession final : public Session {
 public:
  UnboundSession(asio::any_io_executor executor, std::shared_ptr<internal::UbEventBase> base,
                 Result<UbCtxPtr> ctx)
      : executor_(executor), init_error_(ctx ? std::nullopt : std::optional(ctx.error())) {
    if (ctx) {
      state_ = std::make_shared<State>(std::move(executor), std::move(base), std::move(*ctx));
    }
  }
  ~UnboundSession() override { Cancel(); }

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
    if (!state_ || state_->cancelled) {
      return fail(std::move(callback), internal::CancelledError(Fqdn(*normalized), type));
    }
    if (!state_->event_driven() && !state_->fd) {
      state_->fd.emplace(state_->executor, ub_fd(state_->ctx.get()));
    }
    auto owned = std::make_unique<Pending>(executor_, Fqdn(*normalized), type,
                                           std::move(callback));
    Pending* p = owned.get();
    p->state = state_.get();
    p->id = state_->next_id++;
    const uint64_t id = p->id;
    // Registered first: an event context may answer inside ub_resolve_event (local zones).
    state_->pending.emplace(id, std::move(owned));
    int r = state_->event_driven()
                ? ub_resolve_event(state_->ctx.get(), p->name.c_str(), type, 1 /* IN */, p,
                                   &OnUbEvent, &p->async_id)
                : ub_resolve_async(state_->ctx.get(), p->name.c_str(), type, 1 /* IN */, p,
                                   &OnUbResult, &p->async_id);
    if (r != 0) {
      auto it = state_->pending.find(id);
      LookupCallback cb = std::move(it->second->callback);
      std::string what = "resolve " + it->second->name;
      state_->pending.erase(it);
      return fail(std::move(cb), {UbError(what, r), std::nullopt});
    }
    if (!state_->pending.count(id)) return;  // answered already
    p->timer.expires_at(deadline);
    p->timer.async_wait([weak = std::weak_ptr<State>(state_), id = p->id](const auto& ec) {
      if (ec) return;
      auto state = weak.lock();
      if (!state) return;
      auto it = state->pending.find(id);
      if (it == state->pending.end()) return;
      Pending* timed_out = it->second.get();
      ub_cancel(state->ctx.get(), timed_out->async_id);
      auto timeout = internal::TimeoutError(timed_out->name, timed_out->type, Since(timed_out->start));
      state->Complete(id, tl::unexpected(std::move(timeout)));
    });
    state_->Arm();
  }

  void Cancel() override {
    if (state_) state_->CancelAll();
  }

 private:
  asio::any_io_executor executor_;
  std::optional<Error> init_error_;
  std::shared_ptr<State> state_;
};

}  // namespace

Result<std::unique_ptr<UnboundResolver>> UnboundResolver::Create(asio::any_io_executor executor,
                                                                  UnboundConfig config) {
  for (const auto* path : {&config.root_hints_file, &config.trust_anchor_file}) {
    if (access(path->c_str(), R_OK) != 0) {
      return Fail(ProblemType::kServerInternal, "cannot read " + *path);
    }
  }
  // Finalize one synchronous context: "localhost." is answered from unbound's built-in local
  // zone, so this parses the root hints and trust anchor without sending a packet.
  auto probe = MakeContext(config, ContextKind::kSync, nullptr);
  if (!probe) return tl::unexpected(probe.error());
  ub_result* result = nullptr;
  int r = ub_resolve(probe->get(), "localhost.", dns::kA, 1, &result);
  if (result) ub_resolve_free(result);
  if (r != 0) {
    return Fail(ProblemType::kServerInternal,
                std::string("resolver configuration rejected (root hints ") +
                    config.root_hints_file + ", trust anchor " + config.trust_anchor_file +
                    "): " + ub_strerror(r));
  }
  return std::unique_ptr<UnboundResolver>(
      new UnboundResolver(std::move(executor), std::move(config)));
}

UnboundResolver::UnboundResolver(asio::any_io_executor executor, UnboundConfig config)
    : executor_(std::move(executor)), config_(std::move(config)) {
  if (!config_.worker_thread) event_base_ = std::make_shared<internal::UbEventBase>(executor_);
}

UnboundResolver::~UnboundResolver() = default;

std::unique_ptr<Session> UnboundResolver::NewSession() {
  auto ctx = config_.worker_thread ? MakeContext(config_, ContextKind::kWorkerThread, nullptr)
                                   : MakeContext(config_, ContextKind::kEvent, event_base_.get());
  return std::make_unique<UnboundSession>(executor_, event_base_, std::move(ctx));
}

std::string UnboundResolver::Describe() const {
  return "unbound(root-hints=" + config_.root_hints_file +
         ", trust-anchor=" + config_.trust_anchor_file + ")";
}

}  // namespace mpic::resolver
