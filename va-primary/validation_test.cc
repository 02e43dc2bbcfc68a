// The validation state machine with in-memory remotes and own-check runner on a fake clock:
// every orchestration case in microseconds, no processes, no root. The real wire is proven by
// tests/integration/va_primary_test.cc.
#include "va-primary/internal/validation.h"

#include <gtest/gtest.h>

#include <set>

#include "perspective/metrics.h"
#include "perspective/wire.h"
#include "va-primary/testing/fake_remote.h"
#include "va-primary/testing/fake_timers.h"

namespace mpic::va_primary {
namespace {

using testing::FakeRemote;
using testing::FakeRunner;
using testing::FakeTimers;
using std::chrono::milliseconds;

struct Outcome {
  bool done = false;
  grpc::Status status;
  v1::ValidateResponse response;
};

class ValidationTest : public ::testing::Test {
 protected:
  ValidationTest() {
    settings_.policy = *quorum::Policy::BaselineRequirements(quorum::Date{2026, 6, 15});
    settings_.phase = "2026-06-15";
    settings_.config.mutable_identity()->set_name("us-east-iad-1");
    settings_.config.mutable_identity()->set_rir(v1::ARIN);
    settings_.remote_timeout = milliseconds(5000);
    settings_.max_check = milliseconds(5000);
    settings_.selection_secret = "0123456789abcdef0123456789abcdef";
    // Replies of the doubles arrive in one turn of the io_context: a grace period lets every
    // one of them into the record (tests of stragglers set their own).
    settings_.straggler_grace = milliseconds(500);
    const struct {
      const char* name;
      v1::Rir rir;
      quorum::Rir q;
      double lat, lon;
    } sites[] = {{"eu-fra-1", v1::RIPE_NCC, quorum::Rir::kRipeNcc, 50.1, 8.7},
                 {"us-west-pdx-1", v1::ARIN, quorum::Rir::kArin, 45.5, -122.7},
                 {"ap-sin-1", v1::APNIC, quorum::Rir::kApnic, 1.35, 103.8},
                 {"sa-gru-1", v1::LACNIC, quorum::Rir::kLacnic, -23.4, -46.5},
                 {"af-jnb-1", v1::AFRINIC, quorum::Rir::kAfrinic, -26.2, 28.0}};
    for (const auto& site : sites) AddRemote(site.name, site.rir, site.q, site.lat, site.lon);
    settings_.remotes_per_validation = static_cast<int>(settings_.remotes.size());
  }

  void AddRemote(const char* name, v1::Rir rir, quorum::Rir q, double lat, double lon) {
    v1::RemoteEndpoint endpoint;
    endpoint.mutable_identity()->set_name(name);
    endpoint.mutable_identity()->set_rir(rir);
    endpoint.set_address("127.0.0.1:1");
    *settings_.config.add_remotes() = endpoint;
    settings_.remotes.push_back(quorum::Perspective{name, q, {lat, lon}});
    remotes_.push_back(std::make_unique<FakeRemote>(io_.get_executor(), endpoint));
  }

  internal::Env MakeEnv() {
    std::vector<RemoteClient*> clients;
    for (auto& r : remotes_) clients.push_back(r.get());
    return internal::Env{settings_, io_.get_executor(), own_, std::move(clients), timers_,
                         metrics_,
                         [this](std::string line, std::function<void(Status)> done) {
                           audit_lines_.push_back(std::move(line));
                           done(audit_ok_ ? Status{}
                                          : Status(Fail(ProblemType::kServerInternal, "disk full")));
                         },
                         outstanding_, nullptr};
  }

  static CheckedRequest Request() {
    CheckedRequest r;
    r.identifier = "example.com";
    r.dcv = checks::Method::kDns01;
    r.method = v1::DNS_01;
    r.caa = true;
    r.key_authorization = "token.thumbprint";
    r.caa_issuer_domains = {"ca.example"};
    return r;
  }

  // Runs the io_context until nothing is ready; the fake clock moves only when told.
  void Settle() {
    for (int i = 0; i < 1000 && io_.poll() > 0; ++i) {
    }
    io_.restart();
  }

  Outcome Run(CheckedRequest request = Request()) {
    env_.emplace(MakeEnv());
    auto outcome = std::make_shared<Outcome>();
    internal::RunValidation(*env_, std::move(request),
                            [outcome](grpc::Status status, v1::ValidateResponse response) {
                              outcome->done = true;
                              outcome->status = std::move(status);
                              outcome->response = std::move(response);
                            });
    Settle();
    last_ = outcome;
    return *outcome;
  }

  // Moves the fake clock and returns the outcome so far.
  Outcome AdvanceAndGet(milliseconds by) {
    timers_.Advance(by);
    Settle();
    return *last_;
  }

