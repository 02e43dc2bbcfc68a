#include "resolver/validation_resolver.h"

#include <map>
#include <utility>

#include "resolver/internal/answer.h"

namespace mpic::resolver {
namespace internal {

// Held by the scope and by every view: the base session ends with the last of them.
struct ValidationShared {
  ValidationShared(asio::any_io_executor ex, Resolver& b) : executor(std::move(ex)), base(&b) {}

  asio::any_io_executor executor;
  Resolver* base;
  std::unique_ptr<Session> session;  // created by the first lookup of any view
  bool cancelled = false;
  uint64_t base_sessions = 0;
};

}  // namespace internal
namespace {

struct PendingLookup {
  std::string name;
  uint16_t type;
  LookupCallback callback;
};

// The lookups one view has in flight. Base callbacks find their entry here by id; an entry
// already gone (the view was cancelled or destroyed) means the result is dropped, so every
// callback runs exactly once.
struct ViewState {
  std::map<uint64_t, PendingLookup> pending;
  uint64_t next_id = 1;
};

void PostCancelled(const asio::any_io_executor& executor, PendingLookup lookup) {
  asio::post(executor, [l = std::move(lookup)]() mutable {
    l.callback(tl::unexpected(internal::CancelledError(l.name, l.type)));
  });
}

class View final : public Session {
 public:
  explicit View(std::shared_ptr<internal::ValidationShared> shared)
      : shared_(std::move(shared)), state_(std::make_shared<ViewState>()) {}
  ~View() override { Cancel(); }

  void Lookup(std::string_view name, uint16_t type, Deadline deadline,
              LookupCallback callback) override {
    PendingLookup lookup{std::string(name), type, std::move(callback)};
    if (cancelled_ || shared_->cancelled) {
      return PostCancelled(shared_->executor, std::move(lookup));
    }
    if (!shared_->session) {
      shared_->session = shared_->base->NewSession();
      ++shared_->base_sessions;
    }
    const uint64_t id = state_->next_id++;
    state_->pending.emplace(id, std::move(lookup));
    // The base session calls back on its own executor; the caller is answered on the scope's
    // (inline when that is where we are, e.g. the same single-threaded io_context).
    shared_->session->Lookup(name, type, deadline,
                             [weak = std::weak_ptr<ViewState>(state_), id,
                              executor = shared_->executor](LookupResult r) {
                               auto state = weak.lock();
                               if (!state) return;  // the view ended: its callback ran already
                               auto it = state->pending.find(id);
                               if (it == state->pending.end()) return;
                               LookupCallback cb = std::move(it->second.callback);
                               state->pending.erase(it);
                               asio::dispatch(executor, [cb = std::move(cb),
                                                         r = std::move(r)]() mutable {
                                 cb(std::move(r));
                               });
                             });
  }

  void Cancel() override {
    cancelled_ = true;
    auto pending = std::exchange(state_->pending, {});
    for (auto& [id, lookup] : pending) PostCancelled(shared_->executor, std::move(lookup));
  }

 private:
  std::shared_ptr<internal::ValidationShared> shared_;
  std::shared_ptr<ViewState> state_;
  bool cancelled_ = false;
};

}  // namespace

ValidationResolver::ValidationResolver(asio::any_io_executor executor, Resolver& base)
    : shared_(std::make_shared<internal::ValidationShared>(std::move(executor), base)) {}

ValidationResolver::~ValidationResolver() = default;

std::unique_ptr<Session> ValidationResolver::NewSession() {
  return std::make_unique<View>(shared_);
}

std::string ValidationResolver::Describe() const {
  return "per-validation(" + shared_->base->Describe() + ")";
}

void ValidationResolver::CancelAll() {
  shared_->cancelled = true;
  // The base session fails its pending lookups as cancelled (posted); the views route each
  // to its caller. Ending it now frees the context before the scope ends.
  if (auto session = std::move(shared_->session)) session->Cancel();
}

uint64_t ValidationResolver::base_sessions() const { return shared_->base_sessions; }

}  // namespace mpic::resolver
