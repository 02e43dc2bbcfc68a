// A plaintext gRPC listener that serves ONLY grpc.health.v1.Health, for the Kubernetes
// kubelet's native gRPC probe (which can neither speak TLS nor present a client certificate,
// so it cannot reach the servers' mutual-TLS port). Nothing else is registered on it: a caller
// on this port learns whether the server is serving, and nothing more.
//
//   auto health = perspective::HealthEndpoint::Start("0.0.0.0:8081", {"mpic.v1.Perspective"});
//   if (!health) { ... kServerInternal: cannot listen ... }
//   (*health)->SetServing(true);    // "" and every named service SERVING
//   ...
//   (*health)->SetServing(false);   // first step of a drain: probes fail, traffic moves away
//   (*health)->Shutdown();
#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/server.h>

#include <memory>
#include <string>
#include <vector>

#include "common/error.h"

namespace mpic::perspective {

class HealthEndpoint {
 public:
  // Listens on `listen` ("HOST:PORT", port 0 picks one). Starts NOT_SERVING. kServerInternal
  // when the address cannot be bound (SO_REUSEPORT is off, as for every mpic server).
  [[nodiscard]] static Result<std::unique_ptr<HealthEndpoint>> Start(
      const std::string& listen, std::vector<std::string> services);
  ~HealthEndpoint();  // Shutdown()
  HealthEndpoint(const HealthEndpoint&) = delete;
  HealthEndpoint& operator=(const HealthEndpoint&) = delete;

  // The overall status ("") and every service named at Start.
  void SetServing(bool serving);
  // "HOST:PORT" actually bound.
  [[nodiscard]] const std::string& address() const { return address_; }
  // Ends open Watch streams and stops listening. Idempotent.
  void Shutdown();

 private:
  HealthEndpoint(std::unique_ptr<grpc::CallbackGenericService> unknown,
                 std::unique_ptr<grpc::Server> server, std::vector<std::string> services,
                 std::string address);
  // Answers UNIMPLEMENTED to every other method; also gives the server the callback service
  // it needs to be polled at all. Outlives server_ (declared first).
  std::unique_ptr<grpc::CallbackGenericService> unknown_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::string> services_;
  std::string address_;
  bool shut_down_ = false;
};

}  // namespace mpic::perspective
