#include "va-primary/primary_server.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <prometheus/exposer.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "mpic/v1/primary.grpc.pb.h"
#include "va-primary/audit.h"
#include "va-primary/config.h"
#include "va-primary/internal/deps.h"
#include "va-primary/internal/log.h"
#include "va-primary/internal/metrics.h"
#include "va-primary/internal/validation.h"
#include "va-primary/request.h"

namespace mpic::va_primary {
namespace {

// A CA request is small; anything bigger is refused before it is parsed (RESOURCE_EXHAUSTED).
constexpr int kMaxReceiveMessageBytes = 64 * 1024;
// Reconnect quickly to a remote that came back (gRPC's default backoff grows to 120 s).
constexpr int kMinReconnectBackoffMs = 250;
constexpr int kMaxReconnectBackoffMs = 2000;

std::string HostOf(const std::string& listen) {
  const std::size_t colon = listen.rfind(':');
  return colon == std::string::npos ? listen : listen.substr(0, colon);
}

// Atomically (write + fsync + rename) so a watcher never reads half a file.
Status WriteReadyFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Fail(ProblemType::kServerInternal,
                "ready_file \"" + tmp + "\": " + std::strerror(errno));
  }
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Fail(ProblemType::kServerInternal, "cannot write ready_file \"" + path + "\"");
  }
  return {};
}

class PrimaryService final : public v1::Primary::CallbackService {
 public:
  explicit PrimaryService(internal::Shared& shared) : shared_(shared) {}

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
      internal::RunValidation(shared_, reactor, std::move(*checked), response);
    } catch (const std::exception& e) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, e.what()));
    }
    return reactor;
  }

 private:
  internal::Shared& shared_;
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
  checks::CheckMetrics check_metrics;
  internal::PrimaryMetrics metrics;
  std::unique_ptr<prometheus::Exposer> exposer;
  std::unique_ptr<AuditLog> audit;
  std::vector<internal::RemoteClient> remotes;
  internal::Outstanding outstanding;
  std::unique_ptr<internal::Shared> shared;
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
  return Start(config, UtcToday());
}

