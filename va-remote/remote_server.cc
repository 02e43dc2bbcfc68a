#include "va-remote/remote_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <prometheus/exposer.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "checks/check.h"
#include "checks/tcp_dialer.h"
#include "mpic/v1/perspective.grpc.pb.h"
#include "proto/config_loader.h"
#include "proto/convert.h"
#include "va-remote/internal/json_log.h"
#include "va-remote/remote_metrics.h"

namespace mpic::va_remote {
namespace {

using internal::LogJson;
using nlohmann::ordered_json;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// A late result of an overrunning check is not waited for beyond its deadline plus this.
constexpr milliseconds kWatchdogSlack{2000};
// Of the caller's remaining time, this much (at most) is kept back so that a check that
// times out can still be reported as a result before the caller gives up.
constexpr milliseconds kReplyMargin{100};
// Bounds on log field sizes (identifiers are at most 253 octets; ids are ours or the primary's).
constexpr size_t kMaxLoggedField = 300;

std::string Truncate(std::string_view s) {
  return std::string(s.substr(0, std::min(s.size(), kMaxLoggedField)));
}

// HOST part of "HOST:PORT" / "[HOST]:PORT" (already validated).
std::string HostPart(const std::string& address) { return address.substr(0, address.rfind(':')); }

// Writes `content` to `path` via a temporary file and rename(), so that a reader never sees a
// partial file.
Status WriteFileAtomically(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return Fail(ProblemType::kServerInternal, "cannot write " + tmp);
  bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  ok = std::fflush(f) == 0 && ok;
  ok = fsync(fileno(f)) == 0 && ok;
  ok = std::fclose(f) == 0 && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Fail(ProblemType::kServerInternal, "cannot write " + path);
  }
  return {};
}

class TrackingResolver;

// A session of the real resolver that its call can cancel (client gone, shutdown).
class TrackedSession final : public resolver::Session {
 public:
  TrackedSession(std::unique_ptr<resolver::Session> inner, std::shared_ptr<TrackingResolver> owner)
      : inner_(std::move(inner)), owner_(std::move(owner)) {}
  ~TrackedSession() override;

  void Lookup(std::string_view name, uint16_t type, resolver::Deadline deadline,
              resolver::LookupCallback callback) override {
    inner_->Lookup(name, type, deadline, std::move(callback));
  }
  void Cancel() override { inner_->Cancel(); }

 private:
  std::unique_ptr<resolver::Session> inner_;
  std::shared_ptr<TrackingResolver> owner_;
};

// The resolver one call's checks see: sessions of the real resolver (each fresh, as the real
// one guarantees), remembered so that the call can cancel them. Used on the check thread only.
// Shared with the sessions, which the checks may keep past the call's own lifetime.
class TrackingResolver final : public resolver::Resolver,
                               public std::enable_shared_from_this<TrackingResolver> {
 public:
  explicit TrackingResolver(resolver::Resolver& inner) : inner_(inner) {}

  std::unique_ptr<resolver::Session> NewSession() override {
    auto session = std::make_unique<TrackedSession>(inner_.NewSession(), shared_from_this());
    if (cancelled_) session->Cancel();
    live_.insert(session.get());
    return session;
  }
  std::string Describe() const override { return inner_.Describe(); }

  void CancelAll() {
    cancelled_ = true;
    // Cancel() only posts callbacks; no session is destroyed while we iterate.
    for (TrackedSession* s : std::vector<TrackedSession*>(live_.begin(), live_.end())) {
      s->Cancel();
    }
  }
  void Forget(TrackedSession* session) { live_.erase(session); }

 private:
  resolver::Resolver& inner_;
  std::set<TrackedSession*> live_;
  bool cancelled_ = false;
};

TrackedSession::~TrackedSession() {
  inner_.reset();
  owner_->Forget(this);
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
  v1::RemoteConfig config;
  milliseconds max_check{proto::kDefaultMaxCheckMs};
  int max_concurrent = static_cast<int>(proto::kDefaultMaxConcurrent);
  std::string address;
  std::string metrics_address;

  std::unique_ptr<RemoteMetrics> metrics;
  std::unique_ptr<prometheus::Exposer> exposer;
  std::unique_ptr<resolver::Resolver> resolver;
  std::unique_ptr<checks::TcpDialer> dialer;
  checks::TimeSource clock;

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

  ~Impl();
  grpc::ServerUnaryReactor* HandleCheck(grpc::CallbackServerContext* context,
                                        const v1::CheckRequest* request,
                                        v1::CheckResponse* response);
  void ShutdownNow(milliseconds grace);
};

namespace {

// One Check RPC on the check thread: runs its checks, finishes the RPC exactly once (result,
// cancellation or watchdog), and drops results that arrive after that.
class Call : public std::enable_shared_from_this<Call> {
 public:
  struct Params {
    uint64_t id = 0;
    proto::CheckPlan plan;
    uint32_t attempt = 0;
    std::string peer;
    checks::Deadline deadline;
  };

