// Fuzzes the W3C Trace Context parser (common/trace_context.h). Invariants: no crash; a parsed
// traceparent has 32 + 16 lower-case hex ids, neither all zero, and formatting it back (as
// version 00) parses to the same ids and flags; a version 00 input that parses is exactly 55
// characters and formats back to itself; Accept always yields a usable trace id, keeps a
// tracestate only when it is valid and within its bound, and Child() always parses.
#include <string>
#include <string_view>

#include "common/trace_context.h"
#include "tests/fuzz/fuzz_input.h"

using mpic::fuzz::Require;

namespace {

bool LowerHex(const std::string& s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto p = mpic::trace::ParseTraceparent(input)) {
    Require(p->trace_id.size() == 32 && p->parent_id.size() == 16);
    Require(LowerHex(p->trace_id) && LowerHex(p->parent_id));
    Require(p->trace_id != std::string(32, '0') && p->parent_id != std::string(16, '0'));
    Require(p->version != 0xff);
    const std::string again = mpic::trace::FormatTraceparent(p->trace_id, p->parent_id, p->flags);
    auto q = mpic::trace::ParseTraceparent(again);
    Require(q.has_value() && q->trace_id == p->trace_id && q->parent_id == p->parent_id &&
            q->flags == p->flags);
    if (p->version == 0) Require(input.size() == 55 && again == input);
  }
  const bool state_ok = mpic::trace::ValidTracestate(input);
  if (state_ok) Require(input.size() <= mpic::trace::kMaxTracestateLength);
  // The input split at its first newline: traceparent, then tracestate.
  const auto nl = input.find('\n');
  const std::string_view parent = input.substr(0, nl);
  const std::string_view state = nl == std::string_view::npos ? "" : input.substr(nl + 1);
  mpic::trace::Context c = mpic::trace::Accept({parent}, {state});
  Require(c.trace_id.size() == 32 && LowerHex(c.trace_id));
  Require(c.from_caller == mpic::trace::ParseTraceparent(parent).has_value());
  if (!c.tracestate.empty()) {
    Require(c.from_caller && c.tracestate == state && mpic::trace::ValidTracestate(state));
  }
  Require(c.flags <= 1);
  Require(mpic::trace::ParseTraceparent(c.Child()).has_value());
  return 0;
}
