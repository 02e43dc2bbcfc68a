#include "va-remote/remote_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <prometheus/exposer.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "checks/check.h"
#include "checks/tcp_dialer.h"
#include "common/log.h"
#include "common/trace_context.h"
#include "mpic/v1/perspective.grpc.pb.h"
#include "perspective/config.h"
#include "perspective/engine.h"
#include "perspective/factories.h"
#include "perspective/health_endpoint.h"
#include "perspective/metrics.h"
#include "perspective/shell.h"
#include "perspective/wire.h"
#include "va-remote/remote_metrics.h"

namespace mpic::va_remote {
namespace {

using nlohmann::ordered_json;
using perspective::GrpcCodeName;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Of the caller's remaining time, this much (at most) is kept back so that a check that
// times out can still be reported as a result before the caller gives up.
constexpr milliseconds kReplyMargin{100};
// Bounds on log field sizes (identifiers are at most 253 octets; ids are ours or the primary's).
constexpr size_t kMaxLoggedField = 300;

std::string Truncate(std::string_view s) {
  return std::string(s.substr(0, std::min(s.size(), kMaxLoggedField)));
}

class Call;

// The gRPC side of one Check RPC. It only posts into Asio; it is deleted by gRPC (OnDone)
// after Finish. Its reference to the call may be the last one: ~Call is safe on any thread.
class CheckReactor final : public grpc::ServerUnaryReactor {
 public:
  CheckReactor(asio::any_io_executor executor, std::shared_ptr<Call> call)
      : executor_(std::move(executor)), call_(std::move(call)) {}

  void OnCancel() override;
  void OnDone() override;

 private:
  asio::any_io_executor executor_;
  std::shared_ptr<Call> call_;
};

}  // namespace

struct RemoteServer::Impl {
  v1::RemoteConfig config;  // as started: the restart-only fields (identity, listeners, ...)
  // What a reload (SIGHUP) may change; each Check reads it once, at its start.
  struct Live {
    v1::RemoteConfig config;  // the configuration in force (reloads compare with it)
    milliseconds max_check{perspective::kDefaultRemoteMaxCheckMs};
    int max_concurrent = static_cast<int>(perspective::kDefaultMaxConcurrent);
  };
  mutable std::mutex live_mutex;
  std::shared_ptr<const Live> live;
  std::mutex reload_mutex;  // one reload at a time
  std::unique_ptr<perspective::ReloadMetrics> reload_metrics;
  std::string address;
  std::string metrics_address;

  std::unique_ptr<RemoteMetrics> metrics;
  std::unique_ptr<prometheus::Exposer> exposer;
  std::unique_ptr<perspective::HealthEndpoint> health;  // plaintext probe port; null when off
  std::unique_ptr<resolver::Resolver> resolver;
  std::unique_ptr<checks::TcpDialer> dialer;
  checks::TimeSource clock;
  std::unique_ptr<perspective::Engine> engine;

  std::unique_ptr<asio::io_context> io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread io_thread;

  std::unique_ptr<grpc::Service> service;
  std::unique_ptr<grpc::Server> server;

  // Check RPCs admitted and not yet fully done (their checks still hold a slot).
  std::atomic<int> admitted{0};
  // Calls alive, by id; touched on the check thread only.
  std::map<uint64_t, std::weak_ptr<Call>> calls;
  std::atomic<uint64_t> next_call_id{1};
  std::mutex calls_done_mutex;
  std::condition_variable calls_done;

  std::once_flag shutdown_once;
  std::unique_ptr<perspective::MemoryTrimmer> trimmer;  // null when MPIC_MALLOC_TRIM=0