  Call(RemoteServer::Impl& impl, Params params, v1::CheckResponse* response)
      : impl_(impl),
        params_(std::move(params)),
        response_(response),
        resolver_(std::make_shared<TrackingResolver>(*impl.resolver)),
        watchdog_(*impl.io),
        start_(SteadyClock::now()) {
    impl_.metrics->AddInflight(1);
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
    checks::CheckDeps deps{*resolver_, *impl_.dialer, impl_.clock, *impl_.metrics};
    auto executor = impl_.io->get_executor();
    pending_ = (params_.plan.dcv ? 1 : 0) + (params_.plan.caa ? 1 : 0);
    if (params_.plan.dcv) {
      checks::RunCheck(executor, deps, *params_.plan.dcv,
                       [self = shared_from_this()](checks::CheckResult r) {
                         self->dcv_ = std::move(r);
                         self->OnResult();
                       });
    }
    if (params_.plan.caa) {
      checks::RunCheck(executor, deps, *params_.plan.caa,
                       [self = shared_from_this()](checks::CheckResult r) {
                         self->caa_ = std::move(r);
                         self->OnResult();
                       });
    }
    // RunCheck promises a verdict by the deadline; the watchdog bounds one that breaks it.
    watchdog_.expires_at(params_.deadline + kWatchdogSlack);
    watchdog_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->finished_) return;
      self->resolver_->CancelAll();
      self->FinishWith(
          grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "check overran its deadline"));
    });
  }

  // Check thread: the client went away or the server is shutting down.
  void Cancel() {
    resolver_->CancelAll();
    if (!finished_) FinishWith(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
  }

 private:
  void OnResult() {
    if (--pending_ > 0 || finished_) return;  // late results of a finished call are dropped
    *response_->mutable_perspective() = impl_.config.identity();
    if (dcv_) *response_->mutable_dcv() = proto::OutcomeToProto(*dcv_);
    if (caa_) *response_->mutable_caa() = proto::OutcomeToProto(*caa_);
    FinishWith(grpc::Status::OK);
  }

  static std::string Verdict(const std::optional<checks::CheckResult>& r) {
    if (!r) return "none";  // finished before this check
    if (r->valid) return "valid";
    return "invalid:" + std::string(r->problem ? ProblemTypeName(r->problem->type) : "none");
  }

  void FinishWith(grpc::Status status) {
    finished_ = true;
    impl_.calls.erase(params_.id);  // nothing left to cancel at shutdown
    watchdog_.cancel();
    impl_.metrics->CountRequest(status.error_code());
    ordered_json log;
    log["msg"] = "check";
    log["request_id"] = Truncate(params_.plan.request_id);
    const auto& any = params_.plan.dcv ? params_.plan.dcv : params_.plan.caa;
    log["identifier"] = any ? Truncate(any->identifier) : "";
    log["attempt"] = params_.attempt;
    log["dcv_method"] =
        params_.plan.dcv ? std::string(checks::MethodName(params_.plan.dcv->method)) : "";
    log["dcv"] = params_.plan.dcv ? Verdict(dcv_) : "not requested";
    log["caa"] = params_.plan.caa ? Verdict(caa_) : "not requested";
    log["code"] = std::string(GrpcCodeName(status.error_code()));
    if (!status.ok()) log["error"] = status.error_message();
    log["duration_ms"] =
        std::chrono::duration<double, std::milli>(SteadyClock::now() - start_).count();
    log["peer"] = Truncate(params_.peer);
    LogJson(status.ok() ? "info" : "warn", log);
    grpc::ServerUnaryReactor* reactor = reactor_;
    reactor_ = nullptr;
    response_ = nullptr;  // owned by gRPC; not ours to touch after Finish
    reactor->Finish(std::move(status));
  }

  RemoteServer::Impl& impl_;
  Params params_;
  v1::CheckResponse* response_;
  grpc::ServerUnaryReactor* reactor_ = nullptr;
  std::shared_ptr<TrackingResolver> resolver_;
  asio::steady_timer watchdog_;
  SteadyClock::time_point start_;
  int pending_ = 0;
  bool finished_ = false;
  std::optional<checks::CheckResult> dcv_;
  std::optional<checks::CheckResult> caa_;
};

