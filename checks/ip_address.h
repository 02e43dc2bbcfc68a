// IP address (BR §3.2.2.4.8 "IP Address"): the FQDN's A or AAAA records contain an IP address
// the Applicant was shown to control (BR §3.2.2.5). See ip_address.cc.
//
//   CheckRequest r{.method = Method::kIpAddress, .identifier = "www.example.com",
//                  .challenge_value = "192.0.2.7"};  // dns_record_type "A" implied
#pragma once

#include "checks/check.h"

namespace mpic::checks {

// Calls `done` exactly once, on `executor`.
void RunIpAddress(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
                  std::function<void(CheckResult)> done);

}  // namespace mpic::checks
