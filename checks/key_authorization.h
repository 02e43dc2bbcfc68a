// Key-authorization math shared by the checks (RFC 8555 §8.1, §8.4; RFC 8737 §3).
//
//   std::string txt = Dns01TxtValue(key_authorization);          // base64url(SHA-256(ka))
//   std::array<uint8_t, 32> digest = Sha256(key_authorization);  // acmeIdentifier content
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"

namespace mpic::checks {

[[nodiscard]] std::array<uint8_t, 32> Sha256(std::string_view data);
[[nodiscard]] std::string Base64UrlNoPad(std::span<const uint8_t> data);
[[nodiscard]] std::string Hex(std::span<const uint8_t> data);

// The TXT value DNS-01 expects: base64url without padding of SHA-256(key authorization).
[[nodiscard]] std::string Dns01TxtValue(std::string_view key_authorization);

// A key authorization is token "." thumbprint, both base64url (RFC 8555 §8.1); an HTTP-01
// token is base64url with at least 128 bits of entropy (§8.3: 22+ characters). Checked before
// any network traffic so that garbage never reaches a path or a comparison.
[[nodiscard]] Status ValidateToken(std::string_view token);
[[nodiscard]] Status ValidateKeyAuthorization(std::string_view key_authorization);

}  // namespace mpic::checks
