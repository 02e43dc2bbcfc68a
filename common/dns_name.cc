#include "common/dns_name.h"

#include <algorithm>
#include <cstdint>

namespace mpic {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsLetterOrDigit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string Printable(std::string_view name) {
  std::string out;
  for (char c : name.substr(0, 80)) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '"' && c != '\\') {
      out += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  if (name.size() > 80) out += "...";
  return out;
}

// Shared walk over labels; `allow_underscore` distinguishes DNS owner names from hostnames.
Result<std::string> Normalize(std::string_view name, bool hostname) {
  if (name == ".") {
    if (hostname) return Fail(ProblemType::kMalformed, "the root is not a hostname");
    return std::string();
  }
  if (name.ends_with('.')) name.remove_suffix(1);
  if (name.empty()) return Fail(ProblemType::kMalformed, "empty domain name");
  if (name.size() > kMaxNameLength) {
    return Fail(ProblemType::kMalformed,
                "domain name is " + std::to_string(name.size()) + " octets long; the limit is 253");
  }
  std::string out;
  out.reserve(name.size());
  size_t labels = 0;
  std::string_view last_label;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view label = name.substr(start, end - start);
    if (label.empty()) {
      return Fail(ProblemType::kMalformed,
                  "empty label in domain name \"" + Printable(name) + "\"");
    }
    if (label.size() > kMaxLabelLength) {
      return Fail(ProblemType::kMalformed, "label of " + std::to_string(label.size()) +
                                               " octets in \"" + Printable(name) +
                                               "\"; the limit is 63");
    }
    for (char c : label) {
      bool ok = IsLetterOrDigit(c) || c == '-' || (!hostname && c == '_');
      if (!ok) {
        return Fail(ProblemType::kMalformed,
                    "invalid character in domain name \"" + Printable(name) + "\"");
      }
    }
    if (hostname && (label.front() == '-' || label.back() == '-')) {
      return Fail(ProblemType::kMalformed,
                  "label starts or ends with '-' in \"" + Printable(name) + "\"");
    }
    if (!out.empty()) out += '.';
    const size_t label_start = out.size();
    for (char c : label) out += Lower(c);
    if (hostname) {
      std::string_view lower = std::string_view(out).substr(label_start);
      if (lower.starts_with("xn--")) {
        if (Status ok = CheckALabel(lower); !ok) {
          return Fail(ProblemType::kMalformed,
                      "label \"" + Printable(label) + "\" in \"" + Printable(name) +
                          "\" is not a valid A-label: " + ok.error().detail);
        }
      }
    }
    ++labels;
    last_label = label;
    start = end + 1;
  }
  if (hostname) {
    if (labels < 2) {
      return Fail(ProblemType::kRejectedIdentifier,
                  "\"" + Printable(name) + "\" is not a fully qualified domain name");
    }
    if (std::all_of(last_label.begin(), last_label.end(),
                    [](char c) { return c >= '0' && c <= '9'; })) {
      return Fail(ProblemType::kMalformed,
                  "\"" + Printable(name) + "\" has an all-numeric top-level label");
    }
  }
  return out;
}

// RFC 3492 §5 parameters for IDNA.
constexpr uint32_t kBase = 36;
constexpr uint32_t kTMin = 1;
constexpr uint32_t kTMax = 26;
constexpr uint32_t kSkew = 38;
constexpr uint32_t kDamp = 700;
constexpr uint32_t kInitialBias = 72;
constexpr uint32_t kInitialN = 0x80;
constexpr uint32_t kMaxInt = 0xffffffffu;
constexpr uint32_t kMaxCodePoint = 0x10ffff;
// An A-label is at most 63 octets, so far fewer code points; a bound keeps hostile input cheap.
constexpr size_t kMaxDecodedLength = 256;

// RFC 3492 §6.1.
uint32_t Adapt(uint32_t delta, uint32_t num_points, bool first_time) {
  delta = first_time ? delta / kDamp : delta / 2;
  delta += delta / num_points;
  uint32_t k = 0;
  while (delta > ((kBase - kTMin) * kTMax) / 2) {
    delta /= kBase - kTMin;
    k += kBase;
  }
  return k + (kBase - kTMin + 1) * delta / (delta + kSkew);
}

uint32_t Threshold(uint32_t k, uint32_t bias) {
  if (k <= bias) return kTMin;
  if (k >= bias + kTMax) return kTMax;
  return k - bias;
}

// 0..25 = a..z (either case), 26..35 = 0..9; kBase for anything else.
uint32_t DigitValue(char c) {
  if (c >= 'a' && c <= 'z') return static_cast<uint32_t>(c - 'a');
  if (c >= 'A' && c <= 'Z') return static_cast<uint32_t>(c - 'A');
  if (c >= '0' && c <= '9') return static_cast<uint32_t>(c - '0') + 26;
  return kBase;
}

char DigitChar(uint32_t d) {
  return d < 26 ? static_cast<char>('a' + d) : static_cast<char>('0' + (d - 26));
}

std::string CodePointText(char32_t c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string hex;
  auto v = static_cast<uint32_t>(c);
  do {
    hex.insert(hex.begin(), kHex[v & 15]);
    v >>= 4;
  } while (v != 0);
  while (hex.size() < 4) hex.insert(hex.begin(), '0');
  return "U+" + hex;
}

}  // namespace

