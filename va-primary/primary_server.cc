#include "va-primary/primary_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <unistd.h>

#include <google/protobuf/util/message_differencer.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "mpic/v1/primary.grpc.pb.h"
#include "openmpic/server.h"
#include "perspective/engine.h"
#include "perspective/factories.h"
#include "perspective/health_endpoint.h"
#include "perspective/metrics.h"
#include "perspective/primary_config.h"
#include "perspective/shell.h"
#include "va-primary/admission.h"
#include "va-primary/audit.h"
#include "va-primary/internal/metrics.h"
#include "va-primary/internal/timers.h"
#include "va-primary/internal/validation.h"
#include "va-primary/openmpic_backend.h"
#include "va-primary/rate_limit.h"
#include "va-primary/remote_client.h"
#include "va-primary/request.h"

namespace mpic::va_primary {
namespace {

using perspective::PrimarySettings;

// A CA request is small; anything bigger is refused before it is parsed (RESOURCE_EXHAUSTED).
constexpr int kMaxReceiveMessageBytes = 64 * 1024;

// The caller's deadline on the steady clock (far away when it set none).
Admission::Clock::time_point CallDeadline(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  const auto now = Admission::Clock::now();
  if (deadline == std::chrono::system_clock::time_point::max()) return now + std::chrono::hours(1);
  return now + std::chrono::duration_cast<Admission::Clock::duration>(
                   deadline - std::chrono::system_clock::now());
}

// Admission metrics: validations in flight and waiting (gauges), refusals by reason.
class AdmissionMetrics {
 public:
  explicit AdmissionMetrics(std::shared_ptr<prometheus::Registry> registry)
      : registry_(std::move(registry)),
        in_flight_(prometheus::BuildGauge()
                       .Name("mpic_primary_in_flight")
                       .Help("Validations running now (bounded by max_in_flight)")
                       .Register(*registry_)
                       .Add({})),
        queued_(prometheus::BuildGauge()
                    .Name("mpic_primary_queued")
                    .Help("Validations waiting for a slot")
                    .Register(*registry_)
                    .Add({})),
        refused_(prometheus::BuildCounter()
                     .Name("mpic_primary_refused_total")
                     .Help("Validations refused RESOURCE_EXHAUSTED, by reason")
                     .Register(*registry_)),
        refused_full_(refused_.Add({{"reason", "queue_full"}})),
        refused_timeout_(refused_.Add({{"reason", "queue_timeout"}})) {}

  void Update(const Admission::Counts& counts) {
    std::lock_guard<std::mutex> lock(mutex_);
    in_flight_.Set(counts.in_flight);
    queued_.Set(counts.queued);
    if (counts.refused_full > full_) {
      refused_full_.Increment(static_cast<double>(counts.refused_full - full_));
      full_ = counts.refused_full;
    }
    if (counts.refused_timeout > timeout_) {
      refused_timeout_.Increment(static_cast<double>(counts.refused_timeout - timeout_));
      timeout_ = counts.refused_timeout;
    }
  }

