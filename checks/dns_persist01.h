// dns-persist-01 check (draft-ietf-acme-dns-persist; BR §3.2.2.4.22 "DNS TXT Record with
// Persistent Value"). See check.h for the contract and dns_persist01.cc for the rules.
#pragma once

#include "checks/check.h"

namespace mpic::checks {

// Calls `done` exactly once, on `executor`. Needs request.caa_issuer_domains (the CA's issuer
// domain names, 1 to 10) and request.account_uri; see CheckRequest for the optional
// persist_domain and hashed-accounturi fields.
void RunDnsPersist01(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
                     std::function<void(CheckResult)> done);

}  // namespace mpic::checks
