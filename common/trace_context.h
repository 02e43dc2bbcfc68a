// W3C Trace Context (https://www.w3.org/TR/trace-context/, Level 1): the `traceparent` and
// `tracestate` headers a caller sends so that one request can be followed across services.
// mpic accepts them from the CA (gRPC metadata on Validate, HTTP headers on POST /mpic), carries
// the trace to every remote (a new parent-id per remote call) and logs and audits the trace id.
//
//   traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
//                ^^ ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ ^^^^^^^^^^^^^^^^ ^^
//           version trace-id (16 bytes)              parent-id (8)    trace-flags
//
//   auto parent = mpic::trace::ParseTraceparent(header);   // nullopt when invalid
//   mpic::trace::Context ctx = mpic::trace::Accept({header}, {state_header});  // or a new trace
//   std::string child = ctx.Child();   // "00-<same trace id>-<new random parent-id>-<flags>"
//
// Parsing is strict, as the specification says: lower-case hex only, fixed lengths, an all-zero
// trace-id or parent-id is invalid, version ff is invalid; a version 00 header is exactly 55
// characters; a later version is read as version 00 if its first 55 characters are and the
// 56th, when present, is '-'. An invalid traceparent is not an error: it is ignored and a new
// trace is started (and the tracestate is then dropped too, §3.3.1.1 of the spec). A tracestate
// that breaks its grammar (key=value list, at most 32 members, unique keys, at most 512
// characters) is dropped; the trace itself is kept. Pure functions; never throw.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mpic::trace {

inline constexpr std::size_t kTraceparentLength = 55;  // version 00
inline constexpr std::size_t kMaxTracestateLength = 512;
inline constexpr std::size_t kMaxTracestateMembers = 32;

// A parsed traceparent (ids as 32 and 16 lower-case hex digits).
struct Traceparent {
  uint8_t version = 0;
  std::string trace_id;   // 32 hex digits, not all zero
  std::string parent_id;  // 16 hex digits, not all zero
  uint8_t flags = 0;      // bit 0: sampled

  [[nodiscard]] bool sampled() const { return (flags & 0x01) != 0; }
  friend bool operator==(const Traceparent&, const Traceparent&) = default;
};

// nullopt when `value` is not a valid traceparent (any rule of the header format broken).
[[nodiscard]] std::optional<Traceparent> ParseTraceparent(std::string_view value);

// True when `value` is a valid tracestate list (empty is valid: no members).
[[nodiscard]] bool ValidTracestate(std::string_view value);

// "00-<trace_id>-<parent_id>-<flags>" (always version 00, as this implementation speaks it).
[[nodiscard]] std::string FormatTraceparent(std::string_view trace_id, std::string_view parent_id,
                                            uint8_t flags);

// Random ids from a CSPRNG: 32 / 16 lower-case hex digits, never all zero.
[[nodiscard]] std::string NewTraceId();
[[nodiscard]] std::string NewParentId();

// The trace one request belongs to.
struct Context {
  std::string trace_id;   // 32 hex digits
  std::string parent_id;  // the caller's span (the parent of ours); empty for a new trace
  uint8_t flags = 0;      // only the sampled bit is carried on
  std::string tracestate; // as received (valid) or empty
  bool from_caller = false;  // false: a new trace (no or an invalid traceparent)

  // The traceparent to send on a call made within this trace: a new parent-id each time.
  [[nodiscard]] std::string Child() const;
};

// The context of a request that carried these header values (each header may appear several
// times: gRPC metadata, HTTP fields). More than one traceparent, or an invalid one: a new trace.
// Several tracestate values are one list joined with ','.
[[nodiscard]] Context Accept(const std::vector<std::string_view>& traceparent,
                             const std::vector<std::string_view>& tracestate);
// A new trace (no caller context).
[[nodiscard]] Context NewTrace();

}  // namespace mpic::trace
