// Agreed-upon change to website v2 (BR §3.2.2.4.18). The file:
//   1. is on the Authorization Domain Name (the identifier; an IP address is BR §3.2.2.5.1's
//      variant of the same method, allowed under the address policy);
//   2. is under "/.well-known/pki-validation/" (the path below it, http_token_path, is
//      restricted to unreserved characters and "/": nothing can climb out of the directory);
//   3. is fetched with the "http" or "https" scheme (url_scheme; default http) on the
//      Authorized Port (80 / 443, a lab's overrides);
//   4. follows redirects only as HTTP-01 does (internal/http_fetch.h: HTTP-layer 301, 302, 307,
//      308 only, http/https on the authorized ports, at most 10, no loops), and each hop's
//      address passes the address policy when it is dialled.
// https is fetched without certificate validation, as HTTP-01's redirects are: the proof is the
// content, which only the site's operator can place.
//
// The content must contain the challenge value (or, with require_exact_match, be it, trailing
// whitespace ignored); case-exact unless require_exact_case is false. A substring match needs a
// value of at least 16 octets (internal/dcv_value.h). The file is read up to kWebsiteBodyLimit
// octets and judged on what was read.
//
// match_regex (Open MPIC) is refused as malformed: a pattern chosen by the caller and run
// against content chosen by the site is a denial-of-service risk (std::regex backtracks and
// recurses without bound), and a regex that matches more than the value could validate without
// the value. The value itself is what the BR requires to be found.
//
// Problem types: as HTTP-01 (http01.cc), plus malformed for a bad path, scheme or value, and
// unauthorized when the file does not contain the value.
#include "checks/website_change.h"

#include <cctype>

#include "checks/internal/dcv_value.h"
#include "checks/internal/dns_lookup.h"
#include "checks/internal/http_body.h"
#include "checks/internal/http_fetch.h"

namespace mpic::checks {

void RunWebsiteChange(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
                      std::function<void(CheckResult)> done) {
  auto fail = [&](Error error) {
    internal::FailBeforeQuery(std::move(executor), Method::kWebsiteChange, request.identifier,
                              std::move(error), std::move(done));
  };
  auto ident = internal::ParseWebIdentifier(request.identifier);
  if (!ident) return fail(ident.error());
  std::string scheme = request.url_scheme.empty() ? "http" : request.url_scheme;
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "http" && scheme != "https") {
    return fail(Error{ProblemType::kMalformed,
                      "url_scheme must be http or https (BR §3.2.2.4.18), not \"" +
                          internal::PrintableText(request.url_scheme, 16) + "\""});
  }
  if (!request.match_regex.empty()) {
    return fail(Error{ProblemType::kMalformed,
                      "match_regex is not supported: the challenge value itself must be in the "
                      "file (see docs/validation-methods.md)"});
  }
  if (auto ok = internal::ValidatePkiValidationPath(request.http_token_path); !ok) {
    return fail(ok.error());
  }
  internal::MatchRule rule{.exact_match = request.require_exact_match,
                           .exact_case = request.require_exact_case.value_or(true)};
  if (auto ok = internal::ValidateChallengeValue(request.challenge_value, !rule.exact_match);
      !ok) {
    return fail(ok.error());
  }
  internal::HttpFetchSpec spec;
  spec.method = Method::kWebsiteChange;
  spec.identifier = request.identifier;
  spec.ident = *ident;
  spec.start = internal::PkiValidationUrl(
      *ident, scheme, request.http_token_path,
      internal::HttpPorts{deps.dialer.http_port(), deps.dialer.tls_port()});
  spec.body_limit = kWebsiteBodyLimit;
  spec.evidence_body_limit = 256;
  spec.judge = [value = request.challenge_value, rule](
                   std::string_view body, Evidence* evidence) -> std::optional<Error> {
    if (body.size() > kWebsiteBodyLimit) body = body.substr(0, kWebsiteBodyLimit);
    std::string_view candidate = rule.exact_match ? internal::TrimHttpBody(body) : body;
    if (internal::ValueMatches(candidate, value, rule)) {
      evidence->matched_value = internal::PrintableText(value);
      return std::nullopt;
    }
    return Error{ProblemType::kUnauthorized,
                 std::string("the file ") +
                     (rule.exact_match ? "is not the challenge value"
                                       : "does not contain the challenge value") +
                     (rule.exact_case ? "" : " (ignoring case)") + " in its first " +
                     std::to_string(body.size()) + " octets"};
  };
  internal::RunHttpFetch(std::move(executor), deps, std::move(spec), request.deadline,
                         std::move(done));
}

}  // namespace mpic::checks