 private:
  std::shared_ptr<prometheus::Registry> registry_;  // owns the families below
  std::mutex mutex_;
  prometheus::Gauge& in_flight_;
  prometheus::Gauge& queued_;
  prometheus::Family<prometheus::Counter>& refused_;
  prometheus::Counter& refused_full_;
  prometheus::Counter& refused_timeout_;
  uint64_t full_ = 0;
  uint64_t timeout_ = 0;
};

// The W3C Trace Context the CA sent as gRPC metadata (or a new trace).
trace::Context TraceFromMetadata(const grpc::CallbackServerContext& context) {
  std::vector<std::string_view> traceparent;
  std::vector<std::string_view> tracestate;
  const auto& metadata = context.client_metadata();
  for (auto [it, end] = metadata.equal_range("traceparent"); it != end; ++it) {
    traceparent.emplace_back(it->second.data(), it->second.size());
  }
  for (auto [it, end] = metadata.equal_range("tracestate"); it != end; ++it) {
    tracestate.emplace_back(it->second.data(), it->second.size());
  }
  return trace::Accept(traceparent, tracestate);
}

// Validate takes the raw request bytes and parses them itself: bytes that are not a
// ValidateRequest get INVALID_ARGUMENT with a reason (gRPC's generated code answers them with a
// bare UNIMPLEMENTED).
class PrimaryService final
    : public v1::Primary::WithRawCallbackMethod_Validate<v1::Primary::Service> {
 public:
  PrimaryService(std::function<internal::Env()> current, std::shared_ptr<Admission> admission,
                 RateLimitGate& rate_limits)
      : current_(std::move(current)),
        admission_(std::move(admission)),
        rate_limits_(rate_limits) {}

  grpc::ServerUnaryReactor* Validate(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* request_bytes,
                                     grpc::ByteBuffer* response) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    try {
      // The configuration in force now; the validation keeps it to the end, whatever a reload
      // does meanwhile.
      internal::Env env = current_();
      // Only the CA clients named in authorized_clients (any fleet certificate in lab mode).
      if (grpc::Status allowed = perspective::AuthorizePeer(
              context->auth_context().get(), env.settings.config.authorized_clients(),
              "authorized_clients");
          !allowed.ok()) {
        log::Warning("validation refused",
                     {{"code", "PERMISSION_DENIED"}, {"error", allowed.error_message()}});
        reactor->Finish(allowed);
        return reactor;
      }
      trace::Context trace = TraceFromMetadata(*context);
      v1::ValidateRequest request;
      if (Status parsed =
              perspective::ParseMessage(*request_bytes, "mpic.v1.ValidateRequest", &request);
          !parsed) {
        reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, parsed.error().detail));
        return reactor;
      }
      auto checked = CheckValidateRequest(request);
      if (!checked) {
        reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, checked.error().detail));
        return reactor;
      }
      // Rate limits first (per account, per identifier), then admission.
      if (Status limited = rate_limits_.Admit(*checked, trace); !limited) {
        reactor->Finish(
            grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, limited.error().detail));
        return reactor;
      }
      // At most max_in_flight validations run; the rest wait briefly or are refused.
      admission_->Acquire(
          CallDeadline(*context),
          [this, reactor, response, env = std::move(env), request = std::move(*checked),
           trace = std::move(trace)](Admission::Ticket ticket) mutable {
            if (!ticket) {
              log::Warning("validation refused", {{"code", "RESOURCE_EXHAUSTED"},
                                                  {"trace_id", trace.trace_id},
                                                  {"error", ticket.error().detail}});
              reactor->Finish(
                  grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, ticket.error().detail));
              return;
            }
            Run(env, reactor, response, std::move(request), std::move(trace),
                std::move(*ticket));
          });
    } catch (const std::exception& e) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, e.what()));
    }
    return reactor;
  }

 private:
  void Run(const internal::Env& env, grpc::ServerUnaryReactor* reactor,
           grpc::ByteBuffer* response, CheckedRequest request, trace::Context trace,
           std::shared_ptr<Admission::Slot> slot) {
    try {
      internal::ValidationOptions options;
      options.trace = std::move(trace);
      internal::RunValidation(
          env, std::move(request), std::move(options),
          [reactor, response, slot](grpc::Status status, v1::ValidateResponse answer) {
            slot->Release();  // the record is written: the next validation may start
            if (status.ok()) {
              if (Status serialized = perspective::SerializeMessage(answer, response);
                  !serialized) {
                status = grpc::Status(grpc::StatusCode::INTERNAL, serialized.error().detail);
              }
            }
            reactor->Finish(status);
          });
    } catch (const std::exception& e) {
      reactor->Finish(grpc::Status(grpc::StatusCode::INTERNAL, e.what()));
    }
  }

  std::function<internal::Env()> current_;
  std::shared_ptr<Admission> admission_;
  RateLimitGate& rate_limits_;
};

