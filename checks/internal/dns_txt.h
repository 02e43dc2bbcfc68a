// TXT and other DNS text data as pure functions: octets made safe for evidence and problem
// details, and the DNS-01 TXT comparison.
//
// EscapeOctets: RFC 1035 §5.1 escaping, so binary or non-UTF-8 data (TXT strings, CAA values)
// can never break the JSON a check prints, and the original octets stay recoverable.
//
//   std::string shown = EscapeOctets(raw_txt_value);      // "a\"b\\c\007"
//   std::string brief = EscapeOctets(raw_txt_value, 64);  // at most 64 input octets, then "..."
//
// The DNS-01 TXT comparison (RFC 8555 §8.4): each TXT record's
// character-strings are concatenated into one value (RFC 1035 §3.3.14 allows a record to be
// split into strings of at most 255 octets), and the challenge passes when any value equals
// the expected digest exactly. Fuzzed by tests/fuzz.
//
//   auto cmp = CompareDns01Txt(rdatas, Dns01TxtValue(key_authorization));
//   if (cmp.matched) pass(); else fail(cmp.values.size(), "values seen");
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace mpic::checks::internal {

// Printable ASCII is kept; '"' and '\\' become "\\\"" and "\\\\"; every other octet "\\DDD"
// (decimal). With `max_octets`, input past that many octets is replaced by "...".
[[nodiscard]] std::string EscapeOctets(std::string_view raw, size_t max_octets = std::string::npos);

// One TXT record's value: its character-strings concatenated, raw octets. Fails (kMalformed)
// when a string's length runs past the rdata.
[[nodiscard]] Result<std::string> TxtRecordValue(std::span<const uint8_t> rdata);

struct Dns01TxtComparison {
  bool matched = false;
  std::vector<std::string> values;  // every value seen, escaped for evidence (EscapeOctets)
  size_t malformed = 0;             // records whose rdata could not be read (never match)
};

// Compares every record's value with `expected` (exact octets; no trimming, no case folding:
// the value is base64url and its case matters). Values of any size are just compared.
[[nodiscard]] Dns01TxtComparison CompareDns01Txt(std::span<const std::vector<uint8_t>> rdatas,
                                                 std::string_view expected);

}  // namespace mpic::checks::internal
