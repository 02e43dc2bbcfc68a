// Agreed-upon change to website v2 (BR §3.2.2.4.18): the Random Value or Request Token in a file
// under /.well-known/pki-validation/ on the Authorization Domain Name, fetched over http or
// https with redirects under the HTTP-01 rules. See website_change.cc.
//
//   CheckRequest r{.method = Method::kWebsiteChange, .identifier = "www.example.com",
//                  .challenge_value = random_value, .http_token_path = "mpic-4711.txt",
//                  .url_scheme = "https"};
#pragma once

#include <cstddef>

#include "checks/check.h"

namespace mpic::checks {

// Octets of the file read; the value must appear in them (a larger file is judged on its first
// kWebsiteBodyLimit octets).
inline constexpr size_t kWebsiteBodyLimit = 16 * 1024;

// Calls `done` exactly once, on `executor`. require_exact_case defaults to true; match_regex
// is refused (malformed): see website_change.cc.
void RunWebsiteChange(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
                      std::function<void(CheckResult)> done);

}  // namespace mpic::checks
