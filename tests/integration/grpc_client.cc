#include "tests/integration/grpc_client.h"

#include <grpcpp/generic/generic_stub.h>

#include <chrono>
#include <future>
#include <vector>

namespace mpic::testing {

std::shared_ptr<grpc::Channel> MtlsChannel(const std::string& address, const std::string& ca_pem,
                                           const lab::CertPair* client_cert,
                                           const std::string& server_name) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem;
  if (client_cert) {
    options.pem_cert_chain = client_cert->cert_pem;
    options.pem_private_key = client_cert->key_pem;
  }
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(server_name);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(options), args);
}

std::string HealthStatus(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& service) {
  grpc::GenericStub generic(channel);
  std::string request_bytes;
  if (!service.empty()) {  // HealthCheckRequest{service = 1}
    request_bytes = std::string("\x0a", 1) + static_cast<char>(service.size()) + service;
  }
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  std::promise<grpc::Status> done;
  generic.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                    &response, [&done](grpc::Status s) { done.set_value(std::move(s)); });
  auto future = done.get_future();
  if (future.wait_for(std::chrono::seconds(15)) != std::future_status::ready) {
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

grpc::Status RawUnaryCall(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                          const std::string& bytes) {
  grpc::GenericStub generic(channel);
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  std::promise<grpc::Status> done;
  generic.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                    [&done](grpc::Status s) { done.set_value(std::move(s)); });
  auto future = done.get_future();
  if (future.wait_for(std::chrono::seconds(15)) != std::future_status::ready) {
    context.TryCancel();
    future.wait();
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "no answer");
  }
  return future.get();
}

}  // namespace mpic::testing
