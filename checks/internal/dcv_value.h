// The value comparisons of the BR methods beyond ACME, as pure functions: the Random Value or
// Request Token of DNS change (BR §3.2.2.4.7) and agreed-upon change to website v2
// (§3.2.2.4.18), the contact values of §3.2.2.4.13, .14, .16, .17, the reverse name of
// §3.2.2.5.3. No I/O; table-tested in dcv_value_test.cc, fuzzed by
// tests/fuzz/dcv_value_fuzzer.cc.
//
//   if (auto ok = ValidateChallengeValue(value, /*substring=*/true); !ok) fail(ok.error());
//   bool hit = ValueMatches(txt_value, value, {.exact_match = false, .exact_case = true});
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/asio.h"
#include "common/error.h"

namespace mpic::checks::internal {

// Octets of a challenge value the CA may ask for (a TXT value can be longer; a Random Value
// carries 112 bits, BR §1.6.1, so this is room enough for any encoding of one).
inline constexpr size_t kMaxChallengeValue = 1024;
// A substring match needs a value at least this long: a short value turns up by chance in
// unrelated text (a word in an SPF record, a page's markup). 16 base64 characters are 96 bits.
inline constexpr size_t kMinSubstringValue = 16;

struct MatchRule {
  bool exact_match = false;  // the whole candidate equals the value; else the value is a substring
  bool exact_case = true;    // octet-exact; else ASCII letters compare case-insensitively
};

// OK when `value` is 1..kMaxChallengeValue octets of printable ASCII (0x21-0x7E: no blanks, no
// controls, no NUL, nothing non-ASCII) and, when `substring`, at least kMinSubstringValue
// octets. Errors are kMalformed.
[[nodiscard]] Status ValidateChallengeValue(std::string_view value, bool substring);

// `candidate` (raw octets: embedded NULs and non-ASCII are just octets that never match a
// printable value) against `value` under `rule`. Case folding is ASCII only.
[[nodiscard]] bool ValueMatches(std::string_view candidate, std::string_view value,
                                MatchRule rule);

// A domain name as compared by the DNS methods: ASCII lower-case, without the trailing dot.
[[nodiscard]] std::string ComparableName(std::string_view name);

// BR §3.2.2.4.13/.14: an email address (RFC 6532 §3.2 addr-spec, as far as a value check
// goes): one "@", a non-empty local part and a domain, no blanks or controls, at most 254
// octets. Returns the value unchanged; errors are kMalformed.
[[nodiscard]] Result<std::string> ParseContactEmail(std::string_view value);

// BR §3.2.2.4.16/.17: an RFC 3966 §5.1.4 global number ("+" digits with the visual separators
// "-", ".", "(", ")"; and blanks, which RFC 3966 does not list but the BR's own example
// "+1 (555) 123-4567" uses): returns "+" and the digits only, so spellings of one number
// compare equal; errors are kMalformed.
[[nodiscard]] Result<std::string> ParseContactPhone(std::string_view value);

// The reverse-mapping name of an address (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5 ip6.arpa),
// without the trailing dot.
[[nodiscard]] std::string ReverseName(const asio::ip::address& address);

}  // namespace mpic::checks::internal
