// Fuzzes the DNS-01 TXT comparison (checks/internal/dns_txt.h). Invariants: no crash; every
// readable record yields one value; values are valid JSON text; a record whose concatenated
// strings equal the expected value matches, and nothing else does.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checks/internal/dns_txt.h"
#include "checks/key_authorization.h"
#include "tests/fuzz/fuzz_input.h"

using mpic::fuzz::Require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mpic::fuzz::FuzzInput in(data, size);
  // Either the digest of a key authorization taken from the input, or raw expected octets.
  const uint8_t mode = in.Byte();
  std::string expected =
      (mode & 1) ? mpic::checks::Dns01TxtValue(in.Blob()) : std::string(in.Blob());
  std::vector<std::vector<uint8_t>> rdatas;
  while (!in.empty() && rdatas.size() < 64) {
    std::string_view blob = in.Blob();
    rdatas.emplace_back(blob.begin(), blob.end());
  }
  auto cmp = mpic::checks::internal::CompareDns01Txt(rdatas, expected);
  Require(cmp.values.size() + cmp.malformed == rdatas.size());
  Require(!nlohmann::json(cmp.values).dump().empty());
  bool any = false;
  for (const auto& rdata : rdatas) {
    auto value = mpic::checks::internal::TxtRecordValue(rdata);
    if (value && *value == expected) any = true;
  }
  Require(any == cmp.matched);
  return 0;
}
