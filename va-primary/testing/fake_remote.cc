#include "va-primary/testing/fake_remote.h"

#include "perspective/wire.h"

namespace mpic::va_primary::testing {
namespace {

v1::CheckOutcome Outcome(v1::Method method, const std::string& identifier, bool valid,
                         ProblemType problem) {
  v1::CheckOutcome out;
  out.set_method(method);
  out.set_identifier(identifier);
  out.set_valid(valid);
  if (!valid) *out.mutable_problem() = perspective::ProblemToProto(Error{problem, "scripted"});
  return out;
}

// A call that ends once: by its scripted reply or by Cancel (then CANCELLED).
class FakeCall final : public RemoteCall, public std::enable_shared_from_this<FakeCall> {
 public:
  FakeCall(asio::any_io_executor executor, RemoteClient::Done done, std::shared_ptr<int> cancels)
      : executor_(std::move(executor)), done_(std::move(done)), cancels_(std::move(cancels)) {}

  void Reply(grpc::Status status, v1::CheckResponse response) {
    asio::post(executor_, [self = shared_from_this(), status = std::move(status),
                           response = std::move(response)]() mutable {
      self->End(std::move(status), std::move(response));
    });
  }
  void Cancel() override {
    ++*cancels_;
    asio::post(executor_, [self = shared_from_this()] {
      self->End(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"), {});
    });
  }

 private:
  void End(grpc::Status status, v1::CheckResponse response) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(status), std::move(response));
  }

  asio::any_io_executor executor_;
  RemoteClient::Done done_;
  std::shared_ptr<int> cancels_;
};

class FakeRun final : public perspective::PlanRun, public std::enable_shared_from_this<FakeRun> {
 public:
  FakeRun(asio::any_io_executor executor, std::function<void(perspective::PlanResult)> done,
          std::shared_ptr<int> cancels)
      : executor_(std::move(executor)), done_(std::move(done)), cancels_(std::move(cancels)) {}

  void Finish(perspective::PlanResult result) {
    asio::post(executor_, [self = shared_from_this(), result = std::move(result)]() mutable {
      self->End(std::move(result));
    });
  }
  void Cancel() override {
    ++*cancels_;
    perspective::PlanResult cancelled;
    cancelled.end = perspective::PlanResult::End::kCancelled;
    End(std::move(cancelled));
  }

 private:
  void End(perspective::PlanResult result) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(result));
  }

  asio::any_io_executor executor_;
  std::function<void(perspective::PlanResult)> done_;
  std::shared_ptr<int> cancels_;
};

}  // namespace

std::shared_ptr<RemoteCall> FakeRemote::Check(const v1::CheckRequest& request,
                                              std::chrono::system_clock::time_point deadline,
                                              const CallTrace& trace, Done done) {
  ++calls_;
  last_deadline_ = deadline;
  last_request_ = request;
  last_trace_ = trace;
  auto call = std::make_shared<FakeCall>(executor_, std::move(done), cancels_);
  if (behaviour_ == Behaviour::kHang) return call;
  if (behaviour_ == Behaviour::kFail) {
    call->Reply(grpc::Status(code_, "scripted failure"), {});
    return call;
  }
  v1::CheckResponse response;
  *response.mutable_perspective() = endpoint_.identity();
  if (behaviour_ == Behaviour::kLie) response.mutable_perspective()->set_name("impostor-1");
  const std::string identifier =
      behaviour_ == Behaviour::kWrongIdentifier ? "other.example" : request.identifier();
  const bool valid = behaviour_ != Behaviour::kInvalid;
  if (request.has_dcv()) {
    *response.mutable_dcv() = Outcome(request.dcv().method(), identifier, valid, problem_);
  }
  if (request.has_caa()) {
    *response.mutable_caa() = Outcome(v1::CAA, identifier, valid, problem_);
  }
  call->Reply(grpc::Status::OK, std::move(response));
  return call;
}

std::shared_ptr<perspective::PlanRun> FakeRunner::Start(
    asio::any_io_executor executor, perspective::CheckPlan plan,
    std::function<void(perspective::PlanResult)> done) {
  ++runs_;
  if (plan.dcv) {
    last_deadline_ = plan.dcv->deadline;
  } else if (plan.caa) {
    last_deadline_ = plan.caa->deadline;
  }
  auto run = std::make_shared<FakeRun>(executor, std::move(done), cancels_);
  if (behaviour_ == Behaviour::kHang) return run;
  perspective::PlanResult result;
  const bool valid = behaviour_ == Behaviour::kValid;
  for (auto* which : {&plan.dcv, &plan.caa}) {
    if (!*which) continue;
    checks::CheckResult r;
    r.method = (*which)->method;
    r.identifier = (*which)->identifier;
    r.valid = valid;
    if (!valid) r.problem = Error{problem_, "scripted"};
    (which == &plan.dcv ? result.dcv : result.caa) = std::move(r);
  }
  run->Finish(std::move(result));
  return run;
}

}  // namespace mpic::va_primary::testing