// One applied configuration: its settings and the channels to its remotes. Validations hold it
// (internal::Env::keep_alive) until their record is written; a reload makes a new one.
struct Generation {
  PrimarySettings settings;
  perspective::TlsPems client_pems;  // what the channels present to the remotes
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  std::vector<std::shared_ptr<RemoteClient>> clients;  // parallel to settings.config.remotes()
  std::vector<RemoteClient*> raw;                      // the same, for internal::Env
};

// The generation for `settings`: client_tls read again; channels of `previous` reused for the
// remotes whose endpoint did not change while the client certificate did not either (no new
// handshake), new ones otherwise (connecting now). In-flight calls keep their old channels.
Result<std::shared_ptr<Generation>> BuildGeneration(PrimarySettings settings,
                                                    const Generation* previous) {
  auto generation = std::make_shared<Generation>();
  auto pems = perspective::LoadTlsFiles(settings.config.client_tls(), "client_tls");
  if (!pems) return Fail(pems.error());
  generation->client_pems = std::move(*pems);
  const bool same_tls = previous != nullptr && previous->client_pems == generation->client_pems;
  if (same_tls) {
    generation->credentials = previous->credentials;
  } else {
    auto credentials = perspective::MakeChannelCredentials(generation->client_pems);
    if (!credentials) {
      return Fail(ProblemType::kMalformed, "client_tls: " + credentials.error().detail);
    }
    generation->credentials = std::move(*credentials);
  }
  for (const v1::RemoteEndpoint& endpoint : settings.config.remotes()) {
    std::shared_ptr<RemoteClient> client;
    if (same_tls) {
      for (const std::shared_ptr<RemoteClient>& old : previous->clients) {
        if (google::protobuf::util::MessageDifferencer::Equals(old->endpoint(), endpoint)) {
          client = old;
        }
      }
    }
    // Each call's deadline comes from the validation (settings.RemoteTimeoutFor).
    if (!client) client = std::make_shared<GrpcRemoteClient>(endpoint, generation->credentials);
    generation->clients.push_back(client);
    generation->raw.push_back(client.get());
  }
  generation->settings = std::move(settings);
  return generation;
}

// The Open MPIC REST API (docs/openmpic.md): the server's options from the validated settings.
openmpic::ServerOptions OpenMpicServerOptions(const PrimarySettings& s, bool lab_mode,
                                              std::chrono::milliseconds validation_bound) {
  const perspective::OpenMpicOptions& o = s.openmpic;
  openmpic::ServerOptions options;
  options.listen = o.listen;
  options.plaintext = o.plaintext;
  options.lab_mode = lab_mode;
  options.cert_file = o.tls.cert_file();
  options.key_file = o.tls.key_file();
  options.ca_file = o.tls.ca_file();
  options.api_key_header = o.api_key_header;
  for (const perspective::OpenMpicApiKey& key : o.api_keys) {
    options.api_keys.push_back({key.name, key.value});
  }
  options.max_body_bytes = o.max_body_bytes;
  options.read_timeout = o.read_timeout;
  // Every attempt is bounded by the validation's own bound; the server waits for all of them.
  options.backend_timeout = o.backend_timeout.count() > 0
                                ? o.backend_timeout
                                : validation_bound * o.max_attempts + std::chrono::seconds(1);
  options.max_connections = o.max_connections;
  options.decode.default_caa_domains.assign(o.default_caa_domains.begin(),
                                            o.default_caa_domains.end());
  // mpic.v1 carries both (ValidateRequest.key_authorization_sha256, .certificate_type).
  options.decode.accept_key_authorization_hash = true;
  options.decode.accept_smime = true;
  options.floor.policy = s.policy;
  options.floor.min_perspectives = s.remotes_per_validation;
  options.floor.pool_size = static_cast<int>(s.remotes.size());
  options.floor.max_attempts = o.max_attempts;
  options.floor.allow_monitoring = o.allow_monitoring;
  options.configz_extra = {{"remote_timeout_ms", s.remote_timeout.count()},
                           {"max_check_ms", s.max_check.count()},
                           {"straggler_grace_ms", s.straggler_grace.count()}};
  return options;
}

}  // namespace

