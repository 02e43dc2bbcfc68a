// URLs of HTTP-01 requests and the rules for following a redirect (RFC 8555 §8.3, as the
// strictest deployed VA applies them: see docs/domain-rules.md). Pure functions; unit-tested and easy
// to fuzz.
//
//   HttpPorts ports{80, 443};
//   HttpUrl first = ChallengeUrl(ident, token, ports);
//   auto next = ResolveRedirect(first, "https://www.example.com/x", ports);
//   if (!next) /* next.error(): kConnection, detail says which rule refused it */;
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "checks/internal/web_common.h"
#include "common/asio.h"
#include "common/error.h"

namespace mpic::checks::internal {

// The ports that count as "the http port" and "the https port": 80 and 443, or a lab's
// overrides (the dialer's http_port / tls_port).
struct HttpPorts {
  uint16_t http = 80;
  uint16_t https = 443;
};

struct HttpUrl {
  std::string scheme;                   // "http" or "https"
  std::string host;                     // normalized host name, or canonical IP text
  std::optional<asio::ip::address> ip;  // set when host is an IP literal
  uint16_t port = 0;                    // the port to connect to
  bool explicit_port = false;           // the URL spelled the port out
  std::string target;                   // origin-form (RFC 9112 §3.2.1): "/path?query"

  bool https() const { return scheme == "https"; }
  // The Host header value (RFC 9110 §7.2): the host, bracketed when IPv6; no port, because the
  // identifier is what the CA validates.
  std::string HostHeader() const;
  // For evidence and details: "http://host/target" ("[v6]", ":port" when explicit).
  std::string ToString() const;
  // Identity for loop detection: scheme, host, effective port and target.
  std::string Key() const;
};

// http://<identifier>/.well-known/acme-challenge/<token> on the http port (RFC 8555 §8.3).
// `token` must already be validated (base64url only).
[[nodiscard]] HttpUrl ChallengeUrl(const WebIdentifier& identifier, std::string_view token,
                                   HttpPorts ports);

// <scheme>://<identifier>/.well-known/pki-validation/<path> (BR §3.2.2.4.18) on the http or
// https port. `scheme` is "http" or "https"; `path` must already be validated
// (ValidatePkiValidationPath).
[[nodiscard]] HttpUrl PkiValidationUrl(const WebIdentifier& identifier, std::string_view scheme,
                                       std::string_view path, HttpPorts ports);

// A path below /.well-known/pki-validation/: 1 to 255 octets of RFC 3986 unreserved characters
// and "/" separating non-empty segments; no "." or ".." segment, no leading "/", no query,
// fragment or percent-encoding (nothing that could leave the directory or change meaning on
// the way). Errors are kMalformed.
[[nodiscard]] Status ValidatePkiValidationPath(std::string_view path);

// Resolves a Location header value against the URL that returned it (RFC 3986 §5.2: absolute,
// network-path, absolute-path and relative references; the fragment is dropped) and applies
// the redirect rules: scheme http or https only; no userinfo; a valid host name or an IP
// literal; an explicit port only if it is the http or the https port. Errors are kConnection.
// Whether an IP target is allowed is the address policy's call, made when connecting.
[[nodiscard]] Result<HttpUrl> ResolveRedirect(const HttpUrl& base, std::string_view location,
                                              HttpPorts ports);

}  // namespace mpic::checks::internal
