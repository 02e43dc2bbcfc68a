// Fuzzes the TLS-ALPN-01 certificate verdict (checks/internal/tls_cert.h) on arbitrary DER.
// Invariants: no crash; the evidence and detail are valid JSON text.
#include <span>
#include <string>

#include "checks/check.h"
#include "checks/internal/tls_cert.h"
#include "tests/fuzz/fuzz_input.h"

using mpic::fuzz::Require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mpic::fuzz::FuzzInput in(data, size);
  const uint8_t flags = in.Byte();
  const std::string identifier = (flags & 1) ? "192.0.2.1" : "example.com";
  const std::string key_authorization =
      "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
  std::string_view der = in.Rest();
  mpic::checks::Evidence evidence;
  auto st = mpic::checks::internal::VerifyAcmeCertificate(
      std::span(reinterpret_cast<const uint8_t*>(der.data()), der.size()), identifier,
      key_authorization, &evidence);
  Require(!mpic::checks::ToJson(evidence).dump().empty());
  if (!st) Require(!nlohmann::json(st.error().detail).dump().empty());
  return 0;
}
