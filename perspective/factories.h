// What turns a perspective's configuration into running parts, the same for va-remote and
// va-primary: the resolver, the TCP dialer of the checks, and the mTLS credentials.
//
//   auto resolver = mpic::perspective::MakeResolver(io.get_executor(), config.resolver(),
//                                                   config.lab());
//   auto dialer = mpic::perspective::MakeDialer(io.get_executor(), config.lab());
//   auto creds = mpic::perspective::MakeServerCredentials(config.tls());  // client certs REQUIRED
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <chrono>
#include <memory>

#include "checks/tcp_dialer.h"
#include "common/asio.h"
#include "common/error.h"
#include "mpic/v1/config.pb.h"
#include "perspective/config.h"
#include "resolver/resolver.h"

namespace mpic::perspective {

namespace v1 = ::mpic::v1;

// The resolver a config names (unbound by default). In lab mode (allow_cidrs non-empty)
// unbound may query loopback servers and uses IPv4 only (the lab's servers are IPv4
// loopback).
[[nodiscard]] Result<std::unique_ptr<resolver::Resolver>> MakeResolver(
    asio::any_io_executor executor, const v1::ResolverSettings& settings,
    const v1::LabSettings& lab);

// The TCP dialer of the checks: production policy plus the lab's ranges and ports, if any.
[[nodiscard]] Result<std::unique_ptr<checks::TcpDialer>> MakeDialer(asio::any_io_executor executor,
                                                                    const v1::LabSettings& lab);

// How often a server re-reads its certificate, key and CA files, and va-primary its client_tls
// files (rotation without restart). Short, because gRPC's watcher cannot be told to re-read at
// once: a SIGHUP checks the files at once and they are in use within this (docs/operations.md).
inline constexpr std::chrono::seconds kCertificateRefresh{2};

// gRPC server credentials that REQUIRE a client certificate and verify it against ca_file
// (GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY). The three files are checked now
// (a bad file is a start-up error) and then watched: every `refresh` gRPC re-reads them, so a
// rotated certificate (cert-manager, or files replaced by hand) is served to new connections
// without a restart; a half-written or mismatched key and certificate is not taken (gRPC keeps
// the pair it has). Connections already open keep their handshake.
[[nodiscard]] Result<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const v1::TlsFiles& tls, std::chrono::seconds refresh = kCertificateRefresh);
// gRPC channel credentials: trust only ca_file, present cert_file/key_file.
[[nodiscard]] Result<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const v1::TlsFiles& tls);
// The same from files already read and checked (LoadTlsFiles), e.g. to compare a rotated
// certificate with the one in use before building new channels.
[[nodiscard]] Result<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsPems& pems);

}  // namespace mpic::perspective
