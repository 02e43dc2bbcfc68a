// The shape the one-lookup DNS methods share (DNS change, IP address, contact TXT, reverse
// address lookup): one DNSSEC-validated lookup through a fresh resolver session (no cache
// shared with any other validation, BR §3.2.2.9), recorded as evidence, then a verdict.
//
//   RunSingleLookup(executor, deps, Method::kIpAddress, identifier, "www.example.com",
//                   dns::kA, deadline, [](const resolver::Answer& a, CheckResult* r) {...}, done);
#pragma once

#include <functional>
#include <string>

#include "checks/check.h"

namespace mpic::checks::internal {

// Decides on a lookup that succeeded (NOERROR or NXDOMAIN, secure or insecure): sets
// result->valid, or result->problem.
using LookupJudge = std::function<void(const resolver::Answer&, CheckResult*)>;

// Looks `name` up and calls `done` exactly once, on `executor`. A failed lookup (SERVFAIL, bogus,
// timeout, ...) is a dns problem and `judge` is not called (a cancelled lookup stays
// serverInternal).
void RunSingleLookup(asio::any_io_executor executor, CheckDeps deps, Method method,
                     std::string identifier, std::string name, uint16_t type, Deadline deadline,
                     LookupJudge judge, std::function<void(CheckResult)> done);

// Posts a result with `error` to `done` (checks that fail before any query).
void FailBeforeQuery(asio::any_io_executor executor, Method method, std::string identifier,
                     Error error, std::function<void(CheckResult)> done);

}  // namespace mpic::checks::internal