  ~Impl();
  std::shared_ptr<const Live> CurrentLive() const {
    std::lock_guard<std::mutex> lock(live_mutex);
    return live;
  }
  static std::shared_ptr<const Live> LiveOf(const v1::RemoteConfig& config) {
    auto out = std::make_shared<Live>();
    out->config = config;
    if (config.max_check_ms() != 0) out->max_check = milliseconds(config.max_check_ms());
    if (config.max_concurrent() != 0) {
      out->max_concurrent = static_cast<int>(config.max_concurrent());
    }
    return out;
  }
  Status Reload(const std::string& path);
  grpc::ServerUnaryReactor* HandleCheck(grpc::CallbackServerContext* context,
                                        const grpc::ByteBuffer* request_bytes,
                                        grpc::ByteBuffer* response);
  void ShutdownNow(milliseconds grace);
};

namespace {

// One Check RPC on the check thread: runs its plan on the engine, finishes the RPC exactly once
// (result, cancellation or watchdog); the engine drops results that arrive after that.
class Call : public std::enable_shared_from_this<Call> {
 public:
  struct Params {
    uint64_t id = 0;
    perspective::CheckPlan plan;
    uint32_t attempt = 0;
    std::string peer;
    std::string trace_id;   // the caller's W3C trace ("" when it sent no valid traceparent)
    std::string parent_id;  // the caller's span for this call
  };

  Call(RemoteServer::Impl& impl, Params params, grpc::ByteBuffer* response)
      : impl_(impl),
        params_(std::move(params)),
        response_(response),
        start_(SteadyClock::now()),
        dcv_requested_(params_.plan.dcv.has_value()),
        caa_requested_(params_.plan.caa.has_value()) {
    impl_.metrics->AddInflight(1);
    const auto& any = params_.plan.dcv ? params_.plan.dcv : params_.plan.caa;
    identifier_ = any ? Truncate(any->identifier) : "";
    request_id_ = Truncate(params_.plan.request_id);
    dcv_method_ = params_.plan.dcv ? std::string(checks::MethodName(params_.plan.dcv->method)) : "";
  }

  ~Call() {
    // Runs on whichever thread lets go last (the check thread, or gRPC's after OnDone): it
    // touches only thread-safe state. The entry in `calls` went when the call finished.
    impl_.metrics->AddInflight(-1);
    impl_.admitted.fetch_sub(1);
    std::lock_guard<std::mutex> lock(impl_.calls_done_mutex);
    impl_.calls_done.notify_all();
  }

  // gRPC thread, before any other use: where Finish goes.
  void Bind(grpc::ServerUnaryReactor* reactor) { reactor_ = reactor; }

  // Check thread.
  void Start() {
    if (finished_) return;  // cancelled before it started
    impl_.calls[params_.id] = weak_from_this();
    run_ = impl_.engine->Start(impl_.io->get_executor(), std::move(params_.plan),
                               [self = shared_from_this()](perspective::PlanResult r) {
                                 self->OnPlan(std::move(r));
                               });
  }

  // Check thread: the client went away or the server is shutting down.
  void Cancel() {
    if (run_) run_->Cancel();
    if (!finished_) FinishWith(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"), nullptr);
  }

 private:
  void OnPlan(perspective::PlanResult result) {
    if (finished_) return;
    if (result.end == perspective::PlanResult::End::kOverran) {
      return FinishWith(
          grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "check overran its deadline"),
          nullptr);
    }
    if (result.end != perspective::PlanResult::End::kDone) return;
    v1::CheckResponse reply;
    *reply.mutable_perspective() = impl_.config.identity();
    if (result.dcv) *reply.mutable_dcv() = perspective::OutcomeToProto(*result.dcv);
    if (result.caa) *reply.mutable_caa() = perspective::OutcomeToProto(*result.caa);
    if (Status serialized = perspective::SerializeMessage(reply, response_); !serialized) {
      return FinishWith(grpc::Status(grpc::StatusCode::INTERNAL, serialized.error().detail),
                        nullptr);
    }
    FinishWith(grpc::Status::OK, &result);
  }

  static std::string Verdict(const std::optional<checks::CheckResult>& r) {
    if (!r) return "none";  // finished before this check
    if (r->valid) return "valid";
    return "invalid:" + std::string(r->problem ? ProblemTypeName(r->problem->type) : "none");
  }