struct PrimaryServer::Impl {
  // The settings the server started with: restart-only fields (listeners, ready file, audit log,
  // Open MPIC, ...) come from here; what a reload may change comes from `current`.
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
  internal::Outstanding outstanding;
  // The configuration in force (SIGHUP replaces it); validations keep the one they started on.
  mutable std::mutex current_mutex;
  std::shared_ptr<const Generation> current;
  std::mutex reload_mutex;  // one reload (or client certificate refresh) at a time
  std::unique_ptr<perspective::ReloadMetrics> reload_metrics;
  std::atomic<int64_t> longest_bound_ms{0};  // of every generation applied (shutdown waits it)
  // Re-reads client_tls every kCertificateRefresh: a rotated client certificate gets new
  // channels without a SIGHUP.
  std::thread tls_watcher;
  std::mutex watcher_mutex;
  std::condition_variable watcher_wake;
  bool watcher_stop = false;
  std::string watcher_last_problem;
  std::atomic<uint64_t> validations_started{0};  // CurrentEnv calls: work for the trimmer
  std::unique_ptr<perspective::MemoryTrimmer> trimmer;  // null when MPIC_MALLOC_TRIM=0
  // Shared with the admission's observer, which a slot released late may still call.
  std::shared_ptr<AdmissionMetrics> admission_metrics;
  std::shared_ptr<Admission> admission;
  std::unique_ptr<RateLimitGate> rate_limits;
  std::unique_ptr<PrimaryService> service;
  std::unique_ptr<grpc::Server> server;
  std::string address;
  std::string metrics_address;
  std::once_flag shutdown_once;
  // The Open MPIC REST API, when configured: its own I/O thread, validations on `io`.
  struct OpenMpic {
    asio::io_context io{1};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::thread thread;
    std::unique_ptr<OpenMpicBackend> backend;
    std::unique_ptr<openmpic::Server> server;
    std::string address;
  };
  std::unique_ptr<OpenMpic> openmpic;

  // Bound on one validation from start to record: the watchdog plus grace plus slack.
  static std::chrono::milliseconds BoundOf(const PrimarySettings& s) {
    return s.longest_max_check + s.remote_timeout + s.straggler_grace + std::chrono::seconds(2);
  }
  // The longest of every configuration applied (a validation may still run on an older one).
  std::chrono::milliseconds ValidationBound() const {
    return std::chrono::milliseconds(longest_bound_ms.load());
  }

  std::shared_ptr<const Generation> Current() const {
    std::lock_guard<std::mutex> lock(current_mutex);
    return current;
  }

  // What a validation starting now runs with.
  internal::Env CurrentEnv() {
    validations_started.fetch_add(1, std::memory_order_relaxed);
    std::shared_ptr<const Generation> generation = Current();
    AuditLog* audit_log = audit.get();
    return internal::Env{generation->settings,
                         io.get_executor(),
                         *engine,
                         generation->raw,
                         timers,
                         metrics,
                         [audit_log](std::string line, std::function<void(Status)> done) {
                           audit_log->Append(std::move(line), std::move(done));
                         },
                         outstanding,
                         generation};
  }

  // Puts `generation` in force for new validations.
  void Apply(std::shared_ptr<const Generation> generation) {
    const int64_t bound = BoundOf(generation->settings).count();
    int64_t seen = longest_bound_ms.load();
    while (bound > seen && !longest_bound_ms.compare_exchange_weak(seen, bound)) {
    }
    const int limit = generation->settings.max_in_flight;
    {
      std::lock_guard<std::mutex> lock(current_mutex);
      current = std::move(generation);
    }
    if (admission) admission->SetLimits(limit, limit);
  }

