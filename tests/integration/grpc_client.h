// gRPC client helpers of the fleet's integration tests: an mTLS channel to a server of the
// test PKI, and the standard health service asked without generated stubs.
//
//   auto channel = mpic::testing::MtlsChannel(address, pki.ca_cert_pem, &client, "va-remote");
//   EXPECT_EQ(mpic::testing::HealthStatus(channel, "mpic.v1.Perspective"), "SERVING");
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "lab/health_client.h"
#include "lab/pki.h"

namespace mpic::testing {

// Trusts only `ca_pem`; presents `client_cert` unless it is null; expects the server's
// certificate to name `server_name`.
[[nodiscard]] std::shared_ptr<grpc::Channel> MtlsChannel(const std::string& address,
                                                         const std::string& ca_pem,
                                                         const lab::CertPair* client_cert,
                                                         const std::string& server_name);

// grpc.health.v1.Health/Check, as `mpic deploy probe` asks it.
using lab::HealthStatus;

// A unary call of `method` ("/pkg.Service/Method") with `bytes` as the request, whatever they
// are; its status. Bounded like HealthStatus.
[[nodiscard]] grpc::Status RawUnaryCall(const std::shared_ptr<grpc::Channel>& channel,
                                        const std::string& method, const std::string& bytes);

}  // namespace mpic::testing