  void FinishWith(grpc::Status status, const perspective::PlanResult* result) {
    finished_ = true;
    impl_.calls.erase(params_.id);  // nothing left to cancel at shutdown
    // Let go of the run here, on the check thread: the call itself may be released last on a
    // gRPC thread, and the run's resolver state belongs to the check thread.
    run_.reset();
    impl_.metrics->CountRequest(status.error_code());
    const std::optional<checks::CheckResult> none;
    ordered_json fields;
    fields["request_id"] = request_id_;
    fields["trace_id"] = params_.trace_id;
    fields["parent_id"] = params_.parent_id;
    fields["identifier"] = identifier_;
    fields["attempt"] = params_.attempt;
    fields["dcv_method"] = dcv_method_;
    fields["dcv"] = dcv_requested_ ? Verdict(result ? result->dcv : none) : "not requested";
    fields["caa"] = caa_requested_ ? Verdict(result ? result->caa : none) : "not requested";
    fields["code"] = std::string(GrpcCodeName(status.error_code()));
    if (!status.ok()) fields["error"] = status.error_message();
    fields["duration_ms"] =
        std::chrono::duration<double, std::milli>(SteadyClock::now() - start_).count();
    fields["peer"] = Truncate(params_.peer);
    log::Write(status.ok() ? log::Level::kInfo : log::Level::kWarning, "check", fields);
    grpc::ServerUnaryReactor* reactor = reactor_;
    reactor_ = nullptr;
    response_ = nullptr;  // owned by gRPC; not ours to touch after Finish
    reactor->Finish(std::move(status));
  }