  const v1::PerspectiveResult& RemoteResult(const v1::ValidateResponse& r, const std::string& name) {
    for (const auto& p : r.remotes()) {
      if (p.perspective().name() == name) return p;
    }
    ADD_FAILURE() << "no result for " << name;
    return r.primary();
  }

  perspective::PrimarySettings settings_;
  FakeTimers timers_;  // outlives the io_context, whose handlers may hold timers
  asio::io_context io_;
  FakeRunner own_;
  std::vector<std::unique_ptr<FakeRemote>> remotes_;
  internal::PrimaryMetrics metrics_;
  internal::Outstanding outstanding_;
  std::vector<std::string> audit_lines_;
  bool audit_ok_ = true;
  std::optional<internal::Env> env_;
  std::shared_ptr<Outcome> last_;
};

TEST_F(ValidationTest, EveryoneCorroborates) {
  Outcome out = Run();
  ASSERT_TRUE(out.done);
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  EXPECT_EQ(out.response.decision(), v1::CORROBORATED);
  EXPECT_EQ(out.response.quorum(), "5/5");
  // Decided early, on the fourth corroboration (at most one may fail); the fifth answered
  // within the grace period and is in the record.
  EXPECT_EQ(out.response.decided_quorum(), "4/5");
  EXPECT_EQ(out.response.primary().status(), v1::ANSWERED);
  EXPECT_EQ(own_.runs(), 1);
  for (auto& r : remotes_) {
    EXPECT_EQ(r->calls(), 1);
    EXPECT_EQ(r->last_request().identifier(), "example.com");
    EXPECT_EQ(r->last_request().request_id(), out.response.request_id());
  }
  ASSERT_EQ(audit_lines_.size(), 1u);
  EXPECT_NE(audit_lines_[0].find(out.response.request_id()), std::string::npos);
  EXPECT_EQ(timers_.pending(), 0u);  // watchdog cancelled
}

TEST_F(ValidationTest, OneFailedRpcIsTolerated) {
  remotes_[0]->Set(FakeRemote::Behaviour::kFail);
  Outcome out = Run();
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.response.decision(), v1::CORROBORATED);
  EXPECT_EQ(out.response.quorum(), "4/5");
  EXPECT_EQ(RemoteResult(out.response, "eu-fra-1").status(), v1::RPC_ERROR);
}

TEST_F(ValidationTest, SixRemotesTolerateTwoFailures) {
  AddRemote("ap-nrt-1", v1::APNIC, quorum::Rir::kApnic, 35.7, 139.7);
  settings_.remotes_per_validation = 6;
  remotes_[0]->Set(FakeRemote::Behaviour::kFail);
  remotes_[5]->Set(FakeRemote::Behaviour::kInvalid);
  Outcome out = Run();
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.response.decision(), v1::CORROBORATED);
  EXPECT_EQ(out.response.quorum(), "4/6");
  remotes_[1]->Set(FakeRemote::Behaviour::kInvalid);  // a third non-corroboration
  out = Run();
  EXPECT_EQ(out.response.decision(), v1::NOT_CORROBORATED);
  EXPECT_EQ(out.response.quorum(), "3/6");
}

// BR §3.2.2.9 before 2025-09-15: MPIC must run and be logged, but does not decide.
TEST_F(ValidationTest, NotEnforcedPhaseFollowsThePrimaryButLogsTheQuorum) {
  settings_.policy = *quorum::Policy::BaselineRequirements(quorum::Date{2025, 3, 15});
  settings_.phase = "2025-03-15";
  for (int i = 0; i < 3; ++i) remotes_[i]->Set(FakeRemote::Behaviour::kInvalid);
  Outcome out = Run();
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.response.decision(), v1::CORROBORATED);
  EXPECT_FALSE(out.response.enforced());
  EXPECT_EQ(out.response.quorum(), "2/5");
  own_.Set(FakeRunner::Behaviour::kInvalid);
  out = Run();
  EXPECT_EQ(out.response.decision(), v1::NOT_CORROBORATED);
}

TEST_F(ValidationTest, TwoInvalidRemotesAreTooMany) {
  remotes_[1]->Set(FakeRemote::Behaviour::kInvalid);
  remotes_[2]->Set(FakeRemote::Behaviour::kInvalid);
  Outcome out = Run();
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.response.decision(), v1::NOT_CORROBORATED);
  EXPECT_EQ(out.response.problem().type(), ProblemTypeUrn(ProblemType::kUnauthorized));
  EXPECT_NE(out.response.problem().detail().find("quorum 3/5"), std::string::npos)
      << out.response.problem().detail();
}

