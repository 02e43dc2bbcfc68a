// Configuration files of va-remote and va-primary: proto3 JSON (see mpic/v1/config.proto)
// with unknown fields rejected, checked before anything starts, and the shared builders that
// turn config messages into running parts: the resolver, the TCP dialer and the mTLS
// credentials. Errors name the file or the field; bad config exits non-zero at startup.
//
//   auto config = mpic::proto::LoadRemoteConfig("/etc/mpic/remote.json");
//   if (!config) Die(config.error().detail);  // "remote.json: ...: unknown field \"lsten\""
//   if (auto ok = mpic::proto::ValidateRemoteConfig(*config); !ok) Die(ok.error().detail);
//   auto resolver = mpic::proto::MakeResolver(io.get_executor(), config->resolver(),
//                                             config->lab());
//   auto dialer = mpic::proto::MakeDialer(io.get_executor(), config->lab());
//   auto creds = mpic::proto::MakeServerCredentials(config->tls());  // client certs REQUIRED
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "checks/tcp_dialer.h"
#include "common/asio.h"
#include "common/error.h"
#include "mpic/v1/config.pb.h"
#include "resolver/resolver.h"

namespace mpic::proto {

namespace v1 = ::mpic::v1;

// Defaults for zero-valued limits of RemoteConfig.
inline constexpr uint32_t kDefaultMaxCheckMs = 10'000;
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
// allow_cidrs parse (checks::Cidr::Parse); http_port/tls_port only in lab mode, <= 65535.
[[nodiscard]] Status ValidateLabSettings(const v1::LabSettings& lab, std::string_view field);

// The resolver a config names (unbound by default). In lab mode (allow_cidrs non-empty)
// unbound may query loopback servers and uses IPv4 only (the lab's servers are IPv4
// loopback).
[[nodiscard]] Result<std::unique_ptr<resolver::Resolver>> MakeResolver(
    asio::any_io_executor executor, const v1::ResolverSettings& settings,
    const v1::LabSettings& lab);

// The TCP dialer of the checks: production policy plus the lab's ranges and ports, if any.
[[nodiscard]] Result<std::unique_ptr<checks::TcpDialer>> MakeDialer(asio::any_io_executor executor,
                                                                    const v1::LabSettings& lab);

// gRPC server credentials that REQUIRE a client certificate and verify it against ca_file
// (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY).
[[nodiscard]] Result<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const v1::TlsFiles& tls);
// gRPC channel credentials: trust only ca_file, present cert_file/key_file.
[[nodiscard]] Result<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const v1::TlsFiles& tls);

// A whole (small) file, or kMalformed naming the path.
[[nodiscard]] Result<std::string> ReadSmallFile(const std::string& path,
                                                size_t max_bytes = 1 << 20);

}  // namespace mpic::proto