Result<std::unique_ptr<PrimaryServer>> PrimaryServer::Start(const v1::PrimaryConfig& config,
                                                            const quorum::Date& today) {
  auto settings = ValidatePrimaryConfig(config, today);
  if (!settings) return Fail(settings.error());
  auto impl = std::make_unique<Impl>();
  impl->settings = std::move(*settings);
  const PrimarySettings& s = impl->settings;
  for (const std::string& warning : s.warnings) {
    internal::Log("warning", warning, {{"policy", s.policy.Describe()}});
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
      internal::MakeResolver(impl->io.get_executor(), s.config.resolver(), s.config.lab());
  if (!resolver)
    return fail(Error{ProblemType::kMalformed, "resolver: " + resolver.error().detail});
  impl->resolver = std::move(*resolver);
  auto dialer = internal::MakeDialer(impl->io.get_executor(), s.config.lab());
  if (!dialer) return fail(Error{ProblemType::kMalformed, "lab: " + dialer.error().detail});
  impl->dialer = std::move(*dialer);

  auto server_credentials = internal::MakeServerCredentials(s.config.server_tls());
  if (!server_credentials) {
    return fail(Error{ProblemType::kMalformed, "server_tls: " + server_credentials.error().detail});
  }
  auto client_credentials = internal::MakeChannelCredentials(s.config.client_tls());
  if (!client_credentials) {
    return fail(Error{ProblemType::kMalformed, "client_tls: " + client_credentials.error().detail});
  }

  // One long-lived mTLS channel per remote, connecting now (the first handshake is the slow
  // part); an unreachable remote is not an error here, only in the validations that ask it.
  for (std::size_t i = 0; i < s.remotes.size(); ++i) {
    const v1::RemoteEndpoint& endpoint = s.config.remotes(static_cast<int>(i));
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride(endpoint.tls_server_name().empty() ? endpoint.identity().name()
                                                                     : endpoint.tls_server_name());
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, kMinReconnectBackoffMs);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, kMinReconnectBackoffMs);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
    internal::RemoteClient client;
    client.endpoint = endpoint;
    client.perspective = s.remotes[i];
    client.channel = grpc::CreateCustomChannel(endpoint.address(), *client_credentials, args);
    client.stub = v1::Perspective::NewStub(client.channel);
    (void)client.channel->GetState(/*try_to_connect=*/true);
    impl->remotes.push_back(std::move(client));
  }

  auto audit = AuditLog::Open(s.config.audit_log());
  if (!audit) return fail(Error{ProblemType::kMalformed, audit.error().detail});
  impl->audit = std::move(*audit);

  if (!s.config.metrics_listen().empty()) {
    try {
      impl->exposer = std::make_unique<prometheus::Exposer>(s.config.metrics_listen());
      impl->exposer->RegisterCollectable(impl->metrics.registry());
      const std::vector<int> ports = impl->exposer->GetListeningPorts();
      if (ports.empty()) return fail(Error{ProblemType::kServerInternal, "metrics: no port"});
      impl->metrics_address = HostOf(s.config.metrics_listen()) + ":" + std::to_string(ports[0]);
    } catch (const std::exception& e) {
      return fail(Error{ProblemType::kServerInternal,
                        "metrics_listen \"" + s.config.metrics_listen() + "\": " + e.what()});
    }
  }

  impl->shared = std::make_unique<internal::Shared>(internal::Shared{
      impl->settings, impl->io, *impl->resolver, *impl->dialer, impl->clock, impl->check_metrics,
      impl->metrics, *impl->audit, impl->remotes, impl->outstanding});
  impl->io_thread = std::thread([io = &impl->io] { io->run(); });

  impl->service = std::make_unique<PrimaryService>(*impl->shared);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
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
  impl->address = HostOf(s.config.listen()) + ":" + std::to_string(port);

  if (!s.config.ready_file().empty()) {
    nlohmann::ordered_json ready;
    ready["address"] = impl->address;
    ready["metrics"] = impl->metrics_address;
    ready["pid"] = static_cast<int>(::getpid());
    if (Status ok = WriteReadyFile(s.config.ready_file(), ready.dump() + "\n"); !ok) {
      impl->server->Shutdown();
      return fail(ok.error());
    }
  }
  internal::Log("info", "serving",
                {{"address", impl->address},
                 {"metrics", impl->metrics_address},
                 {"identity", s.primary.name},
                 {"remotes", s.remotes.size()},
                 {"remotes_per_validation", s.remotes_per_validation},
                 {"policy", s.policy.Describe()},
                 {"enforced", s.policy.enforced()},
                 {"br_compliant", s.policy.br_compliant()}});
  return std::unique_ptr<PrimaryServer>(new PrimaryServer(std::move(impl)));
}

void PrimaryServer::Shutdown() {
  Impl& impl = *impl_;
  std::call_once(impl.shutdown_once, [&impl] {
    internal::Log("info", "shutting down: NOT_SERVING, draining in-flight validations");
    impl.server->GetHealthCheckService()->SetServingStatus(false);
    // No new calls; in-flight validations finish (each bounded by its watchdog) and write
    // their records. Past the deadline gRPC cancels the calls, but each still answers.
    const auto bound = impl.ValidationBound();
    impl.server->Shutdown(std::chrono::system_clock::now() + bound);
    impl.server->Wait();
    internal::Log("info", "no validation in flight");
    // Stragglers (cancelled RPCs, a primary check past its decision) still post into Asio.
    if (!impl.outstanding.WaitZero(std::chrono::steady_clock::now() + bound)) {
      internal::Log("error", "asynchronous operations still pending at shutdown");
    }
    impl.audit->Close();
    internal::Log("info", "audit log closed");
    impl.StopIo();
    impl.remotes.clear();
    impl.exposer.reset();  // civetweb notices the stop within its 2 s poll quantum
    if (!impl.settings.config.ready_file().empty()) {
      ::unlink(impl.settings.config.ready_file().c_str());
    }
    internal::Log("info", "stopped");
  });
}

}  // namespace mpic::va_primary
