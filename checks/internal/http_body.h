// The HTTP-01 verdict on a response body (RFC 8555 §8.3): a pure function, fuzzed and
// table-tested. The body is read with a small limit (128 bytes, what the strictest deployed VA
// reads): a key authorization is at most ~90 characters, so anything longer is not one.
//
//   std::string body = ...;  // at most kHttpBodyLimit + 1 bytes read from the response
//   if (auto ok = CompareHttpBody(body, key_authorization); !ok) fail(ok.error());
#pragma once

#include <cstddef>
#include <string_view>

#include "common/error.h"

namespace mpic::checks::internal {

// Bytes of body read; one more is attempted to tell "exactly 128" from "longer".
inline constexpr size_t kHttpBodyLimit = 128;
// Bytes of status line plus headers accepted.
inline constexpr size_t kHttpHeaderLimit = 8 * 1024;

// `body` with trailing ASCII whitespace (SP, HT, CR, LF, VT, FF) removed: RFC 8555 §8.3 says to
// ignore whitespace at the end of the body; leading whitespace is NOT ignored.
[[nodiscard]] std::string_view TrimHttpBody(std::string_view body);

// OK when `body` (everything read, possibly kHttpBodyLimit + 1 bytes) with trailing
// whitespace trimmed equals `key_authorization` byte for byte. A body longer than the limit
// fails even if its prefix matched. Errors are kUnauthorized (see http01.cc for why).
[[nodiscard]] Status CompareHttpBody(std::string_view body, std::string_view key_authorization);

}  // namespace mpic::checks::internal