  Status Reload(const std::string& path);
  void WatchClientTls();
  void StopTlsWatcher() {
    {
      std::lock_guard<std::mutex> lock(watcher_mutex);
      watcher_stop = true;
    }
    watcher_wake.notify_all();
    if (tls_watcher.joinable()) tls_watcher.join();
  }

  // Start, or stop (closing every connection) the Open MPIC API; no-ops when not configured.
  Status StartOpenMpic(bool lab_mode) {
    if (!settings.openmpic.enabled) return {};
    openmpic = std::make_unique<OpenMpic>();
    openmpic->backend =
        std::make_unique<OpenMpicBackend>([this] { return CurrentEnv(); }, rate_limits.get(),
                                          admission);
    auto started = openmpic::Server::Start(
        openmpic->io, OpenMpicServerOptions(settings, lab_mode, ValidationBound()),
        *openmpic->backend);
    if (!started) return Fail(ProblemType::kMalformed, "openmpic: " + started.error().detail);
    openmpic->server = std::move(*started);
    const auto endpoint = openmpic->server->endpoint();
    const std::string host = endpoint.address().to_string();
    openmpic->address = (endpoint.address().is_v6() ? "[" + host + "]" : host) + ":" +
                        std::to_string(endpoint.port());
    openmpic->work.emplace(asio::make_work_guard(openmpic->io));
    openmpic->thread = std::thread([io = &openmpic->io] { io->run(); });
    return {};
  }
  // The server drains (no new connections, idle keep-alive ones closed, in-flight requests
  // answered within `bound` and their connections closed after the answer, anything arriving
  // meanwhile 503), then the backend refuses new work and its last validations (those whose
  // HTTP answer was given up with a 504) finish, then the server's thread stops.
  void StopOpenMpic(std::chrono::milliseconds bound) {
    if (!openmpic) return;
    const auto deadline = std::chrono::steady_clock::now() + bound + std::chrono::seconds(1);
    if (openmpic->server && !openmpic->server->Drain(deadline)) {
      log::Error("Open MPIC connections still open at the shutdown deadline: closed");
    }
    if (openmpic->backend) openmpic->backend->Close();
    if (openmpic->backend && !openmpic->backend->WaitIdle(deadline)) {
      log::Error("Open MPIC requests still in flight at shutdown");
    }
    openmpic->work.reset();
    openmpic->io.stop();
    if (openmpic->thread.joinable()) openmpic->thread.join();
    openmpic->server.reset();
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
std::string PrimaryServer::openmpic_address() const {
  return impl_->openmpic ? impl_->openmpic->address : "";
}

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
  // Lab mode is never silent: the log, /metrics (mpic_non_production) and every audit record.
  for (const std::string& reason : s.non_production) {
    log::Warning("NOT FOR PRODUCTION: " + reason);
  }
  perspective::ExportNonProduction(*impl->metrics.registry(), "primary", s.non_production);
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
  // One long-lived mTLS channel per remote, connecting now (the first handshake is the slow
  // part); an unreachable remote is not an error here, only in the validations that ask it.
  auto generation = BuildGeneration(impl->settings, nullptr);
  if (!generation) return fail(generation.error());
  impl->reload_metrics = std::make_unique<perspective::ReloadMetrics>(*impl->metrics.registry(),
                                                                      "primary");
  impl->engine = std::make_unique<perspective::Engine>(*impl->resolver, *impl->dialer,
                                                       impl->clock, impl->check_metrics);

  AuditLogOptions audit_options;
  audit_options.max_bytes = s.config.audit_max_bytes();
  audit_options.non_production = s.non_production;
  auto audit = AuditLog::Open(s.config.audit_log(), std::move(audit_options));
  if (!audit) return fail(Error{ProblemType::kMalformed, audit.error().detail});
  impl->audit = std::move(*audit);

  auto metrics_endpoint =
      perspective::StartMetrics(s.config.metrics_listen(), {impl->metrics.registry()});
  if (!metrics_endpoint) return fail(metrics_endpoint.error());
  impl->exposer = std::move(metrics_endpoint->exposer);
  impl->metrics_address = metrics_endpoint->address;

  impl->Apply(std::move(*generation));
  impl->io_thread = std::thread([io = &impl->io] { io->run(); });
  impl->rate_limits = std::make_unique<RateLimitGate>(s.rate_limits, *impl->metrics.registry());

  impl->admission_metrics = std::make_shared<AdmissionMetrics>(impl->metrics.registry());
  impl->admission =
      Admission::Make(impl->io.get_executor(),
                      {s.max_in_flight, s.max_in_flight,
                       std::chrono::milliseconds(perspective::kAdmissionMaxWaitMs)},
                      [m = impl->admission_metrics](const Admission::Counts& c) { m->Update(c); });
  impl->admission_metrics->Update(impl->admission->counts());
  impl->service = std::make_unique<PrimaryService>(
      [self = impl.get()] { return self->CurrentEnv(); }, impl->admission, *impl->rate_limits);
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
  }
  const std::string health_address = impl->health ? impl->health->address() : "";
  if (Status ok = impl->StartOpenMpic(impl->dialer->policy().lab_mode()); !ok) {
    impl->server->Shutdown();
    impl->StopOpenMpic(std::chrono::milliseconds(0));
    return fail(ok.error());
  }
  if (impl->health) impl->health->SetServing(true);  // every listener is up
  const std::string openmpic_address = impl->openmpic ? impl->openmpic->address : "";

