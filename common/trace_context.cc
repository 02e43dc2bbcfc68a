#include "common/trace_context.h"

#include <sys/random.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>

namespace mpic::trace {
namespace {

constexpr char kHex[] = "0123456789abcdef";

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

int HexValue(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

// `s` is exactly `n` lower-case hex digits.
bool LowerHex(std::string_view s, std::size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), IsLowerHex);
}

bool AllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

bool IsLcAlpha(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
// The characters after a key's first: lcalpha / DIGIT / "_" / "-" / "*" / "/".
bool IsKeyChar(char c) {
  return IsLcAlpha(c) || IsDigit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}
// nblk-chr: printable ASCII but ',' and '='.
bool IsValueChar(char c) { return c >= 0x21 && c <= 0x7e && c != ',' && c != '='; }
bool IsOws(char c) { return c == ' ' || c == '\t'; }

// simple-key = lcalpha 0*255(keychar)
// multi-tenant-key = (lcalpha / DIGIT) 0*240(keychar) "@" lcalpha 0*13(keychar)
bool ValidKey(std::string_view key) {
  const auto at = key.find('@');
  if (at == std::string_view::npos) {
    return !key.empty() && key.size() <= 256 && IsLcAlpha(key[0]) &&
           std::all_of(key.begin() + 1, key.end(), IsKeyChar);
  }
  const std::string_view tenant = key.substr(0, at);
  const std::string_view system = key.substr(at + 1);
  return !tenant.empty() && tenant.size() <= 241 && (IsLcAlpha(tenant[0]) || IsDigit(tenant[0])) &&
         std::all_of(tenant.begin() + 1, tenant.end(), IsKeyChar) && !system.empty() &&
         system.size() <= 14 && IsLcAlpha(system[0]) &&
         std::all_of(system.begin() + 1, system.end(), IsKeyChar);
}

// value = 0*255(chr) nblk-chr, chr = %x20 / nblk-chr.
bool ValidValue(std::string_view value) {
  if (value.empty() || value.size() > 256 || !IsValueChar(value.back())) return false;
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return c == ' ' || IsValueChar(c); });
}

void FillRandom(unsigned char* out, std::size_t n) {
  std::size_t got = 0;
  for (int tries = 0; got < n && tries < 8; ++tries) {
    const ssize_t r = ::getrandom(out + got, n - got, 0);
    if (r > 0) got += static_cast<std::size_t>(r);
  }
  if (got < n) {
    std::random_device device;
    for (; got < n; ++got) out[got] = static_cast<unsigned char>(device());
  }
}

// Identifiers need to be unique and unguessable enough not to collide, not secret: each thread
// draws them from its own pool of kernel random bytes, refilled 512 bytes at a time, so a
// validation's trace and span ids cost no system call (one getrandom per ~20 validations).
// Nothing here forks after drawing (children exec), so no two processes share a pool.
void RandomBytes(unsigned char* out, std::size_t n) {
  constexpr std::size_t kPool = 512;
  thread_local unsigned char pool[kPool];
  thread_local std::size_t used = kPool;
  while (n > 0) {
    if (used == kPool) {
      FillRandom(pool, kPool);
      used = 0;
    }
    const std::size_t take = std::min(n, kPool - used);
    std::memcpy(out, pool + used, take);
    std::memset(pool + used, 0, take);  // each byte is handed out once
    used += take;
    out += take;
    n -= take;
  }
}

std::string RandomHex(std::size_t bytes) {
  std::string out;
  for (int tries = 0; tries < 8; ++tries) {
    unsigned char buffer[16];
    RandomBytes(buffer, bytes);
    out.clear();
    for (std::size_t i = 0; i < bytes; ++i) {
      out.push_back(kHex[buffer[i] >> 4]);
      out.push_back(kHex[buffer[i] & 0x0f]);
    }
    if (!AllZero(out)) return out;
  }
  out.back() = '1';  // 2^-64 per try, eight times over: never reached in practice
  return out;
}

}  // namespace