void CheckReactor::OnCancel() {
  asio::post(executor_, [call = call_] { call->Cancel(); });
}

void CheckReactor::OnDone() {
  // No hop to the check thread just to let go of the call (one thread wake-up per RPC less).
  delete this;
}

// The generated callback service; everything happens in Impl::HandleCheck.
class PerspectiveService final : public v1::Perspective::CallbackService {
 public:
  explicit PerspectiveService(RemoteServer::Impl& impl) : impl_(impl) {}

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const v1::CheckRequest* request,
                                  v1::CheckResponse* response) override {
    return impl_.HandleCheck(context, request, response);
  }

 private:
  RemoteServer::Impl& impl_;
};

std::string PeerName(const grpc::CallbackServerContext& context) {
  auto auth = context.auth_context();
  if (!auth) return "";
  for (const char* property : {"x509_common_name", GRPC_X509_SAN_PROPERTY_NAME}) {
    auto values = auth->FindPropertyValues(property);
    if (!values.empty()) return std::string(values.front().data(), values.front().size());
  }
  return "";
}

// The check deadline: the caller's (less a margin to reply in), at most max_check from now.
checks::Deadline CheckDeadline(std::chrono::system_clock::time_point call_deadline,
                               milliseconds max_check) {
  auto now = SteadyClock::now();
  auto now_wall = std::chrono::system_clock::now();
  if (call_deadline >= now_wall + max_check) return now + max_check;  // also "no deadline"
  auto left = std::chrono::duration_cast<milliseconds>(call_deadline - now_wall);
  if (left <= milliseconds(0)) return now;
  return now + left - std::min(kReplyMargin, left / 10);
}

}  // namespace

grpc::ServerUnaryReactor* RemoteServer::Impl::HandleCheck(grpc::CallbackServerContext* context,
                                                          const v1::CheckRequest* request,
                                                          v1::CheckResponse* response) {
  auto refuse = [&](grpc::StatusCode code, std::string message) {
    metrics->CountRequest(code);
    LogJson("warn", {{"msg", "check refused"},
                     {"request_id", Truncate(request->request_id())},
                     {"identifier", Truncate(request->identifier())},
                     {"code", std::string(GrpcCodeName(code))},
                     {"error", message},
                     {"peer", Truncate(PeerName(*context))}});
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status(code, std::move(message)));
    return reactor;
  };
  auto deadline = CheckDeadline(context->deadline(), max_check);
  auto plan = proto::CheckPlanFromProto(*request, deadline);
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
  params.deadline = deadline;
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
    if (auto* health = server->GetHealthCheckService()) health->SetServingStatus(false);
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

void RemoteServer::Shutdown(std::chrono::milliseconds grace) {
  std::call_once(impl_->shutdown_once, [&] {
    LogJson("info", {{"msg", "shutting down"}, {"grace_ms", grace.count()}});
    impl_->ShutdownNow(grace);
    LogJson("info", {{"msg", "stopped"}});
  });
}

