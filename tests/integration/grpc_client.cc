#include "tests/integration/grpc_client.h"

namespace mpic::testing {

std::shared_ptr<grpc::Channel> MtlsChannel(const std::string& address, const std::string& ca_pem,
                                           const lab::CertPair* client_cert,
                                           const std::string& server_name) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = ca_pem;
  if (client_cert) {
    options.pem_cert_chain = client_cert->cert_pem;
    options.pem_private_key = client_cert->key_pem;
  }
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride(server_name);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(options), args);
}

}  // namespace mpic::testing
