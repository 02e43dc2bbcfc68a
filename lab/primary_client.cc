#include "lab/primary_client.h"

#include <cctype>
#include <fstream>
#include <sstream>

#include "perspective/wire.h"

namespace mpic::lab {
namespace {

Result<std::string> ReadFileText(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ProblemType::kMalformed, "--" + flag + ": cannot read " + path);
  std::stringstream body;
  body << in.rdbuf();
  if (body.str().empty()) return Fail(ProblemType::kMalformed, "--" + flag + ": empty " + path);
  return body.str();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<v1::Method> ParseDcvMethod(std::string_view text) {
  auto method = checks::ParseMethod(Lower(text));
  if (!method || *method == checks::Method::kCaa) return std::nullopt;
  return perspective::MethodToProto(*method);
}

std::string DescribeStatus(const grpc::Status& status) {
  const int code = static_cast<int>(status.error_code());
  // 0..16 are the codes gRPC defines; anything else is shown as its number.
  std::string name = code >= 0 && code <= 16 ? std::string(perspective::GrpcCodeName(status.error_code()))
                                             : "code " + std::to_string(code);
  std::string out = "grpc " + name;
  if (!status.error_message().empty()) out += ": " + status.error_message();
  return out;
}

Result<std::shared_ptr<grpc::Channel>> DialPrimary(const std::string& address,
                                                   const ClientTlsFiles& tls) {
  grpc::SslCredentialsOptions options;
  auto ca = ReadFileText("ca-cert", tls.ca_file);
  if (!ca) return Fail(ca.error());
  auto cert = ReadFileText("cert", tls.cert_file);
  if (!cert) return Fail(cert.error());
  auto key = ReadFileText("key", tls.key_file);
  if (!key) return Fail(key.error());
  options.pem_root_certs = std::move(*ca);
  options.pem_cert_chain = std::move(*cert);
  options.pem_private_key = std::move(*key);
  grpc::ChannelArguments args;
  if (!tls.server_name.empty()) args.SetSslTargetNameOverride(tls.server_name);
  // Loopback and explicit addresses only: never a proxy from the environment.
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  return grpc::CreateCustomChannel(address, grpc::SslCredentials(options), args);
}

ValidateCall CallValidate(grpc::Channel& channel, const v1::ValidateRequest& request,
                          std::chrono::milliseconds timeout) {
  // The stub wants a shared_ptr; this one does not own the caller's channel.
  std::shared_ptr<grpc::Channel> borrowed(std::shared_ptr<grpc::Channel>(), &channel);
  auto stub = v1::Primary::NewStub(borrowed);
  grpc::ClientContext context;
  auto start = std::chrono::steady_clock::now();
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  ValidateCall call;
  call.status = stub->Validate(&context, request, &call.response);
  call.elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return call;
}

}  // namespace mpic::lab
