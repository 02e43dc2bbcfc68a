#include "lab/health_client.h"

#include <grpcpp/generic/generic_stub.h>

#include <future>
#include <vector>

namespace mpic::lab {

std::string HealthStatus(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& service, std::chrono::milliseconds timeout) {
  grpc::GenericStub generic(channel);
  std::string request_bytes;
  if (!service.empty()) {  // HealthCheckRequest{service = 1}; a service name is < 128 bytes
    if (service.size() > 127) return "error service name too long";
    request_bytes = std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
  }
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  std::promise<grpc::Status> done;
  generic.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                    &response, [&done](grpc::Status s) { done.set_value(std::move(s)); });
  auto future = done.get_future();
  if (future.wait_for(timeout + std::chrono::seconds(5)) != std::future_status::ready) {
    // The call still refers to `done` and `context`: cancel it and wait for its callback.
    context.TryCancel();
    future.wait();
    return "no answer";
  }
  grpc::Status status = future.get();
  if (!status.ok()) return "error " + status.error_message();
  std::vector<grpc::Slice> slices;
  if (!response.Dump(&slices).ok()) return "bad response";
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  // HealthCheckResponse{status = 1}: SERVING is 1, NOT_SERVING 2.
  if (bytes == std::string("\x08\x01", 2)) return "SERVING";
  if (bytes == std::string("\x08\x02", 2)) return "NOT_SERVING";
  return "unexpected response";
}

}  // namespace mpic::lab
