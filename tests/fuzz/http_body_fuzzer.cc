// Fuzzes the HTTP-01 body comparison (checks/internal/http_body.h). Invariants: no crash; the
// detail is valid JSON text; a pass means the trimmed body is exactly the key authorization
// and the body is within the read limit.
#include <nlohmann/json.hpp>
#include <string>

#include "checks/internal/http_body.h"
#include "tests/fuzz/fuzz_input.h"

using mpic::fuzz::Require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mpic::fuzz::FuzzInput in(data, size);
  std::string key_authorization(in.Blob());
  std::string body(in.Rest());
  auto st = mpic::checks::internal::CompareHttpBody(body, key_authorization);
  if (st) {
    Require(body.size() <= mpic::checks::internal::kHttpBodyLimit);
    Require(mpic::checks::internal::TrimHttpBody(body) == key_authorization);
  } else {
    Require(!nlohmann::json(st.error().detail).dump().empty());
  }
  return 0;
}
