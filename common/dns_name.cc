#include "common/dns_name.h"

#include <algorithm>

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
    return Fail(ProblemType::kMalformed, "domain name is " + std::to_string(name.size()) +
                                             " octets long; the limit is 253");
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
      return Fail(ProblemType::kMalformed, "empty label in domain name \"" + Printable(name) + "\"");
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
    for (char c : label) out += Lower(c);
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

}  // namespace

Result<std::string> NormalizeDnsName(std::string_view name) { return Normalize(name, false); }

Result<std::string> NormalizeHostname(std::string_view name) { return Normalize(name, true); }

std::string Fqdn(std::string_view normalized) {
  if (normalized.empty()) return ".";
  std::string out(normalized);
  if (out.back() != '.') out += '.';
  return out;
}

}  // namespace mpic