  RemoteServer::Impl& impl_;
  Params params_;
  grpc::ByteBuffer* response_;  // the serialized CheckResponse goes here
  grpc::ServerUnaryReactor* reactor_ = nullptr;
  SteadyClock::time_point start_;
  bool dcv_requested_;
  bool caa_requested_;
  std::string identifier_;
  std::string request_id_;
  std::string dcv_method_;
  std::shared_ptr<perspective::PlanRun> run_;
  bool finished_ = false;
};

void CheckReactor::OnCancel() {
  asio::post(executor_, [call = call_] { call->Cancel(); });
}

void CheckReactor::OnDone() {
  // No hop to the check thread just to let go of the call (one thread wake-up per RPC less).
  delete this;
}

// The generated callback service, taking Check's raw bytes (so that bytes that are not a
// CheckRequest get INVALID_ARGUMENT with a reason, not gRPC's bare UNIMPLEMENTED); everything
// happens in Impl::HandleCheck.
class PerspectiveService final
    : public v1::Perspective::WithRawCallbackMethod_Check<v1::Perspective::Service> {
 public:
  explicit PerspectiveService(RemoteServer::Impl& impl) : impl_(impl) {}

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override {
    return impl_.HandleCheck(context, request, response);
  }

 private:
  RemoteServer::Impl& impl_;
};

// The caller's W3C traceparent (gRPC metadata), when exactly one valid one came.
std::optional<trace::Traceparent> CallerTrace(const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  if (metadata.count("traceparent") != 1) return std::nullopt;
  const grpc::string_ref value = metadata.find("traceparent")->second;
  return trace::ParseTraceparent(std::string_view(value.data(), value.size()));
}

std::string PeerName(const grpc::CallbackServerContext& context) {
  auto auth = context.auth_context();
  if (!auth) return "";
  for (const char* property : {"x509_common_name", GRPC_X509_SAN_PROPERTY_NAME}) {
    auto values = auth->FindPropertyValues(property);
    if (!values.empty()) return std::string(values.front().data(), values.front().size());
  }
  return "";
}

// The check deadline: at most max_check from now, and always inside the caller's deadline less
// a margin to reply in (gRPC rounds the transmitted timeout up, so a check that ran to the
// caller's own deadline would answer after the caller gave up and its evidence would be lost).
checks::Deadline CheckDeadline(std::chrono::system_clock::time_point call_deadline,
                               milliseconds max_check) {
  const auto now = SteadyClock::now();
  const auto now_wall = std::chrono::system_clock::now();
  const auto limit = now + max_check;
  if (call_deadline == std::chrono::system_clock::time_point::max()) return limit;  // none
  const auto left = std::chrono::duration_cast<milliseconds>(call_deadline - now_wall);
  if (left <= milliseconds(0)) return now;
  return std::min(limit, now + left - std::min(kReplyMargin, left / 10));
}

}  // namespace

grpc::ServerUnaryReactor* RemoteServer::Impl::HandleCheck(grpc::CallbackServerContext* context,
                                                          const grpc::ByteBuffer* request_bytes,
                                                          grpc::ByteBuffer* response) {
  v1::CheckRequest parsed;
  const v1::CheckRequest* request = &parsed;
  const std::optional<trace::Traceparent> caller_trace = CallerTrace(*context);
  auto refuse = [&](grpc::StatusCode code, std::string message) {
    metrics->CountRequest(code);
    log::Warning("check refused", {{"request_id", Truncate(request->request_id())},
                                   {"trace_id", caller_trace ? caller_trace->trace_id : ""},
                                   {"identifier", Truncate(request->identifier())},
                                   {"code", std::string(GrpcCodeName(code))},
                                   {"error", message},
                                   {"peer", Truncate(PeerName(*context))}});
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status(code, std::move(message)));
    return reactor;
  };
  // The configuration in force when the call arrived (a reload applies to later calls).
  const std::shared_ptr<const Live> now = CurrentLive();
  const milliseconds max_check = now->max_check;
  const int max_concurrent = now->max_concurrent;
  // Only the primaries named in authorized_primaries (any fleet certificate in lab mode).
  if (grpc::Status allowed = perspective::AuthorizePeer(context->auth_context().get(),
                                                        now->config.authorized_primaries(),
                                                        "authorized_primaries");
      !allowed.ok()) {
    return refuse(allowed.error_code(), allowed.error_message());
  }
  if (Status ok = perspective::ParseMessage(*request_bytes, "mpic.v1.CheckRequest", &parsed); !ok) {
    return refuse(grpc::StatusCode::INVALID_ARGUMENT, ok.error().detail);
  }
  auto deadline = CheckDeadline(context->deadline(), max_check);
  auto plan = perspective::CheckPlanFromProto(*request, deadline);
  if (!plan) return refuse(grpc::StatusCode::INVALID_ARGUMENT, plan.error().detail);
  if (admitted.fetch_add(1) >= max_concurrent) {
    admitted.fetch_sub(1);
    return refuse(grpc::StatusCode::RESOURCE_EXHAUSTED,
                  "perspective busy: " + std::to_string(max_concurrent) + " checks in flight");
  }
  Call::Params params;
  params.id = next_call_id.fetch_add(1);
  params.plan = std::move(*plan);
  params.attempt = request->attempt();
  params.peer = PeerName(*context);
  if (caller_trace) {
    params.trace_id = caller_trace->trace_id;
    params.parent_id = caller_trace->parent_id;
  }
  // From here on the admission slot belongs to the call (released by its destructor).
  auto call = std::make_shared<Call>(*this, std::move(params), response);
  auto executor = io->get_executor();
  auto* reactor = new CheckReactor(executor, call);
  call->Bind(reactor);
  asio::post(executor, [call] { call->Start(); });
  return reactor;
}

void RemoteServer::Impl::ShutdownNow(milliseconds grace) {
  if (server) {
    if (auto* status = server->GetHealthCheckService()) status->SetServingStatus(false);
    if (health) health->SetServing(false);
    // Stops accepting; RPCs still running after `grace` are cancelled (OnCancel -> Finish on
    // the check thread, which is still running). Returns once every RPC is done.
    server->Shutdown(std::chrono::system_clock::now() + grace);
  }
  if (io) {
    // Checks of cancelled RPCs may still run: cancel their lookups and give them a moment to
    // end, so that they are not torn down mid-flight; then stop the thread.
    asio::post(*io, [this] {
      for (auto& [id, weak] : calls) {
        if (auto call = weak.lock()) call->Cancel();
      }
    });
    std::unique_lock<std::mutex> lock(calls_done_mutex);
    calls_done.wait_for(lock, std::chrono::seconds(2), [this] { return admitted.load() == 0; });
    lock.unlock();
    work.reset();
    io->stop();
    if (io_thread.joinable()) io_thread.join();
  }
  if (server) server->Wait();
  if (health) health->Shutdown();
  if (exposer) exposer.reset();
}

