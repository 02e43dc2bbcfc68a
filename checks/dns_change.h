// DNS change (BR §3.2.2.4.7 "DNS Change"): the Random Value or Request Token in a TXT, CNAME or
// CAA record of the Authorization Domain Name, or of the ADN prefixed with one label that
// begins with an underscore. See check.h for the contract and dns_change.cc for the rules.
//
//   CheckRequest r{.method = Method::kDnsChange, .identifier = "example.com",
//                  .challenge_value = random_value, .dns_name_prefix = "_pki-validation",
//                  .dns_record_type = "TXT", .require_exact_match = true};
#pragma once

#include "checks/check.h"

namespace mpic::checks {

// Calls `done` exactly once, on `executor`. require_exact_case defaults to true for TXT; CNAME
// targets and CAA values always compare ASCII case-insensitively (names are, RFC 4343).
void RunDnsChange(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
                  std::function<void(CheckResult)> done);

}  // namespace mpic::checks
