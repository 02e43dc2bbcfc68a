#include "checks/internal/dcv_value.h"

#include <algorithm>
#include <cstdio>

namespace mpic::checks::internal {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool CaseEqual(char a, char b) { return Lower(a) == Lower(b); }

// RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its angle brackets.
constexpr size_t kMaxEmail = 254;
// ITU-T E.164: at most 15 digits.
constexpr size_t kMaxPhoneDigits = 15;

}  // namespace

Status ValidateChallengeValue(std::string_view value, bool substring) {
  if (value.empty()) return Fail(ProblemType::kMalformed, "the challenge value is empty");
  if (value.size() > kMaxChallengeValue) {
    return Fail(ProblemType::kMalformed, "the challenge value is longer than " +
                                             std::to_string(kMaxChallengeValue) + " octets");
  }
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e) {
      return Fail(ProblemType::kMalformed,
                  "the challenge value must be printable ASCII without blanks");
    }
  }
  if (substring && value.size() < kMinSubstringValue) {
    return Fail(ProblemType::kMalformed,
                "a challenge value matched as a substring must be at least " +
                    std::to_string(kMinSubstringValue) + " octets (or ask for an exact match)");
  }
  return {};
}

bool ValueMatches(std::string_view candidate, std::string_view value, MatchRule rule) {
  if (value.empty()) return false;  // fail closed: an empty value is in everything
  if (rule.exact_match) {
    if (candidate.size() != value.size()) return false;
    if (rule.exact_case) return candidate == value;
    return std::equal(candidate.begin(), candidate.end(), value.begin(), CaseEqual);
  }
  if (rule.exact_case) return candidate.find(value) != std::string_view::npos;
  return std::search(candidate.begin(), candidate.end(), value.begin(), value.end(), CaseEqual) !=
         candidate.end();
}

std::string ComparableName(std::string_view name) {
  if (name.ends_with('.')) name.remove_suffix(1);
  std::string out(name);
  for (char& c : out) c = Lower(c);
  return out;
}

Result<std::string> ParseContactEmail(std::string_view value) {
  if (value.empty() || value.size() > kMaxEmail) {
    return Fail(ProblemType::kMalformed, "not an email address: empty or longer than 254 octets");
  }
  size_t at = value.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == value.size()) {
    return Fail(ProblemType::kMalformed, "not an email address: needs local-part@domain");
  }
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    // RFC 6532 allows UTF-8; blanks, controls and DEL are never part of an addr-spec.
    if (u <= 0x20 || u == 0x7f) {
      return Fail(ProblemType::kMalformed, "not an email address: blank or control character");
    }
  }
  std::string_view domain = value.substr(at + 1);
  if (domain.find('@') != std::string_view::npos || domain.starts_with('.') ||
      domain.ends_with('.') || domain.find("..") != std::string_view::npos) {
    return Fail(ProblemType::kMalformed, "not an email address: bad domain part");
  }
  return std::string(value);
}

Result<std::string> ParseContactPhone(std::string_view value) {
  if (!value.starts_with('+')) {
    return Fail(ProblemType::kMalformed,
                "not a global phone number (RFC 3966 §5.1.4): must start with \"+\"");
  }
  std::string out = "+";
  for (char c : value.substr(1)) {
    if (c >= '0' && c <= '9') {
      out += c;
    } else if (c != '-' && c != '.' && c != '(' && c != ')' && c != ' ') {
      return Fail(ProblemType::kMalformed,
                  "not a global phone number (RFC 3966 §5.1.4): only digits and - . ( ) SP");
    }
  }
  if (out.size() < 2 || out.size() - 1 > kMaxPhoneDigits) {
    return Fail(ProblemType::kMalformed, "not a global phone number: 1 to 15 digits");
  }
  return out;
}

std::string ReverseName(const asio::ip::address& address) {
  std::string out;
  if (address.is_v4()) {
    auto b = address.to_v4().to_bytes();
    for (size_t i = b.size(); i-- > 0;) out += std::to_string(b[i]) + ".";
    return out + "in-addr.arpa";
  }
  auto b = address.to_v6().to_bytes();
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = b.size(); i-- > 0;) {
    out += kHex[b[i] & 0x0f];
    out += '.';
    out += kHex[b[i] >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

}  // namespace mpic::checks::internal
