// caa check. See check.h for the contract.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "checks/check.h"

namespace mpic::checks {

// Calls `done` exactly once, on `executor`.
void RunCaa(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
              std::function<void(CheckResult)> done);

// What the RFC 8659 §3 climb found (caa.cc), for the CAA check and for the contact methods of
// BR §3.2.2.4.13/.17 (contact.h), which read the same Relevant RRset.
struct CaaClimbResult {
  std::vector<DnsLookupEvidence> lookups;  // every lookup made, in order
  std::optional<Error> error;  // a failed lookup: dns (a cancelled one stays serverInternal)
  std::string failed_name;     // the name whose lookup failed
  std::string owner;           // where the Relevant RRset is (normalized); "" when none
  std::vector<dns::Record> records;  // that RRset
};

// Climbs from `fqdn` (a normalized host name) toward the TLD in one fresh resolver session and
// calls `done` exactly once, on `executor`.
void ClimbCaa(asio::any_io_executor executor, resolver::Resolver& resolver, std::string fqdn,
              Deadline deadline, std::function<void(CaaClimbResult)> done);

}  // namespace mpic::checks
