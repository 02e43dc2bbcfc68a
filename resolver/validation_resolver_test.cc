// ValidationResolver over a fake base resolver: one base session per scope (created by the
// first lookup), never shared between scopes, and the resolver.h callback contract for views
// (on the executor, exactly once, also on cancel and destroy).
#include "resolver/validation_resolver.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>

#include "resolver/internal/answer.h"

namespace mpic::resolver {
namespace {

// A base resolver whose lookups complete only when the test says so. Counts what it made.
class FakeResolver final : public Resolver {
 public:
  struct Lookup {
    std::string name;
    uint16_t type;
    LookupCallback callback;
  };
  struct SessionRecord {
    int id = 0;
    std::vector<Lookup> lookups;  // a lookup's callback is empty once it completed
    bool cancelled = false;
    bool destroyed = false;
  };

  explicit FakeResolver(asio::any_io_executor executor) : executor_(std::move(executor)) {}

  class FakeSession final : public Session {
   public:
    FakeSession(FakeResolver* owner, SessionRecord* record) : owner_(owner), record_(record) {}
    ~FakeSession() override {
      Cancel();
      record_->destroyed = true;
    }
    void Lookup(std::string_view name, uint16_t type, Deadline, LookupCallback cb) override {
      EXPECT_FALSE(record_->cancelled) << "lookup on a cancelled base session";
      record_->lookups.push_back({std::string(name), type, std::move(cb)});
    }
    void Cancel() override {
      record_->cancelled = true;
      for (auto& l : record_->lookups) {
        if (!l.callback) continue;
        asio::post(owner_->executor_, [cb = std::move(l.callback), n = l.name, t = l.type] {
          cb(tl::unexpected(internal::CancelledError(n, t)));
        });
        l.callback = nullptr;
      }
    }

   private:
    FakeResolver* owner_;
    SessionRecord* record_;
  };

  std::unique_ptr<Session> NewSession() override {
    auto& record = records_.emplace_back(std::make_unique<SessionRecord>());
    record->id = static_cast<int>(records_.size());
    return std::make_unique<FakeSession>(this, record.get());
  }
  std::string Describe() const override { return "fake"; }

  // Completes lookup `index` of session `session` (0-based) with one TXT record `text`.
  void Answer(size_t session, size_t index, const std::string& text) {
    auto& l = records_.at(session)->lookups.at(index);
    ASSERT_TRUE(l.callback) << "already completed";
    resolver::Answer a;
    a.name = l.name;
    a.type = l.type;
    a.records.push_back(dns::Record{l.name, l.type, 1, 60, {}, text});
    asio::post(executor_, [cb = std::move(l.callback), a = std::move(a)]() mutable {
      cb(std::move(a));
    });
    l.callback = nullptr;
  }

  size_t sessions() const { return records_.size(); }
  SessionRecord& record(size_t i) { return *records_.at(i); }

