// Domain-name checks done before any query or connection: RFC 1035 §2.3.4 limits (labels of
// 1..63 octets, at most 253 octets in presentation form without the root dot) and a character
// set. Names come back lower-cased and without the trailing dot.
//
//   auto name = mpic::NormalizeDnsName("WWW.Example.COM.");   // "www.example.com"
//   auto host = mpic::NormalizeHostname("_bad.example.com");  // error: underscore in a hostname
//   auto idn = mpic::NormalizeHostname("xn--zz.example");    // error: not a valid A-label
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
// end of a label, at least two labels, and a last label that is not all digits. A label that
// starts with "xn--" must be an A-label (CheckALabel): a fake A-label is malformed, never a
// name to look up.
[[nodiscard]] Result<std::string> NormalizeHostname(std::string_view name);

// Punycode (RFC 3492 §6.2) of the text after "xn--": the code points, or an error for a bad
// digit, a missing digit, an overflow or a result outside Unicode.
[[nodiscard]] Result<std::u32string> DecodePunycode(std::string_view encoded);
// Punycode (RFC 3492 §6.3) of code points, digits lower-case; the inverse of DecodePunycode.
[[nodiscard]] Result<std::string> EncodePunycode(std::u32string_view code_points);

// An "xn--" label (lower-case) is a valid A-label as far as the checks that need no Unicode
// tables go (RFC 5890 §2.3.2.1, RFC 5891 §4.2.3): the rest decodes as Punycode; encoding the
// result gives the label back (no second spelling of one U-label); the U-label has a non-ASCII
// code point, no ASCII other than lower-case letters, digits and '-', no '-' at either end or
// in positions 3 and 4 (RFC 5891 §4.2.3.1), and no surrogate, control (C0/C1) or
// noncharacter. Not checked: the RFC 5892 derived property table (e.g. symbols and emoji are
// DISALLOWED there), NFC, the CONTEXTJ/CONTEXTO rules and the RFC 5893 Bidi rule.
[[nodiscard]] Status CheckALabel(std::string_view label);

// The name with a trailing dot, for wire/presentation use ("" -> ".").
[[nodiscard]] std::string Fqdn(std::string_view normalized);

}  // namespace mpic
