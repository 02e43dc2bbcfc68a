// Domain-name checks done before any query or connection: RFC 1035 §2.3.4 limits (labels of
// 1..63 octets, at most 253 octets in presentation form without the root dot) and a character
// set. Names come back lower-cased and without the trailing dot.
//
//   auto name = mpic::NormalizeDnsName("WWW.Example.COM.");   // "www.example.com"
//   auto host = mpic::NormalizeHostname("_bad.example.com");  // error: underscore in a hostname
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace mpic {

inline constexpr size_t kMaxNameLength = 253;  // RFC 1035 §2.3.4 (255 octets on the wire)
inline constexpr size_t kMaxLabelLength = 63;  // RFC 1035 §2.3.4

// A DNS owner name for a query: letters, digits, '-' and '_' (for _acme-challenge and friends).
// The root "." is accepted and returned as "".
[[nodiscard]] Result<std::string> NormalizeDnsName(std::string_view name);

// A hostname for an identifier (RFC 1123 §2.1 LDH rule): letters, digits, '-' not at either
// end of a label, at least two labels, and a last label that is not all digits.
[[nodiscard]] Result<std::string> NormalizeHostname(std::string_view name);

// The name with a trailing dot, for wire/presentation use ("" -> ".").
[[nodiscard]] std::string Fqdn(std::string_view normalized);

}  // namespace mpic
