#include "va-primary/remote_client.h"

#include <algorithm>

namespace mpic::va_primary {
namespace {

// Reconnect quickly to a remote that came back (gRPC's default backoff grows to 120 s).
constexpr int kMinReconnectBackoffMs = 250;
constexpr int kMaxReconnectBackoffMs = 2000;

class GrpcCall final : public RemoteCall {
 public:
  void Cancel() override { context.TryCancel(); }

  grpc::ClientContext context;
  v1::CheckRequest request;
  v1::CheckResponse response;
};

}  // namespace

GrpcRemoteClient::GrpcRemoteClient(v1::RemoteEndpoint endpoint,
                                   const std::shared_ptr<grpc::ChannelCredentials>& credentials)
    : endpoint_(std::move(endpoint)) {
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(endpoint_.tls_server_name().empty()
                                    ? endpoint_.identity().name()
                                    : endpoint_.tls_server_name());
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kMinReconnectBackoffMs);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, kMinReconnectBackoffMs);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  channel_ = grpc::CreateCustomChannel(endpoint_.address(), credentials, args);
  stub_ = v1::Perspective::NewStub(channel_);
  (void)channel_->GetState(/*try_to_connect=*/true);
}

std::shared_ptr<RemoteCall> GrpcRemoteClient::Check(const v1::CheckRequest& request,
                                                    std::chrono::system_clock::time_point deadline,
                                                    const CallTrace& trace, Done done) {
  auto call = std::make_shared<GrpcCall>();
  call->request = request;
  // This remote's own deadline (RemoteEndpoint.timeout_ms), when it is the earlier one.
  if (endpoint_.timeout_ms() != 0) {
    deadline = std::min(deadline, std::chrono::system_clock::now() +
                                      std::chrono::milliseconds(endpoint_.timeout_ms()));
  }
  call->context.set_deadline(deadline);
  if (!trace.traceparent.empty()) call->context.AddMetadata("traceparent", trace.traceparent);
  if (!trace.tracestate.empty()) call->context.AddMetadata("tracestate", trace.tracestate);
  stub_->async()->Check(&call->context, &call->request, &call->response,
                        [call, done = std::move(done)](grpc::Status status) {
                          done(std::move(status), std::move(call->response));
                        });
  return call;
}

}  // namespace mpic::va_primary
