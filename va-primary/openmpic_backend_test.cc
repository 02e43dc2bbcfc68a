// The Open MPIC backend over the validation state machine, with the in-memory doubles on the
// fake clock: per-request cohort size and stricter quorum, attempts on disjoint cohorts with
// earlier attempts reported but never counted, cohort_for_single_attempt, monitoring mode, and
// the audit record of every attempt.
#include "va-primary/openmpic_backend.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "common/trace_context.h"
#include "quorum/selection.h"
#include "va-primary/rate_limit.h"
#include "va-primary/testing/fake_remote.h"
#include "va-primary/testing/fake_timers.h"

namespace mpic::va_primary {
namespace {

using std::chrono::milliseconds;
using testing::FakeRemote;
using testing::FakeRunner;
using testing::FakeTimers;

struct Outcome {
  bool done = false;
  Result<openmpic::BackendResult> result = Fail(ProblemType::kServerInternal, "not answered");
};

std::set<std::string> Names(const v1::ValidateResponse& response) {
  std::set<std::string> names;
  for (const auto& r : response.remotes()) names.insert(r.perspective().name());
  return names;
}

class OpenMpicBackendTest : public ::testing::Test {
 protected:
  OpenMpicBackendTest() {
    settings_.policy = *quorum::Policy::BaselineRequirements(quorum::Date{2026, 6, 15});
    settings_.phase = "2026-06-15";
    settings_.config.mutable_identity()->set_name("us-east-iad-1");
    settings_.config.mutable_identity()->set_rir(v1::ARIN);
    settings_.remote_timeout = milliseconds(5000);
    settings_.max_check = milliseconds(5000);
    settings_.selection_secret = "0123456789abcdef0123456789abcdef";
    settings_.straggler_grace = milliseconds(500);
    const struct {
      const char* name;
      v1::Rir rir;
      quorum::Rir q;
    } sites[] = {{"eu-fra-1", v1::RIPE_NCC, quorum::Rir::kRipeNcc},
                 {"eu-ams-1", v1::RIPE_NCC, quorum::Rir::kRipeNcc},
                 {"us-west-pdx-1", v1::ARIN, quorum::Rir::kArin},
                 {"us-west-sfo-1", v1::ARIN, quorum::Rir::kArin},
                 {"ap-sin-1", v1::APNIC, quorum::Rir::kApnic},
                 {"ap-syd-1", v1::APNIC, quorum::Rir::kApnic},
                 {"sa-gru-1", v1::LACNIC, quorum::Rir::kLacnic},
                 {"af-jnb-1", v1::AFRINIC, quorum::Rir::kAfrinic}};
    for (const auto& site : sites) {
      v1::RemoteEndpoint endpoint;
      endpoint.mutable_identity()->set_name(site.name);
      endpoint.mutable_identity()->set_rir(site.rir);
      endpoint.set_address("127.0.0.1:1");
      *settings_.config.add_remotes() = endpoint;
      settings_.remotes.push_back(quorum::Perspective{site.name, site.q, {0, 0}});
      remotes_.push_back(std::make_unique<FakeRemote>(io_.get_executor(), endpoint));
    }
    settings_.remotes_per_validation = 4;  // the BR 2026-06-15 minimum
    std::vector<RemoteClient*> clients;
    for (auto& r : remotes_) clients.push_back(r.get());
    env_.emplace(internal::Env{settings_, io_.get_executor(), own_, std::move(clients), timers_,
                               metrics_,
                               [this](std::string line, std::function<void(Status)> done) {
                                 audit_lines_.push_back(std::move(line));
                                 done(Status{});
                               },
                               outstanding_, nullptr});
    backend_.emplace(*env_);
  }

  static openmpic::BackendRequest Request(int perspectives, int quorum, int attempts = 1) {
    openmpic::BackendRequest r;
    r.validate.set_identifier("example.com");
    r.validate.set_method(v1::DNS_01);
    r.validate.set_key_authorization("token.thumbprint");
    r.validate.add_caa_issuer_domains("ca.example");
    r.orchestration.perspective_count = perspectives;
    r.orchestration.quorum_count = quorum;
    r.orchestration.max_attempts = attempts;
    r.trace_identifier = "trace-42";
    r.client = "api-key:ca-east";
    return r;
  }

