// Prints one JSON line per sample body the server can send: {"schema": NAME, "body": {...}}.
// openmpic/schema_test.py checks each body against components.schemas.NAME of
// openmpic/openapi.json with a maintained JSON Schema validator.
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "openmpic/request.h"
#include "openmpic/response.h"
#include "openmpic/server.h"
#include "openmpic/testing/samples.h"

namespace {

using json = nlohmann::json;
using mpic::openmpic::EncodeResponse;

void Print(const std::string& schema, const json& body) {
  std::cout << json{{"schema", schema}, {"body", body}}.dump(
                   -1, ' ', false, json::error_handler_t::replace)
            << "\n";
}

}  // namespace

int main() {
  namespace testing = mpic::openmpic::testing;
  for (bool valid : {true, false}) {
    auto sample = testing::HttpSample(valid);
    Print("DcvResponse", EncodeResponse(sample.request, sample.orchestration, sample.result));
  }
  auto dns = testing::DnsSample();
  Print("DcvResponse", EncodeResponse(dns.request, dns.orchestration, dns.result));
  auto caa = testing::CaaSample();
  Print("CaaResponse", EncodeResponse(caa.request, caa.orchestration, caa.result));

  // A TLS-ALPN-01 request answered by a primary whose remotes all errored.
  mpic::openmpic::DecodeOptions options;
  auto tls = mpic::openmpic::DecodeRequest(
      R"({"check_type":"dcv","domain_or_ip_target":"2001:db8::1","dcv_check_parameters":
          {"validation_method":"acme-tls-alpn-01","key_authorization":"a.b"}})",
      options);
  if (!tls) return 1;
  auto result = testing::MakeResult(tls->validate, 4, 0);
  for (auto& remote : *result.final.response.mutable_remotes()) {
    remote.set_status(mpic::v1::RPC_ERROR);
    remote.set_error("connection refused");
  }
  Print("DcvResponse", EncodeResponse(*tls, {4, 3, 1, std::nullopt, false}, result));

  // The BR methods: one DNS-detail and one HTTP-detail response, with their echoed parameters.
  for (const char* body :
       {R"({"check_type":"dcv","domain_or_ip_target":"example.com","dcv_check_parameters":
            {"validation_method":"dns-change","challenge_value":"v","dns_record_type":"TXT",
             "dns_name_prefix":"_pki-validation"}})",
        R"({"check_type":"dcv","domain_or_ip_target":"example.com","dcv_check_parameters":
            {"validation_method":"website-change","challenge_value":"v",
             "http_token_path":"t.txt"}})",
        R"({"check_type":"dcv","domain_or_ip_target":"192.0.2.7","dcv_check_parameters":
            {"validation_method":"reverse-address-lookup","challenge_value":"h.example"}})",
        R"({"check_type":"dcv","domain_or_ip_target":"example.com","dcv_check_parameters":
            {"validation_method":"contact-email-txt","challenge_value":"a@example.com",
             "dns_name_prefix":"_validation-contactemail"}})"}) {
    auto br = mpic::openmpic::DecodeRequest(body, options);
    if (!br) return 1;
    auto br_result = testing::MakeResult(br->validate, 2, 2);
    Print("DcvResponse", EncodeResponse(*br, {2, 2, 1, std::nullopt, false}, br_result));
  }

  // Every kind of 400 the decoder and the orchestration produce.
  for (const char* body :
       {"{", "[]", R"({"check_type":"x"})", R"({"check_type":"caa","domain_or_ip_target":"a b"})",
        R"({"check_type":"dcv","domain_or_ip_target":"example.com",
            "dcv_check_parameters":{"validation_method":"dns-change"}})"}) {
    auto decoded = mpic::openmpic::DecodeRequest(body, options);
    if (decoded) return 1;
    Print("ValidationFailed", mpic::openmpic::ValidationErrorBody(decoded.error()));
  }
  Print("Error", json{{"error", "request-timeout"}, {"message", "late"}});
  Print("Health", json{{"status", "ok"}});
  return 0;
}
