#include "tests/integration/grpc_client.h"

#include <grpcpp/generic/generic_stub.h>

#include <chrono>
#include <future>

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