  if (!s.config.ready_file().empty()) {
    if (Status ok = perspective::WriteReadyFile(s.config.ready_file(), impl->address,
                                                impl->metrics_address, health_address,
                                                openmpic_address);
        !ok) {
      impl->server->Shutdown();
      impl->StopOpenMpic(std::chrono::milliseconds(0));
      return fail(ok.error());
    }
  }
  log::Info("serving", {{"address", impl->address},
                        {"metrics", impl->metrics_address},
                        {"health", health_address},
                        {"openmpic", openmpic_address},
                        {"identity", s.primary.name},
                        {"remotes", s.remotes.size()},
                        {"remotes_per_validation", s.remotes_per_validation},
                        {"policy", s.policy.Describe()},
                        {"enforced", s.policy.enforced()},
                        {"br_compliant", s.policy.br_compliant()},
                        {"resolver", impl->resolver->Describe()},
                        {"lab_mode", impl->dialer->policy().lab_mode()},
                        {"non_production", !s.non_production.empty()},
                        {"non_production_reasons", s.non_production},
                        {"max_in_flight", s.max_in_flight},
                        {"rate_limits", s.rate_limits.Describe()},
                        {"authorized_clients", s.config.authorized_clients_size()},
                        {"audit_max_bytes", s.config.audit_max_bytes()}});
  impl->tls_watcher = std::thread([self = impl.get()] { self->WatchClientTls(); });
  // After a burst, give the freed memory back (docs/BENCHMARKS.md, the soak section).
  impl->trimmer = perspective::StartMemoryTrimmer(
      [self = impl.get()] {
        const Admission::Counts counts = self->admission->counts();
        return counts.in_flight == 0 && counts.queued == 0;
      },
      [self = impl.get()] { return self->validations_started.load(std::memory_order_relaxed); });
  return std::unique_ptr<PrimaryServer>(new PrimaryServer(std::move(impl)));
}

Status PrimaryServer::Reload(const std::string& path) { return impl_->Reload(path); }

