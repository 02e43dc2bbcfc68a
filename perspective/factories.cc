#include "perspective/factories.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <algorithm>

#include "checks/address_policy.h"
#include "perspective/config.h"
#include "resolver/cares_resolver.h"
#include "resolver/unbound_resolver.h"

namespace mpic::perspective {

Result<std::unique_ptr<resolver::Resolver>> MakeResolver(asio::any_io_executor executor,
                                                         const v1::ResolverSettings& settings,
                                                         const v1::LabSettings& lab) {
  if (settings.backend_case() == v1::ResolverSettings::kStub) {
    resolver::StubConfig config;
    config.server = settings.stub().server();
    config.require_ad = settings.stub().require_ad();
    auto r = resolver::CaresResolver::Create(std::move(executor), config);
    if (!r) return Fail(r.error());
    return std::unique_ptr<resolver::Resolver>(std::move(*r));
  }
  resolver::UnboundConfig config;
  const auto& u = settings.unbound();
  if (!u.root_hints_file().empty()) config.root_hints_file = u.root_hints_file();
  if (!u.trust_anchor_file().empty()) config.trust_anchor_file = u.trust_anchor_file();
  if (IsLabMode(lab)) {
    config.allow_loopback_servers = true;
    config.use_ipv6 = false;
  }
  auto r = resolver::UnboundResolver::Create(std::move(executor), config);
  if (!r) return Fail(r.error());
  return std::unique_ptr<resolver::Resolver>(std::move(*r));
}

Result<std::unique_ptr<checks::TcpDialer>> MakeDialer(asio::any_io_executor executor,
                                                      const v1::LabSettings& lab) {
  if (auto s = ValidateLabSettings(lab, "lab"); !s) return Fail(s.error());
  checks::AddressPolicy policy;
  for (const auto& cidr : lab.allow_cidrs()) {
    if (auto s = policy.AllowLabRange(cidr); !s) return Fail(s.error());
  }
  checks::DialerPorts ports;
  if (lab.http_port() != 0) ports.http_port = static_cast<uint16_t>(lab.http_port());
  if (lab.tls_port() != 0) ports.tls_port = static_cast<uint16_t>(lab.tls_port());
  return checks::TcpDialer::Create(std::move(executor), std::move(policy), ports);
}

Result<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const v1::TlsFiles& tls, std::chrono::seconds refresh) {
  auto pems = LoadTlsFiles(tls, "tls");
  if (!pems) return Fail(pems.error());
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      tls.key_file(), tls.cert_file(), tls.ca_file(),
      static_cast<unsigned int>(std::max<std::chrono::seconds::rep>(1, refresh.count())));
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  auto creds = grpc::experimental::TlsServerCredentials(options);
  if (!creds) return Fail(ProblemType::kServerInternal, "cannot build TLS server credentials");
  return creds;
}

Result<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const v1::TlsFiles& tls) {
  auto pems = LoadTlsFiles(tls, "tls");
  if (!pems) return Fail(pems.error());
  return MakeChannelCredentials(*pems);
}

Result<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const TlsPems& pems) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pems.ca;
  options.pem_private_key = pems.key;
  options.pem_cert_chain = pems.cert;
  auto creds = grpc::SslCredentials(options);
  if (!creds) return Fail(ProblemType::kServerInternal, "cannot build TLS channel credentials");
  return creds;
}

}  // namespace mpic::perspective