TEST_F(ValidationTest, ImpostorAndWrongIdentifierNeverCorroborate) {
  remotes_[0]->Set(FakeRemote::Behaviour::kLie);
  remotes_[1]->Set(FakeRemote::Behaviour::kWrongIdentifier);
  Outcome out = Run();
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.response.decision(), v1::NOT_CORROBORATED);
  EXPECT_EQ(RemoteResult(out.response, "eu-fra-1").status(), v1::IDENTITY_MISMATCH);
  EXPECT_EQ(RemoteResult(out.response, "us-west-pdx-1").status(), v1::RPC_ERROR);
}

TEST_F(ValidationTest, PrimaryFailureIsTheProblem) {
  own_.Set(FakeRunner::Behaviour::kInvalid);
  own_.SetProblem(ProblemType::kIncorrectResponse);
  Outcome out = Run();
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.response.decision(), v1::NOT_CORROBORATED);
  EXPECT_EQ(out.response.problem().type(), ProblemTypeUrn(ProblemType::kIncorrectResponse));
  EXPECT_EQ(internal::ResultLabel(out.response.primary()), "invalid");
}

// The same internal failure is labelled the same whether the primary's own check or a remote
// produced it (it used to be "error" from the primary and "invalid" from a remote).
TEST_F(ValidationTest, InternalFailureIsAnErrorFromPrimaryAndRemoteAlike) {
  own_.Set(FakeRunner::Behaviour::kInvalid);
  own_.SetProblem(ProblemType::kServerInternal);
  remotes_[3]->Set(FakeRemote::Behaviour::kInvalid);
  remotes_[3]->SetProblem(ProblemType::kServerInternal);
  Outcome out = Run();
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.response.decision(), v1::NOT_CORROBORATED);
  EXPECT_EQ(internal::ResultLabel(out.response.primary()), "error");
  EXPECT_EQ(internal::ResultLabel(RemoteResult(out.response, "sa-gru-1")), "error");
  const std::string text = perspective::Serialize(*metrics_.registry());
  EXPECT_NE(text.find("perspective=\"sa-gru-1\",status=\"error\"} 1"), std::string::npos)
      << text;
}

TEST_F(ValidationTest, StragglerIsCancelledAfterTheDecision) {
  settings_.straggler_grace = milliseconds(0);  // answer right after the decision
  remotes_[4]->Set(FakeRemote::Behaviour::kHang);
  Outcome out = Run();
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.response.decision(), v1::CORROBORATED);
  EXPECT_EQ(RemoteResult(out.response, "af-jnb-1").status(), v1::CANCELLED);
  EXPECT_EQ(remotes_[4]->cancels(), 1);
}

TEST_F(ValidationTest, GracePeriodWaitsForStragglersThenCancels) {
  settings_.straggler_grace = milliseconds(200);
  remotes_[4]->Set(FakeRemote::Behaviour::kHang);
  Outcome out = Run();
  EXPECT_FALSE(out.done);  // decided, but waiting out the grace period
  out = AdvanceAndGet(milliseconds(199));
  EXPECT_FALSE(out.done);
  out = AdvanceAndGet(milliseconds(1));
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.response.decision(), v1::CORROBORATED);
  EXPECT_EQ(out.response.decided_quorum(), "4/5");
  EXPECT_EQ(out.response.quorum(), "4/5");
  EXPECT_EQ(RemoteResult(out.response, "af-jnb-1").status(), v1::CANCELLED);
}

// The primary's own check is cancellable: when the watchdog ends the validation its lookups are
// cancelled (it used to run on to its own deadline, unseen).
TEST_F(ValidationTest, WatchdogCancelsTheOwnCheckAndTimesEveryoneOut) {
  own_.Set(FakeRunner::Behaviour::kHang);
  remotes_[0]->Set(FakeRemote::Behaviour::kHang);
  remotes_[1]->Set(FakeRemote::Behaviour::kHang);
  Outcome out = Run();
  EXPECT_FALSE(out.done);
  out = AdvanceAndGet(milliseconds(6000));  // max(max_check, remote_timeout) + 1 s
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.response.decision(), v1::NOT_CORROBORATED);
  EXPECT_EQ(out.response.primary().status(), v1::TIMED_OUT);
  EXPECT_EQ(own_.cancels(), 1);
  EXPECT_EQ(RemoteResult(out.response, "eu-fra-1").status(), v1::TIMED_OUT);
  EXPECT_EQ(remotes_[0]->cancels(), 1);
  EXPECT_EQ(remotes_[1]->cancels(), 1);
}

