// `mpic validate --primary ADDR --ca-cert F --cert F --key F --method M --identifier NAME ...`:
// asks a va-primary (mpic.v1.Primary/Validate, mutual TLS) for a decision and prints it as a
// table, one row per perspective, then the decision line and any divergences (or, with --json,
// the ValidateResponse in the proto3 JSON mapping).
// Exit 0: a decision came back, corroborated or not (the output says which); 1: the RPC failed
// (gRPC status on stderr); 2: bad usage.
//
// The pieces are public so that `mpic fleet` validates and prints the same way:
//
//   ClientTlsFiles tls;
//   tls.ca_file = "ca.pem", tls.cert_file = "client.pem", tls.key_file = "client.key";
//   auto channel = DialPrimary("127.0.0.1:4443", tls);
//   ValidateCall call = CallValidate(**channel, request, std::chrono::seconds(30));
//   if (call.status.ok()) PrintDecision(call.response, std::cout);
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "lab/primary_client.h"
#include "mpic/v1/primary.grpc.pb.h"

namespace mpic::tools {

int RunValidate(int argc, char** argv, int first, std::ostream& out, std::ostream& err);

// What `mpic validate ARGS` would send, without sending it (ARGS: the words after "validate"):
// the ValidateRequest of the gRPC path, or the POST /mpic body (JSON text) of --api openmpic.
// An Error carrying the usage problem when the flags are inconsistent.
[[nodiscard]] Result<v1::ValidateRequest> ValidateRequestForArgs(
    const std::vector<std::string>& args);
[[nodiscard]] Result<std::string> OpenMpicBodyForArgs(const std::vector<std::string>& args);

// The client side of mpic.v1.Primary (shared with the lab and the benchmarks).
using lab::CallValidate;
using lab::ClientTlsFiles;
using lab::DescribeStatus;
using lab::DialPrimary;
using lab::ParseDcvMethod;
using lab::ValidateCall;

// The human-readable form: a table of perspectives (primary first), then
// "decision: CORROBORATED (quorum 5/5, policy ..., request_id ...)", the problem when not
// corroborated, and the divergences.
void PrintDecision(const v1::ValidateResponse& response, std::ostream& out);

// The response in the proto3 JSON mapping (field names as in the .proto), one line.
[[nodiscard]] std::string ResponseJson(const v1::ValidateResponse& response);

// "http-01", ... for display.
[[nodiscard]] std::string DcvMethodName(v1::Method method);

}  // namespace mpic::tools
