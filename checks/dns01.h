// dns01 check. See check.h for the contract.
#pragma once

#include <string>
#include <string_view>

#include "checks/check.h"

namespace mpic::checks {

// Calls `done` exactly once, on `executor`.
void RunDns01(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
              std::function<void(CheckResult)> done);

// The DNS-01 procedure (RFC 8555 §8.4) at a validation name the caller chose, shared by
// dns-01 and dns-account-01 (draft-ietf-acme-dns-account-label §3.2): one DNSSEC-validated TXT
// lookup at `validation_name` in a fresh resolver session; valid when any value equals
// base64url(SHA-256(key_authorization)). The key authorization must already be validated.
// Calls `done` exactly once, on `executor`, with `method` and `identifier` in the result.
void RunTxtDigestCheck(asio::any_io_executor executor, CheckDeps deps, Method method,
                       std::string identifier, std::string validation_name,
                       std::string_view key_authorization, Deadline deadline,
                       std::function<void(CheckResult)> done);
// The same with the expected TXT value given (DNS-01 from a key-authorization digest alone).
void RunTxtValueCheck(asio::any_io_executor executor, CheckDeps deps, Method method,
                      std::string identifier, std::string validation_name, std::string expected,
                      Deadline deadline, std::function<void(CheckResult)> done);

// The name a DNS challenge label is prepended to: the identifier without a leading "*."
// (RFC 8555 §7.1.3, §8.4), normalized as a hostname; rejectedIdentifier/malformed otherwise.
[[nodiscard]] Result<std::string> DnsChallengeBase(std::string_view identifier);

// The TXT lookup at `name` (DNS-01, dns-account-01, dns-persist-01), recorded in `result`'s
// evidence. False, with the problem set, when there is nothing to compare: a failed lookup
// (dns) or no TXT record at all (unauthorized).
[[nodiscard]] bool TxtRecordsFound(const resolver::LookupResult& lookup, const std::string& name,
                                   CheckResult* result);

}  // namespace mpic::checks
