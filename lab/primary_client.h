// The client side of mpic.v1.Primary/Validate over mutual TLS, shared by `mpic validate`,
// `mpic fleet` and the fleet benchmarks.
//
//   ClientTlsFiles tls;
//   tls.ca_file = "ca.pem", tls.cert_file = "client.pem", tls.key_file = "client.key";
//   auto channel = DialPrimary("127.0.0.1:4443", tls);
//   ValidateCall call = CallValidate(**channel, request, std::chrono::seconds(30));
//   if (!call.status.ok()) std::cerr << DescribeStatus(call.status) << "\n";
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "mpic/v1/primary.grpc.pb.h"

namespace mpic::lab {

struct ClientTlsFiles {
  std::string ca_file;      // the fleet CA (verifies the primary)
  std::string cert_file;    // this client's certificate (the primary requires one)
  std::string key_file;     // its key
  std::string server_name;  // expected name in the primary's certificate; "" = ADDR's host
};

// A channel to `address` ("host:port") over mutual TLS. kMalformed when a file cannot be read.
[[nodiscard]] Result<std::shared_ptr<grpc::Channel>> DialPrimary(const std::string& address,
                                                                 const ClientTlsFiles& tls);

struct ValidateCall {
  grpc::Status status;
  v1::ValidateResponse response;  // meaningful when status.ok()
  double elapsed_ms = 0;
};

// One Validate RPC with a deadline `timeout` from now. Blocking.
[[nodiscard]] ValidateCall CallValidate(grpc::Channel& channel, const v1::ValidateRequest& request,
                                        std::chrono::milliseconds timeout);

// A DCV method name (case-insensitive: "http-01", "dns-01", ..., "dns-change",
// "reverse-address-lookup"; checks::MethodName) to the enum; nullopt otherwise (also for "caa").
[[nodiscard]] std::optional<v1::Method> ParseDcvMethod(std::string_view text);

// "grpc UNAVAILABLE: connection refused" for stderr.
[[nodiscard]] std::string DescribeStatus(const grpc::Status& status);

}  // namespace mpic::lab