std::optional<Traceparent> ParseTraceparent(std::string_view value) {
  // version "-" trace-id "-" parent-id "-" trace-flags, fixed widths 2-32-16-2.
  if (value.size() < kTraceparentLength) return std::nullopt;
  const std::string_view version = value.substr(0, 2);
  if (!LowerHex(version, 2) || version == "ff") return std::nullopt;
  if (version == "00") {
    if (value.size() != kTraceparentLength) return std::nullopt;
  } else if (value.size() > kTraceparentLength && value[kTraceparentLength] != '-') {
    // A later version may append fields, each after a '-'; read as version 00.
    return std::nullopt;
  }
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  const std::string_view trace_id = value.substr(3, 32);
  const std::string_view parent_id = value.substr(36, 16);
  const std::string_view flags = value.substr(53, 2);
  if (!LowerHex(trace_id, 32) || !LowerHex(parent_id, 16) || !LowerHex(flags, 2)) {
    return std::nullopt;
  }
  if (AllZero(trace_id) || AllZero(parent_id)) return std::nullopt;
  Traceparent out;
  out.version = static_cast<uint8_t>(HexValue(version[0]) * 16 + HexValue(version[1]));
  out.trace_id = std::string(trace_id);
  out.parent_id = std::string(parent_id);
  out.flags = static_cast<uint8_t>(HexValue(flags[0]) * 16 + HexValue(flags[1]));
  return out;
}

bool ValidTracestate(std::string_view value) {
  if (value.size() > kMaxTracestateLength) return false;
  std::set<std::string_view> keys;
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t end = value.find(',', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view member = value.substr(start, end - start);
    while (!member.empty() && IsOws(member.front())) member.remove_prefix(1);
    while (!member.empty() && IsOws(member.back())) member.remove_suffix(1);
    if (!member.empty()) {  // an empty member (OWS only) is allowed and not counted
      const auto eq = member.find('=');
      if (eq == std::string_view::npos) return false;
      const std::string_view key = member.substr(0, eq);
      if (!ValidKey(key) || !ValidValue(member.substr(eq + 1))) return false;
      if (!keys.insert(key).second) return false;  // duplicate key
      if (keys.size() > kMaxTracestateMembers) return false;
    }
    start = end + 1;
  }
  return true;
}

std::string FormatTraceparent(std::string_view trace_id, std::string_view parent_id,
                              uint8_t flags) {
  std::string out = "00-";
  out.append(trace_id);
  out.push_back('-');
  out.append(parent_id);
  out.push_back('-');
  out.push_back(kHex[flags >> 4]);
  out.push_back(kHex[flags & 0x0f]);
  return out;
}

std::string NewTraceId() { return RandomHex(16); }
std::string NewParentId() { return RandomHex(8); }

std::string Context::Child() const {
  return FormatTraceparent(trace_id.empty() ? NewTraceId() : trace_id, NewParentId(), flags);
}

Context NewTrace() {
  Context out;
  out.trace_id = NewTraceId();
  return out;
}

Context Accept(const std::vector<std::string_view>& traceparent,
               const std::vector<std::string_view>& tracestate) {
  if (traceparent.size() != 1) return NewTrace();
  auto parsed = ParseTraceparent(traceparent.front());
  if (!parsed) return NewTrace();  // and its tracestate is not read either
  Context out;
  out.trace_id = std::move(parsed->trace_id);
  out.parent_id = std::move(parsed->parent_id);
  out.flags = parsed->flags & 0x01;  // the one flag this version defines
  out.from_caller = true;
  std::string joined;
  for (std::size_t i = 0; i < tracestate.size(); ++i) {
    if (i > 0) joined.push_back(',');
    joined.append(tracestate[i]);
    if (joined.size() > kMaxTracestateLength) break;
  }
  if (ValidTracestate(joined)) out.tracestate = std::move(joined);
  return out;
}

}  // namespace mpic::trace
