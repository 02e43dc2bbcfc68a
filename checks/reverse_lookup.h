// Reverse address lookup (BR §3.2.2.5.3 "Reverse Address Lookup"): the PTR records of an IP
// address name the domain the Applicant validated. See reverse_lookup.cc.
//
//   CheckRequest r{.method = Method::kReverseAddressLookup, .identifier = "192.0.2.7",
//                  .challenge_value = "host.example.com"};
#pragma once

#include "checks/check.h"

namespace mpic::checks {

// Calls `done` exactly once, on `executor`.
void RunReverseLookup(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
                      std::function<void(CheckResult)> done);

}  // namespace mpic::checks
