// Pieces shared by the two web checks (HTTP-01, TLS-ALPN-01): parsing the identifier,
// resolving it to addresses through the check's own resolver session, choosing which
// addresses to try, and making untrusted bytes safe to put into evidence.
//
//   auto ident = ParseWebIdentifier("www.example.com");   // or "192.0.2.1", "2001:db8::1"
//   LookupAddresses(executor, *session, ident->host, deadline, &evidence, [](auto addrs) {
//     auto candidates = ChooseCandidates(*addrs, policy, metrics, "www.example.com");
//   });
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "checks/check.h"

namespace mpic::checks::internal {

struct WebIdentifier {
  std::string host;                     // normalized name, or canonical IP text
  std::optional<asio::ip::address> ip;  // RFC 8738 IP identifier
};

// A DNS name (RFC 1123 LDH, lower-cased, no trailing dot; no wildcard: RFC 8555 §7.1.3 forbids
// http-01/tls-alpn-01 for wildcards) or an IP address in its canonical text form (RFC 8738 §3:
// RFC 1123 §2.1 dotted quad, RFC 5952 for IPv6). Anything else is kMalformed.
[[nodiscard]] Result<WebIdentifier> ParseWebIdentifier(std::string_view identifier);

// Looks up AAAA and A for `host` concurrently, records both lookups and every address in
// `evidence`, and calls back on `executor` with the addresses, IPv6 first. Any failed lookup
// (SERVFAIL, bogus, timeout) fails the whole step with kDns: a forged or unverifiable answer in
// one family is reason enough to distrust the name. No address at all is kDns too.
// `evidence` must stay valid until the callback runs.
void LookupAddresses(asio::any_io_executor executor, resolver::Session& session,
                     const std::string& host, Deadline deadline, Evidence* evidence,
                     std::function<void(Result<std::vector<asio::ip::address>>)> callback);

// The addresses to try, in order: the first allowed IPv6 address, then the first allowed IPv4
// address (docs/domain-rules.md: IPv6 first, IPv4 on connection failure). Refused addresses are
// counted in `metrics`; when none is allowed the error (kConnection) names each refusing range.
[[nodiscard]] Result<std::vector<asio::ip::address>> ChooseCandidates(
    const std::vector<asio::ip::address>& addresses, const AddressPolicy& policy,
    CheckMetrics& metrics, std::string_view host);

// Untrusted bytes (HTTP bodies, Location headers, certificate names) made printable ASCII
// (others as \xNN) and cut to `max_bytes` of input ("..." marks the cut), so evidence is always
// valid UTF-8 for JSON and bounded in size.
[[nodiscard]] std::string PrintableText(std::string_view bytes, size_t max_bytes = 256);

// Splits the time left so that an earlier attempt leaves room for the later ones: attempt i of
// n (0-based) gets an equal share of what remains; the last gets all of it.
[[nodiscard]] Deadline AttemptDeadline(Clock::time_point now, Deadline deadline, size_t index,
                                       size_t count);

}  // namespace mpic::checks::internal
