// How the primary talks to one remote perspective: an interface, so that the validation state
// machine can be tested with in-memory doubles (va-primary/testing/fake_remote.h), and its gRPC
// implementation over one long-lived mutual-TLS channel (the first handshake is the slow part).
//
//   auto client = GrpcRemoteClient::Create(endpoint, credentials);
//   auto call = client->Check(request, deadline, {.traceparent = trace.Child()},
//                             [](grpc::Status s, v1::CheckResponse r) {...});
//   call->Cancel();  // the callback still runs, with CANCELLED
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "mpic/v1/config.pb.h"
#include "mpic/v1/perspective.grpc.pb.h"

namespace mpic::va_primary {

class RemoteCall {
 public:
  virtual ~RemoteCall() = default;
  // Asks the call to end early; its callback still runs exactly once. Any thread.
  virtual void Cancel() = 0;
};

// W3C Trace Context sent with a call as gRPC metadata ("traceparent", "tracestate"); empty
// values are not sent.
struct CallTrace {
  std::string traceparent;
  std::string tracestate;
};

class RemoteClient {
 public:
  using Done = std::function<void(grpc::Status, v1::CheckResponse)>;

  virtual ~RemoteClient() = default;
  // The configured endpoint: address and the identity the remote must answer with.
  [[nodiscard]] virtual const v1::RemoteEndpoint& endpoint() const = 0;
  // Sends one Check; `done` runs exactly once, on any thread (callers post), with the RPC's
  // status and, when OK, the reply.
  [[nodiscard]] virtual std::shared_ptr<RemoteCall> Check(
      const v1::CheckRequest& request, std::chrono::system_clock::time_point deadline,
      const CallTrace& trace, Done done) = 0;
};

class GrpcRemoteClient final : public RemoteClient {
 public:
  // Connects now (an unreachable remote is no error here, only in the calls that ask it).
  GrpcRemoteClient(v1::RemoteEndpoint endpoint,
                   const std::shared_ptr<grpc::ChannelCredentials>& credentials);

  const v1::RemoteEndpoint& endpoint() const override { return endpoint_; }
  std::shared_ptr<RemoteCall> Check(const v1::CheckRequest& request,
                                    std::chrono::system_clock::time_point deadline,
                                    const CallTrace& trace, Done done) override;

 private:
  v1::RemoteEndpoint endpoint_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Perspective::Stub> stub_;
};

}  // namespace mpic::va_primary