RemoteServer::Impl::~Impl() {
  // Handlers still queued reference the resolver, dialer and metrics: destroy them first.
  io.reset();
  server.reset();
  service.reset();
}

RemoteServer::RemoteServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RemoteServer::~RemoteServer() { Shutdown(); }

std::string RemoteServer::address() const { return impl_->address; }
std::string RemoteServer::metrics_address() const { return impl_->metrics_address; }
RemoteMetrics& RemoteServer::metrics() { return *impl_->metrics; }

Status RemoteServer::Reload(const std::string& path) { return impl_->Reload(path); }

Status RemoteServer::Impl::Reload(const std::string& path) {
  std::lock_guard<std::mutex> lock(reload_mutex);
  const std::shared_ptr<const Live> running = CurrentLive();
  auto refuse = [&](const std::string& why) { return reload_metrics->Refuse(path, why); };
  auto next = perspective::LoadRemoteConfig(path);
  if (!next) return refuse(next.error().detail);
  if (Status ok = perspective::CheckRemoteReload(running->config, *next); !ok) {
    return refuse(ok.error().detail);
  }
  if (next->authorized_primaries().empty() != running->config.authorized_primaries().empty()) {
    // Empty (lab mode only) makes the configuration non-production, fixed at start.
    return refuse("restart to empty authorized_primaries or to fill it (non-production setting)");
  }
  const std::vector<std::string> changed = perspective::ChangedFields(running->config, *next);
  std::shared_ptr<const Live> applied = LiveOf(*next);
  {
    std::lock_guard<std::mutex> live_lock(live_mutex);
    live = applied;
  }
  reload_metrics->Applied();
  log::Info("configuration reloaded: new checks use it, those in flight finish on theirs",
            {{"config", path},
             {"changed", changed},
             {"authorized_primaries", next->authorized_primaries_size()},
             {"max_check_ms", applied->max_check.count()},
             {"max_concurrent", applied->max_concurrent}});
  return {};
}

void RemoteServer::Shutdown(std::chrono::milliseconds grace) {
  std::call_once(impl_->shutdown_once, [&] {
    log::Info("shutting down", {{"grace_ms", grace.count()}});
    impl_->trimmer.reset();
    impl_->ShutdownNow(grace);
    if (!impl_->config.ready_file().empty()) ::unlink(impl_->config.ready_file().c_str());
    log::Info("stopped");
  });
}

