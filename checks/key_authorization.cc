#include "checks/key_authorization.h"

#include <openssl/sha.h>

namespace mpic::checks {
namespace {

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool IsBase64Url(std::string_view s) {
  for (char c : s) {
    if (!IsBase64UrlChar(c)) return false;
  }
  return !s.empty();
}

}  // namespace

std::array<uint8_t, 32> Sha256(std::string_view data) {
  std::array<uint8_t, 32> out{};
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data());
  return out;
}

std::string Base64UrlNoPad(std::span<const uint8_t> in) {
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint32_t{in[i]} << 16) | (uint32_t{in[i + 1]} << 8) | in[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out += kTable[(v >> shift) & 63];
  }
  if (size_t rest = in.size() - i; rest > 0) {
    uint32_t v = uint32_t{in[i]} << 16;
    if (rest == 2) v |= uint32_t{in[i + 1]} << 8;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    if (rest == 2) out += kTable[(v >> 6) & 63];
  }
  return out;
}

std::string Hex(std::span<const uint8_t> data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (uint8_t b : data) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string Dns01TxtValue(std::string_view key_authorization) {
  auto digest = Sha256(key_authorization);
  return Base64UrlNoPad(digest);
}

Status ValidateToken(std::string_view token) {
  // RFC 8555 §8.3: base64url, at least 128 bits of entropy (22 characters).
  if (token.size() < 22 || token.size() > 256 || !IsBase64Url(token)) {
    return Fail(ProblemType::kMalformed,
                "token must be 22 to 256 base64url characters (RFC 8555 §8.3)");
  }
  return {};
}

Status ValidateKeyAuthorization(std::string_view key_authorization) {
  auto dot = key_authorization.find('.');
  if (key_authorization.size() > 512 || dot == std::string_view::npos ||
      !IsBase64Url(key_authorization.substr(0, dot)) ||
      !IsBase64Url(key_authorization.substr(dot + 1))) {
    return Fail(ProblemType::kMalformed,
                "key authorization must be token \".\" thumbprint, both base64url "
                "(RFC 8555 §8.1)");
  }
  return {};
}

}  // namespace mpic::checks