 private:
  asio::any_io_executor executor_;
  std::vector<std::unique_ptr<SessionRecord>> records_;
};

constexpr auto kFar = std::chrono::hours(1);

// Collects each callback's outcome, counting calls per slot.
struct Outcomes {
  std::map<int, std::vector<LookupResult>> by_slot;
  LookupCallback Slot(int slot) {
    return [this, slot](LookupResult r) { by_slot[slot].push_back(std::move(r)); };
  }
  int Calls(int slot) const {
    auto it = by_slot.find(slot);
    return it == by_slot.end() ? 0 : static_cast<int>(it->second.size());
  }
  bool Cancelled(int slot) const {
    const auto& r = by_slot.at(slot).at(0);
    return !r && r.error().error.detail.find("cancelled") != std::string::npos;
  }
  std::string Text(int slot) const {
    const auto& r = by_slot.at(slot).at(0);
    return r && !r->records.empty() ? r->records[0].rdata_text : "<error>";
  }
};

class ValidationResolverTest : public ::testing::Test {
 protected:
  void Run() {
    io_.restart();
    io_.poll();
  }
  asio::io_context io_;
  FakeResolver base_{io_.get_executor()};
  Outcomes out_;
};

TEST_F(ValidationResolverTest, OneBaseSessionPerScopeCreatedByTheFirstLookup) {
  ValidationResolver scope(io_.get_executor(), base_);
  auto a = scope.NewSession();
  auto aaaa = scope.NewSession();
  auto caa = scope.NewSession();
  EXPECT_EQ(base_.sessions(), 0u);  // no lookup yet: no context
  EXPECT_EQ(scope.base_sessions(), 0u);
  const Deadline deadline = Clock::now() + kFar;
  a->Lookup("www.example.", dns::kA, deadline, out_.Slot(1));
  aaaa->Lookup("www.example.", dns::kAaaa, deadline, out_.Slot(2));
  caa->Lookup("www.example.", dns::kCaa, deadline, out_.Slot(3));
  caa->Lookup("example.", dns::kCaa, deadline, out_.Slot(4));
  ASSERT_EQ(base_.sessions(), 1u);
  EXPECT_EQ(scope.base_sessions(), 1u);
  ASSERT_EQ(base_.record(0).lookups.size(), 4u);

  // Answers in another order than asked go to the lookup they belong to.
  base_.Answer(0, 3, "four");
  base_.Answer(0, 0, "one");
  base_.Answer(0, 2, "three");
  base_.Answer(0, 1, "two");
  EXPECT_EQ(out_.Calls(1), 0);  // never inside the base's call: on the executor
  Run();
  for (int slot = 1; slot <= 4; ++slot) EXPECT_EQ(out_.Calls(slot), 1) << slot;
  EXPECT_EQ(out_.Text(1), "one");
  EXPECT_EQ(out_.Text(2), "two");
  EXPECT_EQ(out_.Text(3), "three");
  EXPECT_EQ(out_.Text(4), "four");
  EXPECT_EQ(base_.sessions(), 1u);
  EXPECT_EQ(scope.Describe(), "per-validation(fake)");
}

TEST_F(ValidationResolverTest, TwoScopesNeverShare) {
  ValidationResolver first(io_.get_executor(), base_);
  ValidationResolver second(io_.get_executor(), base_);
  const Deadline deadline = Clock::now() + kFar;
  first.NewSession()->Lookup("a.example.", dns::kA, deadline, out_.Slot(1));
  second.NewSession()->Lookup("a.example.", dns::kA, deadline, out_.Slot(2));
  first.NewSession()->Lookup("b.example.", dns::kA, deadline, out_.Slot(3));
  ASSERT_EQ(base_.sessions(), 2u);
  EXPECT_EQ(first.base_sessions(), 1u);
  EXPECT_EQ(second.base_sessions(), 1u);
  // Each scope's lookups went to its own base session only.
  ASSERT_EQ(base_.record(0).lookups.size(), 2u);
  ASSERT_EQ(base_.record(1).lookups.size(), 1u);
  EXPECT_EQ(base_.record(0).lookups[1].name, "b.example.");
  // The views above were temporaries: their lookups were cancelled when they ended, and the
  // base sessions stay with their scopes.
  Run();
  EXPECT_TRUE(out_.Cancelled(1));
  EXPECT_TRUE(out_.Cancelled(2));
  EXPECT_FALSE(base_.record(0).destroyed);
  EXPECT_FALSE(base_.record(0).cancelled);
}

TEST_F(ValidationResolverTest, ViewCancelFailsOnlyThatViewsLookups) {
  ValidationResolver scope(io_.get_executor(), base_);
  auto a = scope.NewSession();
  auto b = scope.NewSession();
  const Deadline deadline = Clock::now() + kFar;
  a->Lookup("a.example.", dns::kA, deadline, out_.Slot(1));
  a->Lookup("a.example.", dns::kAaaa, deadline, out_.Slot(2));
  b->Lookup("b.example.", dns::kA, deadline, out_.Slot(3));
  a->Cancel();
  EXPECT_EQ(out_.Calls(1), 0);  // posted, not run inside Cancel
  Run();
  EXPECT_TRUE(out_.Cancelled(1));
  EXPECT_TRUE(out_.Cancelled(2));
  EXPECT_EQ(out_.Calls(3), 0);
  EXPECT_FALSE(base_.record(0).cancelled);  // the shared base session goes on

  // The cancelled lookups' late answers are dropped; the other view's answer arrives.
  base_.Answer(0, 0, "late");
  base_.Answer(0, 2, "b");
  Run();
  EXPECT_EQ(out_.Calls(1), 1);
  EXPECT_EQ(out_.Calls(3), 1);
  EXPECT_EQ(out_.Text(3), "b");

  // A cancelled view refuses new lookups; a new view of the scope still works.
  a->Lookup("a.example.", dns::kTxt, deadline, out_.Slot(4));
  scope.NewSession()->Lookup("c.example.", dns::kTxt, deadline, out_.Slot(5));
  Run();
  EXPECT_TRUE(out_.Cancelled(4));
  EXPECT_EQ(base_.record(0).lookups.size(), 4u);  // slot 4 never reached the base
  EXPECT_EQ(base_.sessions(), 1u);
}

TEST_F(ValidationResolverTest, DestroyedViewFailsItsLookupsExactlyOnce) {
  ValidationResolver scope(io_.get_executor(), base_);
  auto keep = scope.NewSession();
  {
    auto gone = scope.NewSession();
    gone->Lookup("a.example.", dns::kA, Clock::now() + kFar, out_.Slot(1));
  }
  keep->Lookup("b.example.", dns::kA, Clock::now() + kFar, out_.Slot(2));
  base_.Answer(0, 0, "late");
  base_.Answer(0, 1, "b");
  Run();
  EXPECT_EQ(out_.Calls(1), 1);
  EXPECT_TRUE(out_.Cancelled(1));
  EXPECT_EQ(out_.Text(2), "b");
}

TEST_F(ValidationResolverTest, CancelAllFailsEverythingAndRefusesLaterLookups) {
  ValidationResolver scope(io_.get_executor(), base_);
  auto a = scope.NewSession();
  auto b = scope.NewSession();
  const Deadline deadline = Clock::now() + kFar;
  a->Lookup("a.example.", dns::kA, deadline, out_.Slot(1));
  b->Lookup("b.example.", dns::kA, deadline, out_.Slot(2));
  scope.CancelAll();
  EXPECT_TRUE(base_.record(0).cancelled);
  EXPECT_TRUE(base_.record(0).destroyed);  // the context is freed at once
  EXPECT_EQ(out_.Calls(1), 0);
  Run();
  EXPECT_EQ(out_.Calls(1), 1);
  EXPECT_EQ(out_.Calls(2), 1);
  EXPECT_TRUE(out_.Cancelled(1));
  EXPECT_TRUE(out_.Cancelled(2));

  a->Lookup("a.example.", dns::kTxt, deadline, out_.Slot(3));
  scope.NewSession()->Lookup("c.example.", dns::kA, deadline, out_.Slot(4));
  Run();
  EXPECT_TRUE(out_.Cancelled(3));
  EXPECT_TRUE(out_.Cancelled(4));
  EXPECT_EQ(base_.sessions(), 1u);  // no second base session after CancelAll
}

TEST_F(ValidationResolverTest, BaseSessionDiesWithTheLastHolder) {
  auto scope = std::make_unique<ValidationResolver>(io_.get_executor(), base_);
  auto view = scope->NewSession();
  view->Lookup("a.example.", dns::kA, Clock::now() + kFar, out_.Slot(1));
  scope.reset();
  EXPECT_FALSE(base_.record(0).destroyed);  // the view still holds it
  base_.Answer(0, 0, "a");
  Run();
  EXPECT_EQ(out_.Text(1), "a");
  view->Lookup("b.example.", dns::kA, Clock::now() + kFar, out_.Slot(2));
  view.reset();
  EXPECT_TRUE(base_.record(0).destroyed);
  Run();
  EXPECT_EQ(out_.Calls(2), 1);
  EXPECT_TRUE(out_.Cancelled(2));
}

// A callback that ends its own view and the scope (a validation that decides on its first
// answer) must not touch freed state; the other view's lookup is failed once.
TEST_F(ValidationResolverTest, CallbackMayEndItsViewAndTheScope) {
  auto scope = std::make_unique<ValidationResolver>(io_.get_executor(), base_);
  std::unique_ptr<Session> first = scope->NewSession();
  std::unique_ptr<Session> second = scope->NewSession();
  int calls = 0;
  first->Lookup("a.example.", dns::kA, Clock::now() + kFar, [&](LookupResult r) {
    ++calls;
    EXPECT_TRUE(r);
    first.reset();
    second.reset();
    scope.reset();
  });
  second->Lookup("b.example.", dns::kA, Clock::now() + kFar, out_.Slot(2));
  base_.Answer(0, 0, "a");
  Run();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(out_.Calls(2), 1);
  EXPECT_TRUE(out_.Cancelled(2));
  EXPECT_TRUE(base_.record(0).destroyed);
}

}  // namespace
}  // namespace mpic::resolver
