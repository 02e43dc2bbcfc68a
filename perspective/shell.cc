#include "perspective/shell.h"

#include <absl/synchronization/mutex.h>
#include <fcntl.h>
#include <grpc/grpc_security_constants.h>
#include <grpc/support/log.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/log.h"

namespace mpic::perspective {

std::string HostPart(const std::string& address) {
  const std::size_t colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

Status WriteReadyFile(const std::string& path, const std::string& address,
                      const std::string& metrics_address, const std::string& health_address,
                      const std::string& openmpic_address) {
  nlohmann::ordered_json ready;
  ready["address"] = address;
  ready["metrics"] = metrics_address;
  if (!health_address.empty()) ready["health"] = health_address;
  if (!openmpic_address.empty()) ready["openmpic"] = openmpic_address;
  ready["pid"] = static_cast<int>(::getpid());
  const std::string text = ready.dump() + "\n";
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

Result<MetricsEndpoint> StartMetrics(
    const std::string& listen, const std::vector<std::shared_ptr<prometheus::Registry>>& registries) {
  MetricsEndpoint endpoint;
  if (listen.empty()) return endpoint;
  try {
    endpoint.exposer = std::make_unique<prometheus::Exposer>(listen, 1);
  } catch (const std::exception& e) {
    return Fail(ProblemType::kServerInternal, "metrics_listen \"" + listen + "\": " + e.what());
  }
  for (const auto& registry : registries) endpoint.exposer->RegisterCollectable(registry);
  const std::vector<int> ports = endpoint.exposer->GetListeningPorts();
  if (ports.empty()) {
    return Fail(ProblemType::kServerInternal, "metrics_listen \"" + listen + "\": not listening");
  }
  endpoint.address = HostPart(listen) + ":" + std::to_string(ports[0]);
  return endpoint;
}

std::vector<std::string> PeerIdentities(const grpc::AuthContext* auth) {
  std::vector<std::string> names;
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return names;
  for (const char* property : {GRPC_X509_CN_PROPERTY_NAME, GRPC_PEER_DNS_PROPERTY_NAME}) {
    for (const grpc::string_ref& value : auth->FindPropertyValues(property)) {
      names.emplace_back(value.data(), value.size());
    }
  }
  return names;
}

bool IdentityAllowed(const std::vector<std::string>& identities,
                     const google::protobuf::RepeatedPtrField<std::string>& allowed) {
  auto same = [](std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  };
  for (const std::string& identity : identities) {
    for (const std::string& name : allowed) {
      if (same(identity, name)) return true;
    }
  }
  return false;
}

grpc::Status AuthorizePeer(const grpc::AuthContext* auth,
                           const google::protobuf::RepeatedPtrField<std::string>& allowed,
                           std::string_view config_field) {
  if (allowed.empty()) return grpc::Status::OK;
  const std::vector<std::string> identities = PeerIdentities(auth);
  if (IdentityAllowed(identities, allowed)) return grpc::Status::OK;
  std::string who;
  for (const std::string& identity : identities) {
    if (who.size() > 200) break;
    who += (who.empty() ? "" : ", ") + identity;
  }
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                      "client certificate (" + (who.empty() ? std::string("no name") : who) +
                          ") is not in " + std::string(config_field));
}

Status ParseMessage(const grpc::ByteBuffer& bytes, std::string_view what,
                    google::protobuf::MessageLite* message) {
  std::vector<grpc::Slice> slices;
  if (!bytes.Valid() || !bytes.Dump(&slices).ok()) {
    return Fail(ProblemType::kMalformed, "unreadable request bytes");
  }
  std::string data;
  data.reserve(bytes.Length());
  for (const grpc::Slice& slice : slices) {
    data.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  if (!message->ParseFromString(data)) {
    return Fail(ProblemType::kMalformed, "request bytes (" + std::to_string(data.size()) +
                                             ") are not a valid " + std::string(what) +
                                             " protobuf message");
  }
  return {};
}

Status SerializeMessage(const google::protobuf::MessageLite& message, grpc::ByteBuffer* bytes) {
  std::string data;
  if (!message.SerializeToString(&data)) {
    return Fail(ProblemType::kServerInternal, "cannot serialize the reply");
  }
  grpc::Slice slice(data);
  *bytes = grpc::ByteBuffer(&slice, 1);
  return {};
}

void ConfigureServerBuilder(grpc::ServerBuilder& builder) {
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
}

namespace {

void GrpcLog(gpr_log_func_args* args) {
  log::Level level = log::Level::kInfo;
  if (args->severity == GPR_LOG_SEVERITY_ERROR) {
    level = log::Level::kError;
  } else if (args->severity != GPR_LOG_SEVERITY_DEBUG && args->severity != GPR_LOG_SEVERITY_INFO) {
    level = log::Level::kWarning;
  }
  log::Write(level, args->message ? args->message : "",
             {{"source", "grpc"},
              {"file", args->file ? args->file : ""},
              {"line", args->line}});
}

}  // namespace

void RouteGrpcLogs() { gpr_set_log_function(&GrpcLog); }

uint64_t ResidentBytes() {
  std::FILE* statm = std::fopen("/proc/self/statm", "re");
  if (statm == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  const bool read = std::fscanf(statm, "%llu %llu", &size, &resident) == 2;
  std::fclose(statm);
  return read ? resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

MemoryTrimmer::MemoryTrimmer(std::function<bool()> idle, std::function<uint64_t()> work,
                             std::chrono::milliseconds period)
    : idle_(std::move(idle)), work_(std::move(work)), period_(period) {
  thread_ = std::thread([this] { Run(); });
}

MemoryTrimmer::~MemoryTrimmer() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::unique_ptr<MemoryTrimmer> StartMemoryTrimmer(std::function<bool()> idle,
                                                  std::function<uint64_t()> work) {
  const char* setting = std::getenv("MPIC_MALLOC_TRIM");
  if (setting != nullptr && std::string_view(setting) == "0") {
    log::Info("MPIC_MALLOC_TRIM=0: free memory is not returned to the kernel when idle");
    return nullptr;
  }
  return std::make_unique<MemoryTrimmer>(std::move(idle), std::move(work), kMemoryTrimPeriod);
}

void MemoryTrimmer::Run() {
  uint64_t trimmed_at = work_();
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (wake_.wait_for(lock, period_, [this] { return stop_; })) return;
    }
    const uint64_t work = work_();
    if (work == trimmed_at || !idle_()) continue;
    trimmed_at = work;
    const uint64_t before = ResidentBytes();
    ::malloc_trim(0);
    const uint64_t after = ResidentBytes();
    log::Info("idle: free memory returned to the kernel",
              {{"rss_before_mib", static_cast<double>(before) / (1024.0 * 1024.0)},
               {"rss_after_mib", static_cast<double>(after) / (1024.0 * 1024.0)}});
  }
}

namespace {

sigset_t ServerSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  return signals;
}

}  // namespace

void PrepareServerProcess(std::string_view component) {
  log::SetComponent(component);
  RouteGrpcLogs();
  ::signal(SIGPIPE, SIG_IGN);
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const sigset_t signals = ServerSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int WaitForSignal() {
  const sigset_t signals = ServerSignals();
  int number = 0;
  while (sigwait(&signals, &number) != 0) {
  }
  return number;
}

}  // namespace mpic::perspective
