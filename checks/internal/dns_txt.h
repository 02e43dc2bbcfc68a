// DNS-01 TXT comparison as a pure function (RFC 8555 §8.4): each TXT record's
// character-strings are concatenated into one value (RFC 1035 §3.3.14 allows a record to be
// split into strings of at most 255 octets), and the challenge passes when any value equals
// the expected digest exactly. Fuzzed by tests/fuzz.
//
//   auto cmp = CompareDns01Txt(rdatas, Dns01TxtValue(key_authorization));
//   if (cmp.matched) pass(); else fail(cmp.values.size(), "values seen");
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace mpic::checks::internal {

// One TXT record's value: its character-strings concatenated, raw octets. Fails (kMalformed)
// when a string's length runs past the rdata.
[[nodiscard]] Result<std::string> TxtRecordValue(std::span<const uint8_t> rdata);

struct Dns01TxtComparison {
  bool matched = false;
  std::vector<std::string> values;  // every value seen, escaped for evidence (dns_text.h)
  size_t malformed = 0;             // records whose rdata could not be read (never match)
};

// Compares every record's value with `expected` (exact octets; no trimming, no case folding:
// the value is base64url and its case matters). Values of any size are just compared.
[[nodiscard]] Dns01TxtComparison CompareDns01Txt(std::span<const std::vector<uint8_t>> rdatas,
                                                 std::string_view expected);

}  // namespace mpic::checks::internal
