// Octets from DNS data (TXT strings, CAA values) made safe for evidence and problem details:
// RFC 1035 §5.1 escaping, so binary or non-UTF-8 data can never break the JSON a check
// prints, and the original octets stay recoverable.
//
//   std::string shown = EscapeOctets(raw_txt_value);      // "a\"b\\c\007"
//   std::string brief = EscapeOctets(raw_txt_value, 64);  // at most 64 input octets, then "..."
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mpic::checks::internal {

// Printable ASCII is kept; '"' and '\\' become "\\\"" and "\\\\"; every other octet "\\DDD"
// (decimal). With `max_octets`, input past that many octets is replaced by "...".
[[nodiscard]] std::string EscapeOctets(std::string_view raw, size_t max_octets = std::string::npos);

}  // namespace mpic::checks::internal
