// The primary's configuration rules, checked before anything starts (and by --check-config):
// identity, remotes (unique names and addresses, valid identities), TLS files readable, audit log
// writable, the quorum policy (BR §3.2.2.9 phase from an effective date, or an explicitly
// acknowledged research policy), the selection secret, and `quorum::ValidateFleet` — a fleet that
// cannot meet the configured phase (too few remotes, too few RIRs, perspectives closer than
// 500 km) is refused.
//
//   mpic::Result<mpic::perspective::PrimarySettings> settings =
//       mpic::perspective::ValidatePrimaryConfig(config, mpic::perspective::UtcToday());
//   if (!settings) { std::cerr << settings.error().detail << "\n"; return 2; }
//   for (const std::string& w : settings->warnings) LogWarning(w);  // e.g. NOT BR-compliant
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"
#include "mpic/v1/config.pb.h"
#include "quorum/perspective.h"
#include "quorum/phase.h"
#include "quorum/policy.h"

namespace mpic::perspective {

// Defaults for fields left at 0 (proto3 cannot tell "unset" from 0). straggler_grace_ms has no
// default: 0 means "answer right after the decision" (stragglers recorded CANCELLED); 200 ms is
// the recommended setting.
inline constexpr uint32_t kDefaultRemoteTimeoutMs = 5000;
inline constexpr uint32_t kDefaultPrimaryMaxCheckMs = 5000;
// Upper bounds: anything larger is a mistake (every wait is bounded).
inline constexpr uint32_t kMaxTimeoutMs = 60000;
inline constexpr uint32_t kMaxStragglerGraceMs = 10000;
// A remote answers inside the caller's deadline: it keeps back min(100 ms, a tenth) of it to
// reply in. Below this remote_timeout_ms no margin worth the name is left (refused).
inline constexpr uint32_t kMinRemoteTimeoutMs = 500;
// Validations in flight (max_in_flight): default and upper bound. As many again may wait, each
// at most kAdmissionMaxWaitMs (and never past its own deadline).
inline constexpr uint32_t kDefaultMaxInFlight = 64;
inline constexpr uint32_t kMaxMaxInFlight = 10000;
inline constexpr uint32_t kAdmissionMaxWaitMs = 1000;
// Rate limits (rate_limits): bounds on a rule's numbers and the keys tracked per limit.
inline constexpr uint32_t kMaxRateLimitPerMinute = 1000000;
inline constexpr uint32_t kMaxRateLimitBurst = 1000000;
inline constexpr uint32_t kDefaultRateLimitMaxKeys = 65536;
inline constexpr uint32_t kMaxRateLimitMaxKeys = 10000000;

// The Open MPIC REST API (PrimaryConfig.openmpic, docs/openmpic.md), defaults applied.
inline constexpr uint32_t kDefaultOpenMpicMaxBodyBytes = 64 * 1024;
inline constexpr uint32_t kMaxOpenMpicMaxBodyBytes = 1024 * 1024;
inline constexpr uint32_t kDefaultOpenMpicReadTimeoutMs = 10000;
inline constexpr uint32_t kMaxOpenMpicBackendTimeoutMs = 600000;
inline constexpr uint32_t kDefaultOpenMpicMaxConnections = 512;
inline constexpr uint32_t kMaxOpenMpicMaxConnections = 65536;
inline constexpr uint32_t kMaxOpenMpicAttempts = 10;
inline constexpr std::size_t kMinOpenMpicApiKeyLength = 32;

struct OpenMpicApiKey {
  std::string name;   // logged and audited as "api-key:<name>"
  std::string value;  // never logged
};

struct OpenMpicOptions {
  bool enabled = false;  // openmpic.listen set
  std::string listen;
  bool plaintext = false;  // lab mode only
  v1::TlsFiles tls;        // openmpic.tls, or the primary's server_tls
  std::string api_key_header = "x-api-key";
  std::vector<OpenMpicApiKey> api_keys;  // read from openmpic.api_keys_file
  bool allow_monitoring = false;
  int max_attempts = 1;
  std::size_t max_body_bytes = kDefaultOpenMpicMaxBodyBytes;
  std::chrono::milliseconds read_timeout{kDefaultOpenMpicReadTimeoutMs};
  std::chrono::milliseconds backend_timeout{0};  // 0: derived from the validation bound
  std::size_t max_connections = kDefaultOpenMpicMaxConnections;
  std::vector<std::string> default_caa_domains;  // for requests without caa_domains
};

// The deadlines of one validation: the primary's own check and each remote's RPC.
struct MethodDeadlines {
  std::chrono::milliseconds max_check{kDefaultPrimaryMaxCheckMs};
  std::chrono::milliseconds remote_timeout{kDefaultRemoteTimeoutMs};
};

// One token bucket rule (PrimaryConfig.rate_limits), defaults applied: burst = per_minute when
// unset; per_minute 0 means off.
struct RateLimitRule {
  uint32_t per_minute = 0;
  uint32_t burst = 0;
  [[nodiscard]] bool enabled() const { return per_minute > 0; }
};

struct RateLimits {
  RateLimitRule per_account;
  RateLimitRule per_identifier;
  uint32_t max_keys = kDefaultRateLimitMaxKeys;
  [[nodiscard]] bool enabled() const { return per_account.enabled() || per_identifier.enabled(); }
  // "per account 60/min burst 20, per identifier off, max 65536 keys each" or "off".
  [[nodiscard]] std::string Describe() const;
};

// A validated configuration, with the derived values the server needs.
struct PrimarySettings {
  v1::PrimaryConfig config;  // as given
  quorum::Policy policy;
  quorum::Perspective primary;               // the primary's own identity
  std::vector<quorum::Perspective> remotes;  // the pool, in config order
  int remotes_per_validation = 0;            // cohort size actually used
  std::string selection_secret;              // key for SelectCohort (see config.cc)
  // The longest RPC deadline of any remote: remote_timeout_ms, or a remote's own timeout_ms
  // when longer (it bounds a validation's watchdog).
  // Also the longest of any method_timeouts entry.
  std::chrono::milliseconds remote_timeout{kDefaultRemoteTimeoutMs};
  // remote_timeout_ms (or its default): the RPC deadline of a remote without its own timeout_ms
  // for a method without its own entry in method_timeouts.
  std::chrono::milliseconds default_remote_timeout{kDefaultRemoteTimeoutMs};
  std::chrono::milliseconds straggler_grace{0};
  std::chrono::milliseconds max_check{kDefaultPrimaryMaxCheckMs};  // max_check_ms (or default)
  // max_check, or the longest max_check_ms of method_timeouts when longer.
  std::chrono::milliseconds longest_max_check{kDefaultPrimaryMaxCheckMs};
  // method_timeouts, by v1::Method, zeros replaced by the global values.
  std::map<int, MethodDeadlines> method_deadlines;
  int max_in_flight = static_cast<int>(kDefaultMaxInFlight);
  RateLimits rate_limits;             // all off unless configured
  std::string phase;                  // "2026-06-15"; "" for research or pre-MPIC
  OpenMpicOptions openmpic;           // the REST API; enabled only when configured
  std::vector<std::string> warnings;  // logged loudly at start (research policy, ...)
  // Why this is not a production configuration (lab mode, ...); empty in production. Shown by
  // --check-config, logged at start, exported as mpic_non_production, in every audit record.
  std::vector<std::string> non_production;

