// Configuration files of va-remote and va-primary: proto3 JSON (see mpic/v1/config.proto) with
// unknown fields rejected, and the rules every perspective's configuration must meet, checked
// before anything starts (and by --check-config): the shared part here, the primary's own part
// in perspective/primary_config.h. Errors name the file or the field; bad config exits non-zero
// at startup.
//
//   auto config = mpic::perspective::LoadRemoteConfig("/etc/mpic/remote.json");
//   if (!config) Die(config.error().detail);  // "remote.json: ...: unknown field \"lsten\""
//   if (auto ok = mpic::perspective::ValidateRemoteConfig(*config); !ok) Die(ok.error().detail);
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "mpic/v1/config.pb.h"

namespace mpic::perspective {

namespace v1 = ::mpic::v1;

// Defaults for zero-valued limits of RemoteConfig.
inline constexpr uint32_t kDefaultRemoteMaxCheckMs = 10'000;
inline constexpr uint32_t kDefaultMaxConcurrent = 64;
// Upper bounds a configuration may not exceed.
inline constexpr uint32_t kMaxMaxCheckMs = 120'000;
inline constexpr uint32_t kMaxMaxConcurrent = 100'000;

// Reads and parses a config file (at most 1 MiB). Errors are kMalformed and start with the
// path: a missing/unreadable file, bad JSON, an unknown field, a wrong type.
[[nodiscard]] Result<v1::RemoteConfig> LoadRemoteConfig(const std::string& path);
[[nodiscard]] Result<v1::PrimaryConfig> LoadPrimaryConfig(const std::string& path);

// Parses config JSON already in memory (`origin` names it in errors).
[[nodiscard]] Result<v1::RemoteConfig> ParseRemoteConfig(std::string_view json,
                                                         std::string_view origin);
[[nodiscard]] Result<v1::PrimaryConfig> ParsePrimaryConfig(std::string_view json,
                                                           std::string_view origin);

// Everything va-remote needs before it may start; the first problem found, naming the field:
// identity (name non-empty, printable, no spaces; RIR set; location present, latitude -90..90,
// longitude -180..180), listen ("IP:PORT" / "[IPv6]:PORT"), metrics_listen (empty or the
// same form), TLS files (all three readable, PEM that parses, key matching the certificate),
// resolver, lab settings, max_check_ms <= kMaxMaxCheckMs, max_concurrent <= kMaxMaxConcurrent
// (0 means the defaults above).
[[nodiscard]] Status ValidateRemoteConfig(const v1::RemoteConfig& config);

// The pieces of the above, for va-primary. `field` prefixes error details ("identity").
[[nodiscard]] Status ValidateIdentity(const v1::PerspectiveIdentity& identity,
                                      std::string_view field);
// An "IP:PORT" or "[IPv6]:PORT" literal; port 0 allowed (the kernel picks one).
[[nodiscard]] Status ValidateListenAddress(std::string_view address, std::string_view field);
[[nodiscard]] Status ValidateTlsFiles(const v1::TlsFiles& tls, std::string_view field);
// Unbound: root hints and trust anchor files readable (the Debian defaults when empty).
// Stub: a parseable server address; require_ad is mandatory outside lab mode (an answer the
// resolver did not authenticate must never count as DNSSEC-validated in production).
[[nodiscard]] Status ValidateResolverSettings(const v1::ResolverSettings& resolver,
                                              const v1::LabSettings& lab, std::string_view field);
// allow_cidrs parse (checks::Cidr::Parse) and lie inside loopback or documentation ranges
// (127.0.0.0/8, ::1/128, 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32), or
// inside private ranges (10/8, 100.64/10, 172.16/12, 192.168/16, fc00::/7) when
// allow_private_ranges acknowledges them; http_port/tls_port only in lab mode, <= 65535.
[[nodiscard]] Status ValidateLabSettings(const v1::LabSettings& lab, std::string_view field);

// Why a configuration with these lab settings is not for production (empty outside lab mode):
// shown by --check-config, logged at start, exported as mpic_non_production and written into
// every audit record.
[[nodiscard]] std::vector<std::string> NonProductionReasons(const v1::LabSettings& lab);

// Settings allowed outside lab mode that an operator must have meant: a DNSSEC trust anchor or
// root hints other than the system's. Logged as warnings at start and by --check-config.
[[nodiscard]] std::vector<std::string> ResolverWarnings(const v1::ResolverSettings& resolver);

// authorized_primaries / authorized_clients: required outside lab mode (in lab mode empty means
// any certificate the fleet CA signed); each a non-empty printable name.
[[nodiscard]] Status ValidateAuthorizedPeers(
    const google::protobuf::RepeatedPtrField<std::string>& names, const v1::LabSettings& lab,
    std::string_view field);

// The three PEM files of a TlsFiles, read and checked (the CA parses, the certificate parses,
// the key is unencrypted and matches it), so that a bad file is a startup error instead of
// every handshake failing later. Errors name `field`.
struct TlsPems {
  std::string ca;
  std::string cert;
  std::string key;
  bool operator==(const TlsPems&) const = default;
};
[[nodiscard]] Result<TlsPems> LoadTlsFiles(const v1::TlsFiles& tls, std::string_view field);

// Configuration reload (SIGHUP, docs/operations.md). A reload applies only some fields while
// serving; any other field that differs between the running configuration and the new one makes
// the reload refused, naming the fields: "restart to change listen, lab". A field not listed as
// live (a new one included) needs a restart: a setting is never silently left unapplied.
// The top-level fields of `running` and `next` (the same message type) that differ and are not
// in `live`, in field-number order.
[[nodiscard]] std::vector<std::string> RestartOnlyChanges(
    const google::protobuf::Message& running, const google::protobuf::Message& next,
    const std::vector<std::string>& live);
// The top-level fields that differ, every one (for the reload's log line).
[[nodiscard]] std::vector<std::string> ChangedFields(const google::protobuf::Message& running,
                                                     const google::protobuf::Message& next);
// va-remote's live fields: authorized_primaries, max_check_ms, max_concurrent. (The TLS files'
// contents are re-read by the server's certificate watcher; their paths need a restart.)
[[nodiscard]] const std::vector<std::string>& RemoteLiveFields();
// The reload of a running va-remote: exactly what --check-config checks (ValidateRemoteConfig,
// the resolver settings being restart-only), then no restart-only field changed. kMalformed
// saying why otherwise.
[[nodiscard]] Status CheckRemoteReload(const v1::RemoteConfig& running,
                                       const v1::RemoteConfig& next);

// Lab mode: allow_cidrs is non-empty (test ranges and ports are allowed).
[[nodiscard]] bool IsLabMode(const v1::LabSettings& lab);

// A whole (small) file, or kMalformed naming the path.
[[nodiscard]] Result<std::string> ReadSmallFile(const std::string& path,
                                                size_t max_bytes = 1 << 20);

}  // namespace mpic::perspective