Result<std::unique_ptr<RemoteServer>> RemoteServer::Start(const v1::RemoteConfig& config) {
  if (auto st = proto::ValidateRemoteConfig(config); !st) return Fail(st.error());
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  if (config.max_check_ms() != 0) impl->max_check = milliseconds(config.max_check_ms());
  if (config.max_concurrent() != 0) {
    impl->max_concurrent = static_cast<int>(config.max_concurrent());
  }
  impl->metrics = std::make_unique<RemoteMetrics>();
  impl->io = std::make_unique<asio::io_context>(1);
  auto executor = impl->io->get_executor();

  auto resolver = proto::MakeResolver(executor, config.resolver(), config.lab());
  if (!resolver) return Fail(resolver.error());
  impl->resolver = std::move(*resolver);
  auto dialer = proto::MakeDialer(executor, config.lab());
  if (!dialer) return Fail(dialer.error());
  impl->dialer = std::move(*dialer);
  auto credentials = proto::MakeServerCredentials(config.tls());
  if (!credentials) return Fail(credentials.error());

  if (!config.metrics_listen().empty()) {
    try {
      impl->exposer = std::make_unique<prometheus::Exposer>(config.metrics_listen(), 1);
    } catch (const std::exception& e) {
      return Fail(ProblemType::kServerInternal,
                  "metrics_listen " + config.metrics_listen() + ": " + e.what());
    }
    impl->exposer->RegisterCollectable(impl->metrics->registry());
    auto ports = impl->exposer->GetListeningPorts();
    if (ports.empty()) {
      return Fail(ProblemType::kServerInternal,
                  "metrics_listen " + config.metrics_listen() + ": not listening");
    }
    impl->metrics_address = HostPart(config.metrics_listen()) + ":" + std::to_string(ports[0]);
  }

  // The check thread runs before the first RPC can arrive.
  impl->work.emplace(impl->io->get_executor());
  impl->io_thread = std::thread([io = impl->io.get()] {
    for (;;) {
      try {
        io->run();
        return;
      } catch (const std::exception& e) {
        // A handler threw (a bug): log and keep serving rather than dying mid-RPC.
        LogJson("error", {{"msg", "check thread exception"}, {"error", e.what()}});
      }
    }
  });

  grpc::EnableDefaultHealthCheckService(true);
  impl->service = std::make_unique<PerspectiveService>(*impl);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config.listen(), *credentials, &port);
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  builder.RegisterService(impl->service.get());
  impl->server = builder.BuildAndStart();
  if (!impl->server || port == 0) {
    impl->server.reset();
    impl->ShutdownNow(milliseconds(0));
    return Fail(ProblemType::kServerInternal, "cannot listen on " + config.listen());
  }
  impl->address = HostPart(config.listen()) + ":" + std::to_string(port);
  if (auto* health = impl->server->GetHealthCheckService()) {
    health->SetServingStatus(true);
    health->SetServingStatus(v1::Perspective::service_full_name(), true);
  }

  std::unique_ptr<RemoteServer> server(new RemoteServer(std::move(impl)));
  const Impl& ready = *server->impl_;
  if (!config.ready_file().empty()) {
    ordered_json j;
    j["address"] = ready.address;
    j["metrics"] = ready.metrics_address;
    j["pid"] = static_cast<int>(getpid());
    if (auto st = WriteFileAtomically(config.ready_file(), j.dump() + "\n"); !st) {
      server->Shutdown(milliseconds(0));
      return Fail(st.error());
    }
  }
  LogJson("info", {{"msg", "serving"},
                   {"identity", config.identity().name()},
                   {"address", ready.address},
                   {"metrics", ready.metrics_address},
                   {"resolver", ready.resolver->Describe()},
                   {"lab_mode", ready.dialer->policy().lab_mode()}});
  return server;
}

}  // namespace mpic::va_remote
