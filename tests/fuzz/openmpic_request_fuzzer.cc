// Fuzzes the Open MPIC request decoder (openmpic/request.h): the whole `POST /mpic` body comes
// from the network. Invariants: no crash; a refused body carries at least one issue with a
// type and a message, and its 400 body serializes; an accepted body maps to a v1 request whose
// identifier is the normalized target, and decoding is deterministic.
#include <nlohmann/json.hpp>
#include <string>

#include "openmpic/request.h"
#include "tests/fuzz/fuzz_input.h"

using mpic::fuzz::Require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  mpic::openmpic::DecodeOptions options;
  options.default_caa_domains = {"ca.example"};
  options.accept_key_authorization_hash = size % 2 == 0;
  options.accept_smime = size % 3 == 0;
  auto decoded = mpic::openmpic::DecodeRequest(body, options);
  if (!decoded) {
    Require(!decoded.error().empty());
    for (const auto& issue : decoded.error()) {
      Require(!issue.issue_type.empty() && !issue.message.empty());
    }
    const std::string text = mpic::openmpic::ValidationErrorBody(decoded.error())
                                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    Require(!nlohmann::json::parse(text, nullptr, false).is_discarded());
    return 0;
  }
  Require(!decoded->identifier.empty());
  Require(decoded->validate.identifier() == decoded->identifier);
  Require(decoded->validate.skip_caa() != decoded->validate.skip_dcv());
  if (decoded->check_type == mpic::openmpic::CheckType::kDcv) {
    Require(decoded->validate.method() != mpic::v1::METHOD_UNSPECIFIED);
    Require(!decoded->validate.key_authorization().empty() ||
            decoded->key_authorization_sha256.has_value());
  } else {
    Require(decoded->validate.caa_issuer_domains_size() > 0);
    Require(!decoded->is_ip);
  }
  // A digest given is the digest sent on (ValidateRequest.key_authorization_sha256).
  Require(decoded->validate.key_authorization_sha256().size() ==
          (decoded->key_authorization_sha256 ? 32u : 0u));
  Require(decoded->validate.certificate_type() != mpic::v1::CERTIFICATE_TYPE_S_MIME ||
          (options.accept_smime && !decoded->wildcard));
  auto again = mpic::openmpic::DecodeRequest(body, options);
  Require(again && again->validate.SerializeAsString() == decoded->validate.SerializeAsString());
  return 0;
}
