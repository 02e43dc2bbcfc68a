// va-remote: a perspective. Serves mpic.v1.Perspective/Check over mutually authenticated gRPC
// (clients must present a certificate signed by the fleet CA), runs the requested DCV and CAA
// checks concurrently with a fresh resolver session each, and replies with verdicts, evidence
// and its configured identity. Also serves the standard gRPC health service and, when
// configured, Prometheus /metrics.
//
// Threads: gRPC's callback threads only post into one asio::io_context (one thread), which
// runs every check and finishes every RPC. Deadline of a check: the caller's deadline (less a
// small margin, so a timeout can still be reported as a result) capped by max_check_ms.
// A cancelled RPC ends CANCELLED at once; its lookups are cancelled and late results dropped.
//
//   auto config = mpic::proto::LoadRemoteConfig(path);
//   auto server = mpic::va_remote::RemoteServer::Start(*config);  // validates config first
//   if (!server) Die(server.error().detail);
//   std::cout << (*server)->address();  // "127.0.0.1:40123" (also in the ready file)
//   ...
//   (*server)->Shutdown();  // not serving, drain (bounded), stop; also done by the destructor
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/error.h"
#include "mpic/v1/config.pb.h"

namespace mpic::va_remote {

class RemoteMetrics;

// Requests larger than this are refused by gRPC itself (RESOURCE_EXHAUSTED): a CheckRequest
// is a few hundred bytes.
inline constexpr int kMaxRequestBytes = 64 * 1024;
// How long Shutdown() lets in-flight RPCs finish before cancelling them.
inline constexpr std::chrono::milliseconds kDefaultShutdownGrace{3000};

class RemoteServer {
 public:
  // Validates `config` (proto::ValidateRemoteConfig), builds the resolver, dialer and
  // credentials, binds the gRPC and metrics listeners, starts serving and writes the ready
  // file ({"address","metrics","pid"}, atomically) if configured. kMalformed for bad config,
  // kServerInternal for what fails at runtime (e.g. an address in use).
  [[nodiscard]] static Result<std::unique_ptr<RemoteServer>> Start(const v1::RemoteConfig& config);

  ~RemoteServer();
  RemoteServer(const RemoteServer&) = delete;
  RemoteServer& operator=(const RemoteServer&) = delete;

  // "HOST:PORT" actually bound (port 0 resolved), e.g. "127.0.0.1:40123".
  [[nodiscard]] std::string address() const;
  // "HOST:PORT" of /metrics, "" when metrics are off.
  [[nodiscard]] std::string metrics_address() const;
  [[nodiscard]] RemoteMetrics& metrics();

  // SIGHUP: reads the config file at `path` again and applies it to new checks when it passes
  // every --check-config rule and changes only live fields (perspective::RemoteLiveFields:
  // authorized_primaries, max_check_ms, max_concurrent); checks in flight are not touched.
  // Refused otherwise (kMalformed saying why; the running configuration stays). Logged and
  // counted (mpic_config_reloads_total{role="remote"}) either way. The TLS files themselves are
  // re-read by the certificate watcher (perspective::kCertificateRefresh).
  Status Reload(const std::string& path);

  // Health NOT_SERVING, stop accepting, let in-flight RPCs finish for up to `grace` (then
  // they are cancelled), cancel the checks still running, stop the check thread. Idempotent;
  // call from any thread but a gRPC or check callback.
  void Shutdown(std::chrono::milliseconds grace = kDefaultShutdownGrace);

  struct Impl;

 private:
  explicit RemoteServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mpic::va_remote
