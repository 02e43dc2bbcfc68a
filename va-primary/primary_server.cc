#include "va-primary/primary_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <prometheus/exposer.h>
#include <unistd.h>

#include <cstdio>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "mpic/v1/primary.grpc.pb.h"
#include "perspective/engine.h"
#include "perspective/factories.h"
#include "perspective/health_endpoint.h"
#include "perspective/metrics.h"
#include "perspective/primary_config.h"
#include "perspective/shell.h"
#include "va-primary/audit.h"
#include "va-primary/internal/metrics.h"
#include "va-primary/internal/timers.h"
#include "va-primary/internal/validation.h"
#include "va-primary/remote_client.h"
#include "va-primary/request.h"

namespace mpic::va_primary {
namespace {

using perspective::PrimarySettings;

// A CA request is small; anything bigger is refused before it is parsed (RESOURCE_EXHAUSTED).
constexpr int kMaxReceiveMessageBytes = 64 * 1024;

class PrimaryService final : public v1::Primary::CallbackService {
 public:
  explicit PrimaryService(internal::Env& env) : env_(env) {}

  grpc::ServerUnaryReactor* Validate(grpc::CallbackServerContext* context,
                                     const v1::ValidateRequest* request,
                                     v1::ValidateResponse* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    try {
      auto checked = CheckValidateRequest(*request);
      if (!checked) {
        reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, checked.error().detail));
        return reactor;
      }
      internal::RunValidation(
          env_, std::move(*checked),
          [reactor, response](grpc::Status status, v1::ValidateResponse answer) {
            if (status.ok()) response->Swap(&answer);
            reactor->Finish(status);
          });
    } catch (const std::exception& e) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, e.what()));
    }
    return reactor;
  }

 private:
  internal::Env& env_;
};

}  // namespace

struct PrimaryServer::Impl {
  PrimarySettings settings;
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread io_thread;
  std::unique_ptr<resolver::Resolver> resolver;
  std::unique_ptr<checks::TcpDialer> dialer;
  checks::TimeSource clock;
  internal::PrimaryMetrics metrics;
  perspective::CheckMetrics check_metrics{*metrics.registry(), "primary"};
  std::unique_ptr<perspective::Engine> engine;
  internal::AsioTimers timers;
  std::unique_ptr<prometheus::Exposer> exposer;
  std::unique_ptr<perspective::HealthEndpoint> health;  // plaintext probe port; null when off
  std::unique_ptr<AuditLog> audit;
  std::vector<std::unique_ptr<RemoteClient>> remotes;
  internal::Outstanding outstanding;
  std::unique_ptr<internal::Env> env;
  std::unique_ptr<PrimaryService> service;
  std::unique_ptr<grpc::Server> server;
  std::string address;
  std::string metrics_address;
  std::once_flag shutdown_once;

  // Bound on one validation from start to record: the watchdog plus grace plus slack.
  std::chrono::milliseconds ValidationBound() const {
    return settings.max_check + settings.remote_timeout + settings.straggler_grace +
           std::chrono::seconds(2);
  }

  void StopIo() {
    work.reset();
    io.stop();
    if (io_thread.joinable()) io_thread.join();
  }
};

PrimaryServer::PrimaryServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PrimaryServer::~PrimaryServer() { Shutdown(); }

std::string PrimaryServer::address() const { return impl_->address; }
std::string PrimaryServer::metrics_address() const { return impl_->metrics_address; }

Result<std::unique_ptr<PrimaryServer>> PrimaryServer::Start(const v1::PrimaryConfig& config) {
  return Start(config, perspective::UtcToday());
}