  FakeRemote& Remote(const std::string& name) {
    for (auto& r : remotes_) {
      if (r->endpoint().identity().name() == name) return *r;
    }
    ADD_FAILURE() << "no remote " << name;
    return *remotes_.front();
  }

  std::vector<std::string> Cohort(int attempt, int count) {
    auto cohort = quorum::SelectCohort(settings_.selection_secret, "example.com", attempt,
                                       settings_.remotes, count);
    EXPECT_TRUE(cohort.has_value());
    std::vector<std::string> names;
    for (const auto& p : *cohort) names.push_back(p.name);
    return names;
  }

  // Runs the request to its answer; replies of the doubles and the grace timer on the fake clock.
  Outcome Run(const openmpic::BackendRequest& request) {
    auto outcome = std::make_shared<Outcome>();
    backend_->Validate(request, [outcome](Result<openmpic::BackendResult> result) {
      outcome->done = true;
      outcome->result = std::move(result);
    });
    for (int i = 0; i < 20 && !outcome->done; ++i) {
      for (int j = 0; j < 1000 && io_.poll() > 0; ++j) {
      }
      io_.restart();
      if (!outcome->done) timers_.Advance(milliseconds(500));
    }
    return *outcome;
  }

  nlohmann::json Audit(std::size_t i) const { return nlohmann::json::parse(audit_lines_.at(i)); }