Result<std::unique_ptr<RemoteServer>> RemoteServer::Start(const v1::RemoteConfig& config) {
  if (auto st = perspective::ValidateRemoteConfig(config); !st) return Fail(st.error());
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->live = Impl::LiveOf(config);
  impl->metrics = std::make_unique<RemoteMetrics>();
  impl->reload_metrics =
      std::make_unique<perspective::ReloadMetrics>(*impl->metrics->registry(), "remote");
  // Lab mode is never silent: the log and /metrics (mpic_non_production).
  std::vector<std::string> non_production = perspective::NonProductionReasons(config.lab());
  if (config.authorized_primaries().empty() && perspective::IsLabMode(config.lab())) {
    non_production.push_back(
        "authorized_primaries empty: any certificate signed by the fleet CA may call Check");
  }
  for (const std::string& reason : non_production) {
    log::Warning("NOT FOR PRODUCTION: " + reason);
  }
  for (const std::string& warning : perspective::ResolverWarnings(config.resolver())) {
    log::Warning(warning);
  }
  perspective::ExportNonProduction(*impl->metrics->registry(), "remote", non_production);
  impl->io = std::make_unique<asio::io_context>(1);
  auto executor = impl->io->get_executor();

  auto resolver = perspective::MakeResolver(executor, config.resolver(), config.lab());
  if (!resolver) return Fail(resolver.error());
  impl->resolver = std::move(*resolver);
  auto dialer = perspective::MakeDialer(executor, config.lab());
  if (!dialer) return Fail(dialer.error());
  impl->dialer = std::move(*dialer);
  auto credentials = perspective::MakeServerCredentials(config.tls());
  if (!credentials) return Fail(credentials.error());

  impl->engine = std::make_unique<perspective::Engine>(*impl->resolver, *impl->dialer, impl->clock,
                                                       impl->metrics->checks());
  auto metrics_endpoint =
      perspective::StartMetrics(config.metrics_listen(), {impl->metrics->registry()});
  if (!metrics_endpoint) return Fail(metrics_endpoint.error());
  impl->exposer = std::move(metrics_endpoint->exposer);
  impl->metrics_address = metrics_endpoint->address;

  // The check thread runs before the first RPC can arrive.
  impl->work.emplace(impl->io->get_executor());
  impl->io_thread = std::thread([io = impl->io.get()] {
    for (;;) {
      try {
        io->run();
        return;
      } catch (const std::exception& e) {
        // A handler threw (a bug): log and keep serving rather than dying mid-RPC.
        log::Error("check thread exception", {{"error", e.what()}});
      }
    }
  });

  grpc::EnableDefaultHealthCheckService(true);
  impl->service = std::make_unique<PerspectiveService>(*impl);
  grpc::ServerBuilder builder;
  perspective::ConfigureServerBuilder(builder);
  int port = 0;
  builder.AddListeningPort(config.listen(), *credentials, &port);
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  builder.RegisterService(impl->service.get());
  impl->server = builder.BuildAndStart();
  if (!impl->server || port == 0) {
    impl->server.reset();
    impl->ShutdownNow(milliseconds(0));
    return Fail(ProblemType::kServerInternal,
                "cannot listen on \"" + config.listen() + "\" (address in use?)");
  }
  impl->address = perspective::HostPart(config.listen()) + ":" + std::to_string(port);
  if (auto* health = impl->server->GetHealthCheckService()) {
    health->SetServingStatus(true);
    health->SetServingStatus(v1::Perspective::service_full_name(), true);
  }
  if (!config.health_listen().empty()) {
    auto health = perspective::HealthEndpoint::Start(config.health_listen(),
                                                     {v1::Perspective::service_full_name()});
    if (!health) {
      impl->ShutdownNow(milliseconds(0));
      return Fail(health.error());
    }
    impl->health = std::move(*health);
    impl->health->SetServing(true);
  }

  std::unique_ptr<RemoteServer> server(new RemoteServer(std::move(impl)));
  const Impl& ready = *server->impl_;
  if (!config.ready_file().empty()) {
    if (auto st = perspective::WriteReadyFile(config.ready_file(), ready.address,
                                              ready.metrics_address,
                                              ready.health ? ready.health->address() : "");
        !st) {
      server->Shutdown(milliseconds(0));
      return Fail(st.error());
    }
  }
  // After a burst, give the freed memory back (docs/BENCHMARKS.md, the soak section).
  server->impl_->trimmer = perspective::StartMemoryTrimmer(
      [state = server->impl_.get()] { return state->admitted.load() == 0; },
      [state = server->impl_.get()] { return state->next_call_id.load(); });
  log::Info("serving", {{"identity", config.identity().name()},
                        {"address", ready.address},
                        {"metrics", ready.metrics_address},
                        {"health", ready.health ? ready.health->address() : ""},
                        {"resolver", ready.resolver->Describe()},
                        {"lab_mode", ready.dialer->policy().lab_mode()},
                        {"non_production", !non_production.empty()},
                        {"non_production_reasons", non_production},
                        {"authorized_primaries", config.authorized_primaries_size()}});
  return server;
}

}  // namespace mpic::va_remote
