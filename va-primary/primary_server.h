// The primary validation authority: serves mpic.v1.Primary to the CA over mutual TLS, runs its
// own check and fans out to the remote perspectives, decides with quorum::Tally, writes ONE
// audit record per decision, then answers (see DESIGN below), exports Prometheus metrics and the
// standard gRPC health service.
//
//   auto config = mpic::proto::LoadPrimaryConfig("primary.json");
//   auto server = mpic::va_primary::PrimaryServer::Start(*config);
//   if (!server) { std::cerr << server.error().detail << "\n"; return 2; }
//   std::cout << (*server)->address();   // "127.0.0.1:40123" (port 0 resolved)
//   ...
//   (*server)->Shutdown();  // NOT_SERVING, drain in-flight validations, flush the audit log
//
// DESIGN — one validation, in order, all on one Asio strand:
//   1. request checked (INVALID_ARGUMENT for garbage), request_id drawn (128 random bits);
//   2. cohort = SelectCohort(secret, identifier, attempt, pool, count): a retry gets a disjoint
//      cohort, so no corroboration is reused (BR §3.2.2.9);
//   3. the primary's own checks (DCV and CAA, fresh resolver session each) and the remote RPCs
//      start concurrently (remotes only after the primary passed with remotes_after_primary);
//      each RPC has the deadline remote_timeout_ms; gRPC callbacks only post to the strand;
//   4. each result is fed to the Tally; when it decides (in the not-enforced phase: when the
//      quorum is also known or no remote is left running), the decision is FIXED;
//   5. stragglers get straggler_grace_ms to finish (0: none), then are cancelled
//      (ClientContext::TryCancel) and recorded CANCELLED;
//   6. the ONE audit record — decision, quorum string, policy, phase and every perspective's
//      final state — is written (single write, O_APPEND) and fsync'd by the audit thread;
//   7. only then is the answer sent. If the record cannot be written the CA gets INTERNAL and no
//      decision: no answer ever leaves without its record.
// Fail closed: an internal error, exception or unknown state gives NOT_CORROBORATED (with a
// serverInternal problem); CORROBORATED only ever comes from the Tally.
#pragma once

#include <memory>
#include <string>

#include "common/error.h"
#include "mpic/v1/config.pb.h"
#include "quorum/phase.h"

namespace mpic::va_primary {

class PrimaryServer {
 public:
  // Validates the configuration (kMalformed: refuse to start), builds the resolver, dialer,
  // credentials, audit log and metrics, starts serving and writes the ready file. `today` is
  // used for policy.effective_date "today"; the overload without it reads the UTC date.
  [[nodiscard]] static Result<std::unique_ptr<PrimaryServer>> Start(
      const v1::PrimaryConfig& config);
  [[nodiscard]] static Result<std::unique_ptr<PrimaryServer>> Start(const v1::PrimaryConfig& config,
                                                                    const quorum::Date& today);

  ~PrimaryServer();  // Shutdown()
  PrimaryServer(const PrimaryServer&) = delete;
  PrimaryServer& operator=(const PrimaryServer&) = delete;

  // "host:port" the CA connects to.
  [[nodiscard]] std::string address() const;
  // "host:port" of /metrics, "" when off.
  [[nodiscard]] std::string metrics_address() const;
  // "host:port" of the Open MPIC REST API (docs/openmpic.md), "" when off.
  [[nodiscard]] std::string openmpic_address() const;

  // SIGHUP: reads the config file at `path` again and applies it to new validations when it
  // passes every --check-config rule and changes only live fields
  // (perspective::PrimaryLiveFields); client_tls files are re-read (new channels when the
  // certificate changed). Validations in flight finish on the configuration they started with.
  // Refused otherwise (kMalformed saying why; the running configuration stays). Logged and
  // counted (mpic_config_reloads_total{role="primary"}) either way. Any thread but a callback.
  Status Reload(const std::string& path);

  // Health NOT_SERVING, no new calls, in-flight validations finish (bounded by their own
  // deadlines), every record written, threads joined. Idempotent; blocks. Never call it from a
  // gRPC or Asio callback.
  void Shutdown();

  struct Impl;

 private:
  explicit PrimaryServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mpic::va_primary