  // The deadlines a validation of `method` runs with: its method_timeouts entry, else the global
  // max_check_ms and remote_timeout_ms (METHOD_UNSPECIFIED, a CAA-only request: the globals).
  [[nodiscard]] MethodDeadlines DeadlinesFor(v1::Method method) const;
  // One remote's RPC deadline for `method`: the remote's own timeout_ms when set (a far remote
  // needs longer whatever the method), else DeadlinesFor(method).remote_timeout.
  [[nodiscard]] std::chrono::milliseconds RemoteTimeoutFor(const v1::RemoteEndpoint& remote,
                                                           v1::Method method) const;
};

// kMalformed listing every violation found ("; "-joined). `today` is used when
// policy.effective_date is "today" (callers pass UtcToday() once, at start).
[[nodiscard]] Result<PrimarySettings> ValidatePrimaryConfig(const v1::PrimaryConfig& config,
                                                            const quorum::Date& today);

// va-primary's live fields (a reload applies them to new validations; in-flight ones finish
// on the configuration they started with): remotes (their timeouts included), policy,
// remotes_per_validation, selection_secret, remote_timeout_ms, straggler_grace_ms,
// remotes_after_primary, max_check_ms, method_timeouts, authorized_clients, max_in_flight and
// client_tls (new channels to the remotes with the files read again). Everything else (identity,
// listen, ready_file, metrics_listen, health_listen, server_tls, resolver, lab, audit_log,
// audit_max_bytes, openmpic) needs a restart.
[[nodiscard]] const std::vector<std::string>& PrimaryLiveFields();
// The reload of a running va-primary: exactly what --check-config checks (ValidatePrimaryConfig
// with `today`), then no restart-only field changed ("restart to change listen"). The new
// settings, or kMalformed saying why the reload is refused.
[[nodiscard]] Result<PrimarySettings> CheckPrimaryReload(const v1::PrimaryConfig& running,
                                                         const v1::PrimaryConfig& next,
                                                         const quorum::Date& today);

// The current UTC calendar date.
[[nodiscard]] quorum::Date UtcToday();

// v1 enum -> quorum enum; kMalformed for RIR_UNSPECIFIED or an unknown value.
[[nodiscard]] Result<quorum::Rir> RirFromProto(v1::Rir rir);
// PerspectiveIdentity -> quorum::Perspective (name, RIR, location), checked.
[[nodiscard]] Result<quorum::Perspective> PerspectiveFromProto(
    const v1::PerspectiveIdentity& identity);

}  // namespace mpic::perspective
