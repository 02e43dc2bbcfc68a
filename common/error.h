// Errors as data: every failure carries an ACME problem type (RFC 8555 §6.7) and a detail a
// person can act on. Results are tl::expected (docs/architecture.md, Pitfalls: std::expected is C++23).
//
//   mpic::Result<int> Port(std::string_view s) {
//     if (s.empty()) return mpic::Fail(mpic::ProblemType::kMalformed, "empty port");
//     ...
//   }
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace mpic {

// urn:ietf:params:acme:error:<name>; the set docs/domain-rules.md names.
enum class ProblemType {
  kConnection,
  kDns,
  kUnauthorized,
  kIncorrectResponse,
  kTls,
  kCaa,
  kRejectedIdentifier,
  kMalformed,
  kServerInternal,
  kRateLimited,  // the primary's rate limits refused the request (never a check's verdict)
  // The server did not start the work: at its in-flight bound or shutting down (never a check's
  // verdict; retry later or elsewhere). Not an ACME problem type: its name and URN are
  // serverInternal's, and no text parses to it.
  kUnavailable,
};

// "dns", "incorrectResponse", ...
[[nodiscard]] std::string_view ProblemTypeName(ProblemType type);
// "urn:ietf:params:acme:error:dns", ...
[[nodiscard]] std::string ProblemTypeUrn(ProblemType type);
// Accepts either the short name or the full URN.
[[nodiscard]] bool ParseProblemType(std::string_view text, ProblemType* out);

struct Error {
  ProblemType type = ProblemType::kServerInternal;
  std::string detail;

  friend bool operator==(const Error&, const Error&) = default;
};

template <typename T>
using Result = tl::expected<T, Error>;

using Status = Result<void>;

[[nodiscard]] inline tl::unexpected<Error> Fail(ProblemType type, std::string detail) {
  return tl::unexpected<Error>(Error{type, std::move(detail)});
}

[[nodiscard]] inline tl::unexpected<Error> Fail(Error error) {
  return tl::unexpected<Error>(std::move(error));
}

}  // namespace mpic