Result<std::unique_ptr<PrimaryServer>> PrimaryServer::Start(const v1::PrimaryConfig& config,
                                                            const quorum::Date& today) {
  auto settings = perspective::ValidatePrimaryConfig(config, today);
  if (!settings) return Fail(settings.error());
  auto impl = std::make_unique<Impl>();
  impl->settings = std::move(*settings);
  const PrimarySettings& s = impl->settings;
  for (const std::string& warning : s.warnings) {
    log::Warning(warning, {{"policy", s.policy.Describe()}});
  }
  if (!s.policy.br_compliant()) {
    std::fprintf(stderr,
                 "\n*** WARNING: va-primary runs a research quorum policy: %s ***\n"
                 "*** NOT BR 3.2.2.9 COMPLIANT: never use it for a publicly-trusted CA. ***\n\n",
                 s.policy.Describe().c_str());
  }

  impl->work.emplace(asio::make_work_guard(impl->io));
  auto fail = [&](Error error) -> Result<std::unique_ptr<PrimaryServer>> {
    impl->StopIo();
    return Fail(std::move(error));
  };

  auto resolver =
      perspective::MakeResolver(impl->io.get_executor(), s.config.resolver(), s.config.lab());
  if (!resolver)
    return fail(Error{ProblemType::kMalformed, "resolver: " + resolver.error().detail});
  impl->resolver = std::move(*resolver);
  auto dialer = perspective::MakeDialer(impl->io.get_executor(), s.config.lab());
  if (!dialer) return fail(Error{ProblemType::kMalformed, "lab: " + dialer.error().detail});
  impl->dialer = std::move(*dialer);

  auto server_credentials = perspective::MakeServerCredentials(s.config.server_tls());
  if (!server_credentials) {
    return fail(Error{ProblemType::kMalformed, "server_tls: " + server_credentials.error().detail});
  }
  auto client_credentials = perspective::MakeChannelCredentials(s.config.client_tls());
  if (!client_credentials) {
    return fail(Error{ProblemType::kMalformed, "client_tls: " + client_credentials.error().detail});
  }

  // One long-lived mTLS channel per remote, connecting now (the first handshake is the slow
  // part); an unreachable remote is not an error here, only in the validations that ask it.
  std::vector<RemoteClient*> clients;
  for (const v1::RemoteEndpoint& endpoint : s.config.remotes()) {
    impl->remotes.push_back(std::make_unique<GrpcRemoteClient>(endpoint, *client_credentials));
    clients.push_back(impl->remotes.back().get());
  }
  impl->engine = std::make_unique<perspective::Engine>(*impl->resolver, *impl->dialer,
                                                       impl->clock, impl->check_metrics);

  auto audit = AuditLog::Open(s.config.audit_log());
  if (!audit) return fail(Error{ProblemType::kMalformed, audit.error().detail});
  impl->audit = std::move(*audit);

  auto metrics_endpoint =
      perspective::StartMetrics(s.config.metrics_listen(), {impl->metrics.registry()});
  if (!metrics_endpoint) return fail(metrics_endpoint.error());
  impl->exposer = std::move(metrics_endpoint->exposer);
  impl->metrics_address = metrics_endpoint->address;

  AuditLog* audit_log = impl->audit.get();
  impl->env = std::make_unique<internal::Env>(internal::Env{
      impl->settings, impl->io.get_executor(), *impl->engine, std::move(clients), impl->timers,
      impl->metrics,
      [audit_log](std::string line, std::function<void(Status)> done) {
        audit_log->Append(std::move(line), std::move(done));
      },
      impl->outstanding});
  impl->io_thread = std::thread([io = &impl->io] { io->run(); });

  impl->service = std::make_unique<PrimaryService>(*impl->env);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  perspective::ConfigureServerBuilder(builder);
  int port = 0;
  builder.AddListeningPort(s.config.listen(), *server_credentials, &port);
  builder.RegisterService(impl->service.get());
  builder.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  impl->server = builder.BuildAndStart();
  if (!impl->server || port == 0) {
    if (impl->server) impl->server->Shutdown();
    return fail(Error{ProblemType::kServerInternal,
                      "cannot listen on \"" + s.config.listen() + "\" (address in use?)"});
  }
  impl->server->GetHealthCheckService()->SetServingStatus(true);
  impl->address = perspective::HostPart(s.config.listen()) + ":" + std::to_string(port);
  if (!s.config.health_listen().empty()) {
    auto health = perspective::HealthEndpoint::Start(s.config.health_listen(),
                                                     {v1::Primary::service_full_name()});
    if (!health) {
      impl->server->Shutdown();
      return fail(health.error());
    }
    impl->health = std::move(*health);
    impl->health->SetServing(true);
  }
  const std::string health_address = impl->health ? impl->health->address() : "";

  if (!s.config.ready_file().empty()) {
    if (Status ok = perspective::WriteReadyFile(s.config.ready_file(), impl->address,
                                                impl->metrics_address, health_address);
        !ok) {
      impl->server->Shutdown();
      return fail(ok.error());
    }
  }
  log::Info("serving", {{"address", impl->address},
                        {"metrics", impl->metrics_address},
                        {"health", health_address},
                        {"identity", s.primary.name},
                        {"remotes", s.remotes.size()},
                        {"remotes_per_validation", s.remotes_per_validation},
                        {"policy", s.policy.Describe()},
                        {"enforced", s.policy.enforced()},
                        {"br_compliant", s.policy.br_compliant()},
                        {"resolver", impl->resolver->Describe()},
                        {"lab_mode", impl->dialer->policy().lab_mode()}});
  return std::unique_ptr<PrimaryServer>(new PrimaryServer(std::move(impl)));
}

void PrimaryServer::Shutdown() {
  Impl& impl = *impl_;
  std::call_once(impl.shutdown_once, [&impl] {
    log::Info("shutting down: NOT_SERVING, draining in-flight validations");
    impl.server->GetHealthCheckService()->SetServingStatus(false);
    if (impl.health) impl.health->SetServing(false);
    // No new calls; in-flight validations finish (each bounded by its watchdog) and write
    // their records. Past the deadline gRPC cancels the calls, but each still answers.
    const auto bound = impl.ValidationBound();
    impl.server->Shutdown(std::chrono::system_clock::now() + bound);
    impl.server->Wait();
    log::Info("no validation in flight");
    // Stragglers (cancelled RPCs, a primary check past its decision) still post into Asio.
    if (!impl.outstanding.WaitZero(std::chrono::steady_clock::now() + bound)) {
      log::Error("asynchronous operations still pending at shutdown");
    }
    impl.audit->Close();
    log::Info("audit log closed");
    impl.StopIo();
    impl.remotes.clear();
    if (impl.health) impl.health->Shutdown();
    impl.exposer.reset();  // civetweb notices the stop within its 2 s poll quantum
    if (!impl.settings.config.ready_file().empty()) {
      ::unlink(impl.settings.config.ready_file().c_str());
    }
    log::Info("stopped");
  });
}

}  // namespace mpic::va_primary
