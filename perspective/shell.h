// The process shell both servers share: the ready file a supervisor or test waits for, the
// Prometheus /metrics endpoint, the gRPC server options every mpic server uses, and gRPC's own
// log lines routed into the one log schema (common/log.h).
//
//   perspective::RouteGrpcLogs();                      // once, before any gRPC call
//   grpc::ServerBuilder builder;
//   perspective::ConfigureServerBuilder(builder);      // owns its port: no SO_REUSEPORT
//   auto metrics = perspective::StartMetrics(config.metrics_listen(), {registry});
//   perspective::WriteReadyFile(config.ready_file(), address, metrics->address);
#pragma once

#include <google/protobuf/message_lite.h>
#include <google/protobuf/repeated_ptr_field.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/server_builder.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/status.h>
#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/error.h"

namespace mpic::perspective {

// HOST of "HOST:PORT" / "[HOST]:PORT".
[[nodiscard]] std::string HostPart(const std::string& address);

// Writes {"address","metrics","pid"} to `path` atomically (temporary file, fsync, rename), so a
// watcher never reads half a file. kServerInternal naming the path on failure. Also "health"
// (the plaintext health-only port) and, at the primary, "openmpic" (its Open MPIC REST address)
// when they are served.
[[nodiscard]] Status WriteReadyFile(const std::string& path, const std::string& address,
                                    const std::string& metrics_address,
                                    const std::string& health_address = "",
                                    const std::string& openmpic_address = "");

struct MetricsEndpoint {
  std::unique_ptr<prometheus::Exposer> exposer;  // null when metrics are off
  std::string address;                           // "HOST:PORT" actually bound, "" when off
};

// Serves /metrics on `listen` ("" = off) with every registry given. kServerInternal when the
// address cannot be bound.
[[nodiscard]] Result<MetricsEndpoint> StartMetrics(
    const std::string& listen, const std::vector<std::shared_ptr<prometheus::Registry>>& registries);

// Options of every mpic gRPC server: SO_REUSEPORT off, so a second server on a port in use
// fails to start instead of silently sharing the port's connections.
void ConfigureServerBuilder(grpc::ServerBuilder& builder);

// The names a verified peer certificate carries: its subject CN, then its DNS subjectAltNames.
[[nodiscard]] std::vector<std::string> PeerIdentities(const grpc::AuthContext* auth);

// True when one of `identities` is in `allowed` (exact, case-insensitive: DNS names).
[[nodiscard]] bool IdentityAllowed(const std::vector<std::string>& identities,
                                   const google::protobuf::RepeatedPtrField<std::string>& allowed);

// Authorization by identity (issue 15, defect 5): every fleet certificate comes from the same CA,
// so mutual TLS alone lets any of them call anything. OK when `allowed` is empty (only possible
// in lab mode, see ValidateAuthorizedPeers) or the peer's certificate names one of `allowed`;
// PERMISSION_DENIED naming the peer and `config_field` otherwise.
[[nodiscard]] grpc::Status AuthorizePeer(
    const grpc::AuthContext* auth, const google::protobuf::RepeatedPtrField<std::string>& allowed,
    std::string_view config_field);

// Request bytes parsed by the service itself (the generated "raw" method), so that bytes that
// are not the expected message get INVALID_ARGUMENT with a reason; left to gRPC's generated
// code they get a bare UNIMPLEMENTED or INTERNAL. kMalformed naming `what` on failure.
[[nodiscard]] Status ParseMessage(const grpc::ByteBuffer& bytes, std::string_view what,
                                  google::protobuf::MessageLite* message);
// The reply the other way round; kServerInternal when it cannot be serialized.
[[nodiscard]] Status SerializeMessage(const google::protobuf::MessageLite& message,
                                      grpc::ByteBuffer* bytes);

// Gives the allocator's free memory back to the kernel once a burst of work is over (issue 15:
// after 1,000 slow validations glibc kept the freed pages in its per-thread arenas, so the RSS
// stayed near the burst's peak and crept up from burst to burst; docs/BENCHMARKS.md). Every
// `period` its own thread calls malloc_trim(0) when `idle()` says nothing runs and `work()` (a
// count of work started) moved since the last trim; each trim is logged with the RSS before and
// after. malloc_trim walks every arena: a few ms, only ever while idle.
class MemoryTrimmer {
 public:
  MemoryTrimmer(std::function<bool()> idle, std::function<uint64_t()> work,
                std::chrono::milliseconds period);
  ~MemoryTrimmer();  // stops and joins its thread
  MemoryTrimmer(const MemoryTrimmer&) = delete;
  MemoryTrimmer& operator=(const MemoryTrimmer&) = delete;

 private:
  void Run();

  std::function<bool()> idle_;
  std::function<uint64_t()> work_;
  const std::chrono::milliseconds period_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};
inline constexpr std::chrono::milliseconds kMemoryTrimPeriod{5000};
// The trimmer the servers run: null when the environment says MPIC_MALLOC_TRIM=0 (to measure
// without it, or should trimming ever cost more than it gives).
[[nodiscard]] std::unique_ptr<MemoryTrimmer> StartMemoryTrimmer(std::function<bool()> idle,
                                                                std::function<uint64_t()> work);

// The resident set size of this process in bytes (/proc/self/statm), 0 when unreadable.
[[nodiscard]] uint64_t ResidentBytes();

// gRPC's own log lines (gpr_log) become lines of the one log schema, with "source":"grpc".
void RouteGrpcLogs();

// What every server's main does before it starts serving: sets the log component, routes
// gRPC's logs, ignores SIGPIPE (a peer closing a socket must not kill the process), turns off
// absl's lock-order detection (a graph update on every gRPC lock in Debian's build), and blocks
// SIGTERM, SIGINT and SIGHUP in every thread (threads inherit the mask), so that only
// WaitForSignal takes them.
void PrepareServerProcess(std::string_view component);

// Waits for SIGTERM, SIGINT or SIGHUP (blocked by PrepareServerProcess) and returns it.
[[nodiscard]] int WaitForSignal();

}  // namespace mpic::perspective
