#include "perspective/health_endpoint.h"

#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <chrono>

#include "perspective/shell.h"

namespace mpic::perspective {

Result<std::unique_ptr<HealthEndpoint>> HealthEndpoint::Start(const std::string& listen,
                                                              std::vector<std::string> services) {
  // The default health service is added to every server built after this (process-wide).
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  ConfigureServerBuilder(builder);
  // Health requests are tiny; refuse anything else early.
  builder.SetMaxReceiveMessageSize(4096);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 16);
  auto unknown = std::make_unique<grpc::CallbackGenericService>();
  builder.RegisterCallbackGenericService(unknown.get());
  int port = 0;
  builder.AddListeningPort(listen, grpc::InsecureServerCredentials(), &port);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    if (server) server->Shutdown();
    return Fail(ProblemType::kServerInternal,
                "health_listen \"" + listen + "\": cannot listen (address in use?)");
  }
  std::unique_ptr<HealthEndpoint> endpoint(new HealthEndpoint(
      std::move(unknown), std::move(server), std::move(services), HostPart(listen) + ":" + std::to_string(port)));
  endpoint->SetServing(false);
  return endpoint;
}

HealthEndpoint::HealthEndpoint(std::unique_ptr<grpc::CallbackGenericService> unknown,
                               std::unique_ptr<grpc::Server> server,
                               std::vector<std::string> services, std::string address)
    : unknown_(std::move(unknown)),
      server_(std::move(server)), services_(std::move(services)), address_(std::move(address)) {}

HealthEndpoint::~HealthEndpoint() { Shutdown(); }

void HealthEndpoint::SetServing(bool serving) {
  if (shut_down_) return;
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus(serving);
  for (const std::string& service : services_) health->SetServingStatus(service, serving);
}

void HealthEndpoint::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService()) {
    health->Shutdown();  // NOT_SERVING to every watcher, Watch streams end
  }
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
}

}  // namespace mpic::perspective
