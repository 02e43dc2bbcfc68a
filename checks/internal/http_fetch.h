// The HTTP fetch under the HTTP-01 rules (http01.cc): resolve, choose addresses under the
// address policy, connect through the dialer, GET, follow redirects (301/302/307/308, at most
// 10, http/https on the http/https ports only, no loops), every hop in the evidence, one
// deadline for all of it. HTTP-01 (RFC 8555 §8.3) and agreed-upon change to website v2
// (BR §3.2.2.4.18, website_change.cc) differ only in the first URL, how much body they read and
// how they judge it.
//
//   HttpFetchSpec spec{.method = Method::kWebsiteChange, .identifier = id, .ident = *ident,
//                      .start = url, .body_limit = 4096, .judge = judge};
//   RunHttpFetch(executor, deps, std::move(spec), deadline, done);
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "checks/check.h"
#include "checks/internal/http_url.h"
#include "checks/internal/web_common.h"

namespace mpic::checks::internal {

// Judges the body of the final 200 response (everything read: at most body_limit + 1 octets):
// nullopt when it proves control, else the problem. May add to the evidence.
using BodyJudge = std::function<std::optional<Error>(std::string_view body, Evidence* evidence)>;

struct HttpFetchSpec {
  Method method = Method::kHttp01;
  std::string identifier;  // for the result
  WebIdentifier ident;     // parsed; an IP identifier is checked against the address policy
  // The first URL, built with the dialer's ports (HttpPorts{dialer.http_port(), tls_port()}).
  HttpUrl start;
  size_t body_limit = 128;           // octets of a 200 body read (one more tried)
  size_t evidence_body_limit = 128;  // octets of it shown in evidence.http_body
  BodyJudge judge;
};

// Calls `done` exactly once, on `executor`, by `deadline` (plus scheduling slack).
void RunHttpFetch(asio::any_io_executor executor, CheckDeps deps, HttpFetchSpec spec,
                  Deadline deadline, std::function<void(CheckResult)> done);

}  // namespace mpic::checks::internal