Result<std::u32string> DecodePunycode(std::string_view encoded) {
  auto bad = [](std::string why) { return Fail(ProblemType::kMalformed, "punycode: " + why); };
  std::u32string out;
  size_t in = 0;
  if (size_t delim = encoded.rfind('-'); delim != std::string_view::npos) {
    if (delim > kMaxDecodedLength) return bad("too long");
    for (char c : encoded.substr(0, delim)) {
      if (static_cast<unsigned char>(c) >= 0x80) return bad("non-ASCII basic code point");
      out += static_cast<char32_t>(static_cast<unsigned char>(c));
    }
    in = delim + 1;
  }
  uint32_t n = kInitialN;
  uint32_t i = 0;
  uint32_t bias = kInitialBias;
  while (in < encoded.size()) {
    const uint32_t old_i = i;
    uint32_t w = 1;
    for (uint32_t k = kBase;; k += kBase) {
      if (in >= encoded.size()) return bad("truncated variable-length integer");
      const uint32_t digit = DigitValue(encoded[in++]);
      if (digit >= kBase) return bad("invalid digit");
      if (digit > (kMaxInt - i) / w) return bad("overflow");
      i += digit * w;
      const uint32_t t = Threshold(k, bias);
      if (digit < t) break;
      if (w > kMaxInt / (kBase - t)) return bad("overflow");
      w *= kBase - t;
    }
    const auto length = static_cast<uint32_t>(out.size() + 1);
    bias = Adapt(i - old_i, length, old_i == 0);
    if (i / length > kMaxInt - n) return bad("overflow");
    n += i / length;
    i %= length;
    if (n < kInitialN) return bad("encodes a basic code point");
    if (n > kMaxCodePoint) return bad("code point beyond U+10FFFF");
    if (out.size() >= kMaxDecodedLength) return bad("too long");
    out.insert(out.begin() + i, static_cast<char32_t>(n));
    ++i;
  }
  return out;
}

Result<std::string> EncodePunycode(std::u32string_view code_points) {
  auto bad = [](std::string why) { return Fail(ProblemType::kMalformed, "punycode: " + why); };
  if (code_points.size() > kMaxDecodedLength) return bad("too long");
  std::string out;
  for (char32_t c : code_points) {
    if (static_cast<uint32_t>(c) > kMaxCodePoint) return bad("code point beyond U+10FFFF");
    if (c < kInitialN) out += static_cast<char>(c);
  }
  const auto basic = static_cast<uint32_t>(out.size());
  uint32_t handled = basic;
  if (basic > 0) out += '-';
  uint32_t n = kInitialN;
  uint32_t delta = 0;
  uint32_t bias = kInitialBias;
  const auto total = static_cast<uint32_t>(code_points.size());
  while (handled < total) {
    uint32_t m = kMaxInt;
    for (char32_t c : code_points) {
      if (static_cast<uint32_t>(c) >= n) m = std::min(m, static_cast<uint32_t>(c));
    }
    if (m - n > (kMaxInt - delta) / (handled + 1)) return bad("overflow");
    delta += (m - n) * (handled + 1);
    n = m;
    for (char32_t c : code_points) {
      const auto cp = static_cast<uint32_t>(c);
      if (cp < n && ++delta == 0) return bad("overflow");
      if (cp != n) continue;
      uint32_t q = delta;
      for (uint32_t k = kBase;; k += kBase) {
        const uint32_t t = Threshold(k, bias);
        if (q < t) break;
        out += DigitChar(t + (q - t) % (kBase - t));
        q = (q - t) / (kBase - t);
      }
      out += DigitChar(q);
      bias = Adapt(delta, handled + 1, handled == basic);
      delta = 0;
      ++handled;
    }
    ++delta;
    ++n;
  }
  return out;
}

Status CheckALabel(std::string_view label) {
  auto bad = [](std::string why) { return Fail(ProblemType::kMalformed, std::move(why)); };
  if (!label.starts_with("xn--")) return bad("no \"xn--\" prefix");
  const std::string_view encoded = label.substr(4);
  auto decoded = DecodePunycode(encoded);
  if (!decoded) return Fail(decoded.error());
  const std::u32string& u = *decoded;
  if (u.empty()) return bad("empty U-label");
  auto again = EncodePunycode(u);
  if (!again || *again != encoded) {
    return bad("the Punycode is not the one encoding of its U-label (RFC 5890 §2.3.2.1)");
  }
  bool non_ascii = false;
  for (char32_t c : u) {
    const auto cp = static_cast<uint32_t>(c);
    if (cp < 0x80) {
      const bool ldh = (c >= U'a' && c <= U'z') || (c >= U'0' && c <= U'9') || c == U'-';
      if (!ldh) return bad("U-label has the ASCII character " + CodePointText(c));
      continue;
    }
    non_ascii = true;
    const bool c1 = cp <= 0x9f;
    const bool surrogate = cp >= 0xd800 && cp <= 0xdfff;
    const bool noncharacter = (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe;
    if (c1 || surrogate || noncharacter) {
      return bad("U-label has the code point " + CodePointText(c));
    }
  }
  if (!non_ascii) return bad("decodes to an all-ASCII label (RFC 5890 §2.3.2.1)");
  if (u.front() == U'-' || u.back() == U'-') {
    return bad("U-label starts or ends with '-' (RFC 5891 §4.2.3.1)");
  }
  if (u.size() >= 4 && u[2] == U'-' && u[3] == U'-') {
    return bad("U-label has '-' in positions 3 and 4 (RFC 5891 §4.2.3.1)");
  }
  return {};
}

Result<std::string> NormalizeDnsName(std::string_view name) { return Normalize(name, false); }

Result<std::string> NormalizeHostname(std::string_view name) { return Normalize(name, true); }

std::string Fqdn(std::string_view normalized) {
  if (normalized.empty()) return ".";
  std::string out(normalized);
  if (out.back() != '.') out += '.';
  return out;
}

}  // namespace mpic