  perspective::PrimarySettings settings_;
  FakeTimers timers_;
  asio::io_context io_;
  FakeRunner own_;
  std::vector<std::unique_ptr<FakeRemote>> remotes_;
  internal::PrimaryMetrics metrics_;
  internal::Outstanding outstanding_;
  std::vector<std::string> audit_lines_;
  std::optional<internal::Env> env_;
  std::optional<OpenMpicBackend> backend_;
};

TEST_F(OpenMpicBackendTest, OneAttemptCorroboratesAndIsAuditedWithTheApi) {
  Outcome out = Run(Request(4, 3));
  ASSERT_TRUE(out.done);
  ASSERT_TRUE(out.result.has_value()) << out.result.error().detail;
  EXPECT_EQ(out.result->final.response.decision(), v1::CORROBORATED);
  EXPECT_TRUE(out.result->earlier.empty());
  EXPECT_EQ(out.result->final.response.remotes_size(), 4);
  EXPECT_GT(out.result->final.finished_unix_ns, 0);
  ASSERT_EQ(audit_lines_.size(), 1u);
  const nlohmann::json record = Audit(0);
  EXPECT_EQ(record["decision"], "CORROBORATED");
  EXPECT_EQ(record["api"]["name"], "openmpic");
  EXPECT_EQ(record["api"]["trace_identifier"], "trace-42");
  EXPECT_EQ(record["api"]["client"], "api-key:ca-east");
  EXPECT_EQ(record["api"]["perspective_count"], 4);
  EXPECT_EQ(record["api"]["quorum_count"], 3);
  EXPECT_EQ(record["api"]["monitoring"], false);
}

TEST_F(OpenMpicBackendTest, MorePerspectivesThanConfigured) {
  Outcome out = Run(Request(6, 5));
  ASSERT_TRUE(out.result.has_value()) << out.result.error().detail;
  EXPECT_EQ(out.result->final.response.remotes_size(), 6);
  EXPECT_EQ(out.result->final.response.decision(), v1::CORROBORATED);
  EXPECT_EQ(Audit(0)["api"]["perspective_count"], 6);
}

TEST_F(OpenMpicBackendTest, AStricterQuorumIsEnforced) {
  const std::vector<std::string> cohort = Cohort(0, 4);
  Remote(cohort[0]).Set(FakeRemote::Behaviour::kInvalid);
  // The BR table lets one of four fail (3/4 corroborate)...
  Outcome policy = Run(Request(4, 3));
  ASSERT_TRUE(policy.result.has_value());
  EXPECT_EQ(policy.result->final.response.decision(), v1::CORROBORATED);
  // ...but the caller asked for all four.
  Outcome strict = Run(Request(4, 4));
  ASSERT_TRUE(strict.result.has_value());
  const v1::ValidateResponse& r = strict.result->final.response;
  EXPECT_EQ(r.decision(), v1::NOT_CORROBORATED);
  EXPECT_EQ(r.quorum(), "3/4");
  EXPECT_NE(r.problem().detail().find("requested quorum_count 4"), std::string::npos)
      << r.problem().detail();
  EXPECT_EQ(Audit(1)["decision"], "NOT_CORROBORATED");
  EXPECT_EQ(Audit(1)["api"]["quorum_count"], 4);
}

TEST_F(OpenMpicBackendTest, StricterQuorumWaitsForTheLastRemote) {
  // All corroborate: with quorum 4 the decision needs the fourth remote too, not just three.
  Outcome out = Run(Request(4, 4));
  ASSERT_TRUE(out.result.has_value());
  EXPECT_EQ(out.result->final.response.decision(), v1::CORROBORATED);
  EXPECT_EQ(out.result->final.response.decided_quorum(), "4/4");
}

TEST_F(OpenMpicBackendTest, RetryUsesADisjointCohortAndNeverCountsTheFirst) {
  const std::vector<std::string> first = Cohort(0, 4);
  for (const std::string& name : first) Remote(name).Set(FakeRemote::Behaviour::kInvalid);
  Outcome out = Run(Request(4, 3, 2));
  ASSERT_TRUE(out.result.has_value()) << out.result.error().detail;
  ASSERT_EQ(out.result->earlier.size(), 1u);
  const v1::ValidateResponse& earlier = out.result->earlier[0].response;
  const v1::ValidateResponse& final = out.result->final.response;
  EXPECT_EQ(earlier.decision(), v1::NOT_CORROBORATED);
  EXPECT_EQ(final.decision(), v1::CORROBORATED);
  EXPECT_EQ(Names(earlier), std::set<std::string>(first.begin(), first.end()));
  for (const std::string& name : Names(final)) EXPECT_EQ(Names(earlier).count(name), 0u) << name;
  EXPECT_EQ(final.quorum(), "4/4");  // only the second cohort counts
  ASSERT_EQ(audit_lines_.size(), 2u);
  EXPECT_EQ(Audit(0)["attempt"], 0);
  EXPECT_EQ(Audit(1)["attempt"], 1);
  EXPECT_EQ(Audit(1)["api"]["trace_identifier"], "trace-42");
}

TEST_F(OpenMpicBackendTest, StopsAtMaxAttempts) {
  for (auto& r : remotes_) r->Set(FakeRemote::Behaviour::kInvalid);
  Outcome out = Run(Request(4, 3, 2));
  ASSERT_TRUE(out.result.has_value());
  EXPECT_EQ(out.result->final.response.decision(), v1::NOT_CORROBORATED);
  EXPECT_EQ(out.result->earlier.size(), 1u);
  EXPECT_EQ(audit_lines_.size(), 2u);
  int calls = 0;
  for (auto& r : remotes_) calls += r->calls();
  EXPECT_EQ(calls, 8);  // two cohorts of four, each remote asked once
  for (auto& r : remotes_) EXPECT_EQ(r->calls(), 1) << r->endpoint().identity().name();
}

TEST_F(OpenMpicBackendTest, CohortForSingleAttempt) {
  openmpic::BackendRequest request = Request(4, 3);
  request.orchestration.cohort = 2;
  Outcome out = Run(request);
  ASSERT_TRUE(out.result.has_value());
  const std::vector<std::string> second = Cohort(1, 4);
  EXPECT_EQ(Names(out.result->final.response),
            std::set<std::string>(second.begin(), second.end()));
  EXPECT_TRUE(out.result->earlier.empty());
  EXPECT_EQ(Audit(0)["attempt"], 1);
}

TEST_F(OpenMpicBackendTest, MonitoringModeFollowsThePrimaryAndSaysSo) {
  for (auto& r : remotes_) r->Set(FakeRemote::Behaviour::kInvalid);
  openmpic::BackendRequest request = Request(4, 0);
  request.orchestration.monitoring = true;
  Outcome out = Run(request);
  ASSERT_TRUE(out.result.has_value());
  const v1::ValidateResponse& r = out.result->final.response;
  EXPECT_EQ(r.decision(), v1::CORROBORATED);  // the primary's own check passed
  EXPECT_FALSE(r.enforced());
  EXPECT_EQ(r.quorum(), "0/4");  // computed and logged all the same
  EXPECT_EQ(Audit(0)["api"]["monitoring"], true);
  EXPECT_EQ(Audit(0)["api"]["quorum_count"], 0);
  EXPECT_EQ(Audit(0)["enforced"], false);

  own_.Set(FakeRunner::Behaviour::kInvalid);  // never valid without the primary
  Outcome refused = Run(request);
  ASSERT_TRUE(refused.result.has_value());
  EXPECT_EQ(refused.result->final.response.decision(), v1::NOT_CORROBORATED);
}

TEST_F(OpenMpicBackendTest, BadRequestsAndShutdownFailClosed) {
  openmpic::BackendRequest bad = Request(4, 3);
  bad.validate.set_identifier("");
  Outcome malformed = Run(bad);
  ASSERT_TRUE(malformed.done);
  ASSERT_FALSE(malformed.result.has_value());
  EXPECT_EQ(malformed.result.error().type, ProblemType::kMalformed);

  openmpic::BackendRequest unresolved = Request(4, 0);  // quorum 0 without monitoring
  Outcome internal = Run(unresolved);
  ASSERT_FALSE(internal.result.has_value());
  EXPECT_EQ(internal.result.error().type, ProblemType::kServerInternal);

  backend_->Close();
  Outcome closed = Run(Request(4, 3));
  ASSERT_FALSE(closed.result.has_value());
  EXPECT_NE(closed.result.error().detail.find("shutting down"), std::string::npos);
  EXPECT_TRUE(audit_lines_.empty());
  EXPECT_TRUE(backend_->WaitIdle(std::chrono::steady_clock::now()));
}

TEST_F(OpenMpicBackendTest, InFlightRequestsAreWaitedForAtShutdown) {
  for (auto& r : remotes_) r->Set(FakeRemote::Behaviour::kHang);
  auto outcome = std::make_shared<Outcome>();
  backend_->Validate(Request(4, 3), [outcome](Result<openmpic::BackendResult> result) {
    outcome->done = true;
    outcome->result = std::move(result);
  });
  for (int j = 0; j < 1000 && io_.poll() > 0; ++j) {
  }
  io_.restart();
  backend_->Close();
  EXPECT_FALSE(outcome->done);
  EXPECT_FALSE(backend_->WaitIdle(std::chrono::steady_clock::now()));  // still in flight
  // The validation's own bound (watchdog, then grace) ends it: answered, recorded, idle.
  for (int i = 0; i < 40 && !outcome->done; ++i) {
    timers_.Advance(milliseconds(500));
    for (int j = 0; j < 1000 && io_.poll() > 0; ++j) {
    }
    io_.restart();
  }
  ASSERT_TRUE(outcome->done);
  ASSERT_TRUE(outcome->result.has_value());
  EXPECT_EQ(outcome->result->final.response.decision(), v1::NOT_CORROBORATED);
  EXPECT_EQ(audit_lines_.size(), 1u);
  EXPECT_TRUE(backend_->WaitIdle(std::chrono::steady_clock::now()));
}

// Issue 15: the caller's W3C traceparent reaches every remote of every attempt (a new
// parent-id per call) and the audit record; an absent one starts a new trace.
TEST_F(OpenMpicBackendTest, TraceContextIsCarriedToEveryRemoteAndAudited) {
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  openmpic::BackendRequest request = Request(4, 3);
  request.traceparent = {"00-" + trace_id + "-00f067aa0ba902b7-01"};
  request.tracestate = {"rojo=1"};
  Outcome out = Run(request);
  ASSERT_TRUE(out.result.has_value()) << out.result.error().detail;
  ASSERT_EQ(audit_lines_.size(), 1u);
  EXPECT_EQ(Audit(0)["trace_id"], trace_id);
  std::set<std::string> spans;
  for (const std::string& name : Cohort(0, 4)) {
    const CallTrace& t = Remote(name).last_trace();
    auto parsed = trace::ParseTraceparent(t.traceparent);
    ASSERT_TRUE(parsed.has_value()) << name << ": " << t.traceparent;
    EXPECT_EQ(parsed->trace_id, trace_id);
    EXPECT_NE(parsed->parent_id, "00f067aa0ba902b7");
    EXPECT_TRUE(parsed->sampled());
    EXPECT_EQ(t.tracestate, "rojo=1");
    spans.insert(parsed->parent_id);
  }
  EXPECT_EQ(spans.size(), 4u) << "one new span per remote call";

  // No (or an invalid) traceparent: a new trace, recorded and sent all the same.
  request.traceparent = {"00-" + trace_id + "-0000000000000000-01"};
  out = Run(request);
  ASSERT_TRUE(out.result.has_value());
  ASSERT_EQ(audit_lines_.size(), 2u);
  const std::string fresh = Audit(1)["trace_id"];
  EXPECT_EQ(fresh.size(), 32u);
  EXPECT_NE(fresh, trace_id);
  const CallTrace& t = Remote(Cohort(0, 4).front()).last_trace();
  EXPECT_EQ(trace::ParseTraceparent(t.traceparent)->trace_id, fresh);
  EXPECT_EQ(t.tracestate, "");  // dropped with the invalid traceparent
}

// Issue 15: the rate limits refuse before any attempt runs: no remote asked, no record.
TEST_F(OpenMpicBackendTest, RateLimitedRequestsRunNothing) {
  prometheus::Registry registry;
  perspective::RateLimits limits;
  limits.per_identifier = {1, 1};
  RateLimitGate gate(limits, registry);
  backend_.emplace(*env_, &gate);
  Outcome out = Run(Request(4, 3));
  ASSERT_TRUE(out.result.has_value()) << out.result.error().detail;
  int calls = 0;
  for (const auto& r : remotes_) calls += r->calls();
  EXPECT_EQ(calls, 4);
  out = Run(Request(4, 3));
  ASSERT_TRUE(out.done);
  ASSERT_FALSE(out.result.has_value());
  EXPECT_EQ(out.result.error().type, ProblemType::kRateLimited);
  EXPECT_NE(out.result.error().detail.find("per-identifier"), std::string::npos);
  int after = 0;
  for (const auto& r : remotes_) after += r->calls();
  EXPECT_EQ(after, calls);
  EXPECT_EQ(audit_lines_.size(), 1u);
  EXPECT_EQ(own_.runs(), 1);
}

// Issue 15, defect 4, for POST /mpic too: a request takes a max_in_flight slot from the same
// admission as gRPC calls and holds it for all its attempts; over the bound (queue full) it is
// refused before anything runs, and the slot is free again once the first one is answered.
TEST_F(OpenMpicBackendTest, RequestsTakeAnAdmissionSlot) {
  auto admission = Admission::Make(
      io_.get_executor(), {.max_in_flight = 1, .max_queued = 0, .max_wait = milliseconds(1)}, {});
  backend_.emplace(*env_, nullptr, admission);
  for (auto& r : remotes_) r->Set(FakeRemote::Behaviour::kHang);
  auto first = std::make_shared<Outcome>();
  backend_->Validate(Request(4, 3), [first](Result<openmpic::BackendResult> result) {
    first->done = true;
    first->result = std::move(result);
  });
  for (int j = 0; j < 1000 && io_.poll() > 0; ++j) {
  }
  io_.restart();
  EXPECT_EQ(admission->counts().in_flight, 1);
  Outcome busy = Run(Request(4, 3));
  ASSERT_TRUE(busy.done);
  ASSERT_FALSE(busy.result.has_value());
  EXPECT_EQ(busy.result.error().type, ProblemType::kUnavailable);
  EXPECT_NE(busy.result.error().detail.find("va-primary busy"), std::string::npos)
      << busy.result.error().detail;
  // The first one ends by its own bound (watchdog, grace): answered, recorded, slot released.
  for (int i = 0; i < 40 && !first->done; ++i) {
    timers_.Advance(milliseconds(500));
    for (int j = 0; j < 1000 && io_.poll() > 0; ++j) {
    }
    io_.restart();
  }
  ASSERT_TRUE(first->done);
  ASSERT_TRUE(first->result.has_value());
  EXPECT_EQ(audit_lines_.size(), 1u);  // the refused one left no record
  EXPECT_EQ(admission->counts().in_flight, 0);
  EXPECT_EQ(admission->counts().refused_full, 1u);
}

}  // namespace
}  // namespace mpic::va_primary
