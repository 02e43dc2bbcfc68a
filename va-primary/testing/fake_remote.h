// In-memory doubles for the validation state machine's tests: a remote perspective that
// answers (valid or with a problem), fails the RPC, hangs until cancelled, lies about its
// identity or answers for another identifier; and the primary's own-check runner. Everything
// runs on the test's io_context: replies are posted, never delivered inline.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/asio.h"
#include "common/error.h"
#include "perspective/engine.h"
#include "va-primary/remote_client.h"

namespace mpic::va_primary::testing {

class FakeRemote final : public RemoteClient {
 public:
  enum class Behaviour {
    kValid,           // every requested outcome valid
    kInvalid,         // every requested outcome invalid with `problem`
    kFail,            // the RPC fails with `code`
    kHang,            // no answer until cancelled (then CANCELLED)
    kLie,             // valid, but answers as another perspective
    kWrongIdentifier  // valid, but for another identifier
  };

  FakeRemote(asio::any_io_executor executor, v1::RemoteEndpoint endpoint)
      : executor_(std::move(executor)), endpoint_(std::move(endpoint)) {}

  void Set(Behaviour behaviour) { behaviour_ = behaviour; }
  void SetProblem(ProblemType problem) { problem_ = problem; }
  void SetCode(grpc::StatusCode code) { code_ = code; }

  const v1::RemoteEndpoint& endpoint() const override { return endpoint_; }
  std::shared_ptr<RemoteCall> Check(const v1::CheckRequest& request,
                                    std::chrono::system_clock::time_point deadline,
                                    const CallTrace& trace, Done done) override;

  [[nodiscard]] int calls() const { return calls_; }
  [[nodiscard]] int cancels() const { return *cancels_; }
  [[nodiscard]] const v1::CheckRequest& last_request() const { return last_request_; }
  // The RPC deadline of the last call (system clock, as gRPC takes it).
  [[nodiscard]] std::chrono::system_clock::time_point last_deadline() const {
    return last_deadline_;
  }
  [[nodiscard]] const CallTrace& last_trace() const { return last_trace_; }

 private:
  asio::any_io_executor executor_;
  v1::RemoteEndpoint endpoint_;
  std::chrono::system_clock::time_point last_deadline_;
  Behaviour behaviour_ = Behaviour::kValid;
  ProblemType problem_ = ProblemType::kUnauthorized;
  grpc::StatusCode code_ = grpc::StatusCode::UNAVAILABLE;
  int calls_ = 0;
  std::shared_ptr<int> cancels_ = std::make_shared<int>(0);
  v1::CheckRequest last_request_;
  CallTrace last_trace_;
};

// The primary's own checks, scripted: every requested check valid, invalid with a problem,
// or running until cancelled.
class FakeRunner final : public perspective::Runner {
 public:
  enum class Behaviour { kValid, kInvalid, kHang };

  void Set(Behaviour behaviour) { behaviour_ = behaviour; }
  void SetProblem(ProblemType problem) { problem_ = problem; }

  std::shared_ptr<perspective::PlanRun> Start(asio::any_io_executor executor,
                                              perspective::CheckPlan plan,
                                              std::function<void(perspective::PlanResult)> done)
      override;

  [[nodiscard]] int runs() const { return runs_; }
  [[nodiscard]] int cancels() const { return *cancels_; }
  // The checks' deadline in the last plan (its DCV check's, else its CAA check's).
  [[nodiscard]] checks::Deadline last_deadline() const { return last_deadline_; }

 private:
  checks::Deadline last_deadline_{};
  Behaviour behaviour_ = Behaviour::kValid;
  ProblemType problem_ = ProblemType::kUnauthorized;
  int runs_ = 0;
  std::shared_ptr<int> cancels_ = std::make_shared<int>(0);
};

}  // namespace mpic::va_primary::testing