// PrimaryConfig.method_timeouts: a DNS-01 validation runs on its method's deadlines (own check,
// each RPC, and so the watchdog), other methods on the global ones.
TEST_F(ValidationTest, MethodTimeoutsApplyToTheirMethodOnly) {
  settings_.method_deadlines[v1::DNS_01] =
      perspective::MethodDeadlines{milliseconds(1000), milliseconds(1500)};
  own_.Set(FakeRunner::Behaviour::kHang);
  for (auto& remote : remotes_) remote->Set(FakeRemote::Behaviour::kHang);

  const auto wall_before = std::chrono::system_clock::now();
  const auto steady_before = checks::Clock::now();
  Outcome out = Run();  // DNS_01
  EXPECT_FALSE(out.done);
  // The deadlines handed out are the method's, not the global 5 s.
  EXPECT_LE(own_.last_deadline(), checks::Clock::now() + milliseconds(1000));
  EXPECT_GE(own_.last_deadline(), steady_before + milliseconds(1000));
  EXPECT_LE(remotes_[0]->last_deadline(), std::chrono::system_clock::now() + milliseconds(1500));
  EXPECT_GE(remotes_[0]->last_deadline(), wall_before + milliseconds(1500));
  // The watchdog follows: max(1000, 1500) + 1 s on the fake clock, not max(5000, 5000) + 1 s.
  out = AdvanceAndGet(milliseconds(2499));
  EXPECT_FALSE(out.done);
  out = AdvanceAndGet(milliseconds(1));
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.response.decision(), v1::NOT_CORROBORATED);
  EXPECT_EQ(out.response.primary().status(), v1::TIMED_OUT);
  EXPECT_EQ(RemoteResult(out.response, "eu-fra-1").status(), v1::TIMED_OUT);

  // HTTP-01 has no entry: the global deadlines.
  CheckedRequest http = Request();
  http.dcv = checks::Method::kHttp01;
  http.method = v1::HTTP_01;
  out = Run(http);
  EXPECT_GE(remotes_[0]->last_deadline(), wall_before + milliseconds(5000));
  out = AdvanceAndGet(milliseconds(2500));
  EXPECT_FALSE(out.done);
  out = AdvanceAndGet(milliseconds(3500));  // 5000 + 1 s in all
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.response.primary().status(), v1::TIMED_OUT);
}

// A remote's own timeout_ms is its deadline whatever the method's.
TEST_F(ValidationTest, ARemotesOwnTimeoutWinsOverTheMethods) {
  settings_.method_deadlines[v1::DNS_01] =
      perspective::MethodDeadlines{milliseconds(1000), milliseconds(1500)};
  // The fixture's endpoints are copies: set it on the remote's own endpoint.
  v1::RemoteEndpoint endpoint = remotes_[0]->endpoint();
  endpoint.set_timeout_ms(7000);
  remotes_[0] = std::make_unique<FakeRemote>(io_.get_executor(), endpoint);
  remotes_[0]->Set(FakeRemote::Behaviour::kHang);
  const auto wall_before = std::chrono::system_clock::now();
  Outcome out = Run();
  EXPECT_GE(remotes_[0]->last_deadline(), wall_before + milliseconds(7000));
  EXPECT_LE(remotes_[1]->last_deadline(), std::chrono::system_clock::now() + milliseconds(1500));
  // Everyone else answered: the decision does not wait for the slow remote's deadline.
  out = AdvanceAndGet(milliseconds(600));
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.response.decision(), v1::CORROBORATED);
}

TEST_F(ValidationTest, RemotesAfterPrimaryAreNotAskedWhenThePrimaryFails) {
  settings_.config.set_remotes_after_primary(true);
  own_.Set(FakeRunner::Behaviour::kInvalid);
  Outcome out = Run();
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.response.decision(), v1::NOT_CORROBORATED);
  for (auto& r : remotes_) EXPECT_EQ(r->calls(), 0);
  for (const auto& r : out.response.remotes()) EXPECT_EQ(r.status(), v1::NOT_STARTED);
}

TEST_F(ValidationTest, NoRecordNoDecision) {
  audit_ok_ = false;
  Outcome out = Run();
  ASSERT_TRUE(out.done);
  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_EQ(out.response.decision(), v1::DECISION_UNSPECIFIED);
}

TEST_F(ValidationTest, RetriesUseDisjointCohorts) {
  settings_.remotes_per_validation = 2;
  settings_.policy = *quorum::Policy::KOfN(2, 2, 1, true);
  CheckedRequest first = Request();
  CheckedRequest second = Request();
  second.attempt = 1;
  Outcome a = Run(first);
  std::set<std::string> cohort_a;
  for (const auto& r : a.response.remotes()) cohort_a.insert(r.perspective().name());
  Outcome b = Run(second);
  ASSERT_TRUE(a.done && b.done);
  EXPECT_EQ(cohort_a.size(), 2u);
  for (const auto& r : b.response.remotes()) EXPECT_EQ(cohort_a.count(r.perspective().name()), 0u);
}

}  // namespace
}  // namespace mpic::va_primary
