// The perspective engine with a scripted resolver: results, cancellation, the watchdog and the
// metrics a run reports (the primary's own check reports into the same families as a remote's).
#include "perspective/engine.h"

#include <gtest/gtest.h>

#include "checks/key_authorization.h"
#include "perspective/metrics.h"

namespace mpic::perspective {
namespace {

constexpr std::string_view kKeyAuthorization =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

// Answers TXT lookups with one record holding `txt`, or never (until cancelled).
class ScriptedResolver final : public resolver::Resolver {
 public:
  ScriptedResolver(asio::any_io_executor executor, std::optional<std::string> txt)
      : executor_(std::move(executor)), txt_(std::move(txt)) {}

  class Session final : public resolver::Session {
   public:
    explicit Session(ScriptedResolver& owner) : owner_(owner) {}
    void Lookup(std::string_view name, uint16_t type, resolver::Deadline,
                resolver::LookupCallback callback) override {
      ++owner_.lookups;
      if (!owner_.txt_) {
        pending_.push_back(std::move(callback));
        return;
      }
      resolver::Answer answer;
      answer.name = std::string(name);
      answer.type = type;
      answer.canonical_name = answer.name;
      dns::Record rr;
      rr.name = answer.name;
      rr.type = dns::kTxt;
      rr.rdata.push_back(static_cast<uint8_t>(owner_.txt_->size()));
      rr.rdata.insert(rr.rdata.end(), owner_.txt_->begin(), owner_.txt_->end());
      answer.records.push_back(rr);
      asio::post(owner_.executor_, [callback = std::move(callback), answer = std::move(answer)] {
        callback(answer);
      });
    }
    void Cancel() override {
      ++owner_.cancels;
      for (auto& callback : pending_) {
        asio::post(owner_.executor_, [callback = std::move(callback)] {
          callback(tl::unexpected(resolver::LookupError{Error{ProblemType::kDns, "cancelled"},
                                                        std::nullopt}));
        });
      }
      pending_.clear();
    }

   private:
    ScriptedResolver& owner_;
    std::vector<resolver::LookupCallback> pending_;
  };

  std::unique_ptr<resolver::Session> NewSession() override {
    ++sessions;
    return std::make_unique<Session>(*this);
  }
  std::string Describe() const override { return "scripted"; }

  int sessions = 0;
  int lookups = 0;
  int cancels = 0;

 private:
  asio::any_io_executor executor_;
  std::optional<std::string> txt_;
};

class NoDialer final : public checks::Dialer {
 public:
  void Connect(const asio::ip::address&, uint16_t, checks::Deadline,
               ConnectCallback callback) override {
    callback(Fail(ProblemType::kConnection, "no network in this test"));
  }
  const checks::AddressPolicy& policy() const override { return policy_; }

 private:
  checks::AddressPolicy policy_;
};

CheckPlan Dns01Plan(checks::Deadline deadline) {
  CheckPlan plan;
  plan.request_id = "r1";
  checks::CheckRequest dcv;
  dcv.method = checks::Method::kDns01;
  dcv.identifier = "example.com";
  dcv.key_authorization = std::string(kKeyAuthorization);
  dcv.deadline = deadline;
  plan.dcv = dcv;
  return plan;
}

struct Fixture {
  explicit Fixture(std::optional<std::string> txt)
      : resolver(io.get_executor(), std::move(txt)),
        metrics(registry, "primary"),
        engine(resolver, dialer, clock, metrics) {}

  void Drain() {
    for (int i = 0; i < 1000 && io.poll() > 0; ++i) {
    }
    io.restart();
  }

  asio::io_context io;
  ScriptedResolver resolver;
  NoDialer dialer;
  checks::TimeSource clock;
  prometheus::Registry registry;
  CheckMetrics metrics;
  Engine engine;
};

TEST(EngineTest, RunsThePlanAndReportsIntoTheGivenMetrics) {
  Fixture f(checks::Dns01TxtValue(kKeyAuthorization));
  std::vector<PlanResult> results;
  auto run = f.engine.Start(f.io.get_executor(),
                            Dns01Plan(checks::Clock::now() + std::chrono::seconds(5)),
                            [&](PlanResult r) { results.push_back(std::move(r)); });
  f.Drain();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].end, PlanResult::End::kDone);
  ASSERT_TRUE(results[0].dcv.has_value());
  EXPECT_TRUE(results[0].dcv->valid);
  EXPECT_FALSE(results[0].caa.has_value());
  EXPECT_EQ(f.resolver.sessions, 1);
  const std::string text = Serialize(f.registry);
  EXPECT_NE(text.find("mpic_checks_total{method=\"dns-01\",outcome=\"valid\",role=\"primary\"} 1"),
            std::string::npos)
      << text;
}

TEST(EngineTest, CancelEndsTheRunAtOnceAndCancelsItsLookups) {
  Fixture f(std::nullopt);  // the resolver never answers
  std::vector<PlanResult> results;
  auto run = f.engine.Start(f.io.get_executor(),
                            Dns01Plan(checks::Clock::now() + std::chrono::seconds(30)),
                            [&](PlanResult r) { results.push_back(std::move(r)); });
  f.Drain();
  EXPECT_TRUE(results.empty());
  EXPECT_EQ(f.resolver.lookups, 1);
  run->Cancel();
  f.Drain();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].end, PlanResult::End::kCancelled);
  EXPECT_FALSE(results[0].dcv.has_value());
  EXPECT_EQ(f.resolver.cancels, 1);
  run->Cancel();  // idempotent: no second callback
  f.Drain();
  EXPECT_EQ(results.size(), 1u);
}

TEST(EngineTest, CancelBeforeItBeganStartsNothing) {
  Fixture f(std::nullopt);
  int calls = 0;
  auto run = f.engine.Start(f.io.get_executor(),
                            Dns01Plan(checks::Clock::now() + std::chrono::seconds(30)),
                            [&](PlanResult r) {
                              ++calls;
                              EXPECT_EQ(r.end, PlanResult::End::kCancelled);
                            });
  run->Cancel();  // Begin is still queued on the executor
  f.Drain();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(f.resolver.lookups, 0);
}

TEST(EngineTest, WatchdogEndsARunWhoseCheckOverranItsDeadline) {
  Fixture f(std::nullopt);  // never answers, not even at the deadline (a broken resolver)
  std::vector<PlanResult> results;
  // A deadline long past: the watchdog (deadline + slack) is already due.
  auto run = f.engine.Start(f.io.get_executor(),
                            Dns01Plan(checks::Clock::now() - kWatchdogSlack * 2),
                            [&](PlanResult r) { results.push_back(std::move(r)); });
  for (int i = 0; i < 100 && results.empty(); ++i) {
    f.io.run_for(std::chrono::milliseconds(10));
    f.io.restart();
  }
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].end, PlanResult::End::kOverran);
  EXPECT_EQ(f.resolver.cancels, 1);
}

TEST(EngineTest, AnEmptyPlanIsDoneAtOnce) {
  Fixture f(std::nullopt);
  int calls = 0;
  auto run = f.engine.Start(f.io.get_executor(), CheckPlan{}, [&](PlanResult r) {
    ++calls;
    EXPECT_EQ(r.end, PlanResult::End::kDone);
  });
  f.Drain();
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace mpic::perspective