Status PrimaryServer::Impl::Reload(const std::string& path) {
  std::lock_guard<std::mutex> lock(reload_mutex);
  const std::shared_ptr<const Generation> running = Current();
  auto refuse = [&](const std::string& why) { return reload_metrics->Refuse(path, why); };
  auto next = perspective::LoadPrimaryConfig(path);
  if (!next) return refuse(next.error().detail);
  auto checked =
      perspective::CheckPrimaryReload(running->settings.config, *next, perspective::UtcToday());
  if (!checked) return refuse(checked.error().detail);
  if (checked->non_production != running->settings.non_production) {
    // Every audit record carries the start's list: what makes it non-production is fixed.
    return refuse("restart to change what makes this configuration non-production (now: " +
                  std::to_string(running->settings.non_production.size()) + " reason(s), new: " +
                  std::to_string(checked->non_production.size()) + ")");
  }
  auto generation = BuildGeneration(std::move(*checked), running.get());
  if (!generation) return refuse(generation.error().detail);
  const std::vector<std::string> changed =
      perspective::ChangedFields(running->settings.config, *next);
  const bool new_client_certificate = (*generation)->client_pems != running->client_pems;
  const PrimarySettings& s = (*generation)->settings;
  for (const std::string& warning : s.warnings) {
    log::Warning(warning, {{"policy", s.policy.Describe()}});
  }
  Apply(*generation);
  reload_metrics->Applied();
  log::Info("configuration reloaded: new validations use it, those in flight finish on theirs",
            {{"config", path},
             {"changed", changed},
             {"client_certificate", new_client_certificate ? "re-read: new channels" : "same"},
             {"remotes", s.remotes.size()},
             {"remotes_per_validation", s.remotes_per_validation},
             {"policy", s.policy.Describe()},
             {"max_in_flight", s.max_in_flight},
             {"authorized_clients", s.config.authorized_clients_size()}});
  return {};
}

void PrimaryServer::Impl::WatchClientTls() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(watcher_mutex);
      if (watcher_wake.wait_for(lock, perspective::kCertificateRefresh,
                                [this] { return watcher_stop; })) {
        return;
      }
    }
    std::lock_guard<std::mutex> lock(reload_mutex);
    const std::shared_ptr<const Generation> running = Current();
    auto pems = perspective::LoadTlsFiles(running->settings.config.client_tls(), "client_tls");
    if (!pems) {
      // Mid-rotation (a key that does not match the certificate yet) or gone: keep the pair in
      // use, say so once per distinct problem.
      if (pems.error().detail != watcher_last_problem) {
        watcher_last_problem = pems.error().detail;
        log::Warning("client_tls files not usable; the client certificate in use is kept",
                     {{"error", pems.error().detail}});
      }
      continue;
    }
    watcher_last_problem.clear();
    if (*pems == running->client_pems) continue;
    auto generation = BuildGeneration(running->settings, running.get());
    if (!generation) {
      log::Warning("rotated client certificate not taken", {{"error", generation.error().detail}});
      continue;
    }
    Apply(std::move(*generation));
    log::Info("client certificate re-read: new channels to the remotes (in-flight calls keep "
              "theirs)",
              {{"cert_file", running->settings.config.client_tls().cert_file()}});
  }
}

void PrimaryServer::Shutdown() {
  Impl& impl = *impl_;
  std::call_once(impl.shutdown_once, [&impl] {
    log::Info("shutting down: NOT_SERVING, draining in-flight validations");
    impl.StopTlsWatcher();
    impl.trimmer.reset();
    impl.server->GetHealthCheckService()->SetServingStatus(false);
    if (impl.health) impl.health->SetServing(false);
    // No new calls; in-flight validations finish (each bounded by its watchdog) and write
    // their records. Past the deadline gRPC cancels the calls, but each still answers.
    const auto bound = impl.ValidationBound();
    impl.StopOpenMpic(bound * impl.settings.openmpic.max_attempts);
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
    {
      std::lock_guard<std::mutex> lock(impl.current_mutex);
      impl.current.reset();
    }
    if (impl.health) impl.health->Shutdown();
    impl.exposer.reset();  // civetweb notices the stop within its 2 s poll quantum
    if (!impl.settings.config.ready_file().empty()) {
      ::unlink(impl.settings.config.ready_file().c_str());
    }
    log::Info("stopped");
  });
}

}  // namespace mpic::va_primary
