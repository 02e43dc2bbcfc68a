// The client side of grpc.health.v1.Health/Check without generated stubs: what
// `mpic deploy probe` and the integration tests ask a server (the same question the kubelet's
// native gRPC probe asks).
//
//   auto channel = grpc::CreateChannel("127.0.0.1:8081", grpc::InsecureChannelCredentials());
//   if (mpic::lab::HealthStatus(channel) != "SERVING") ...
#pragma once

#include <grpcpp/channel.h>

#include <chrono>
#include <memory>
#include <string>

namespace mpic::lab {

// Check for `service` ("" is the whole server): "SERVING", "NOT_SERVING", or why there is no
// such answer ("error <message>", "no answer", "bad response", "unexpected response").
// Bounded: the call's deadline is `timeout`, and it returns at most 5 s after that.
[[nodiscard]] std::string HealthStatus(const std::shared_ptr<grpc::Channel>& channel,
                                       const std::string& service = "",
                                       std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace mpic::lab
