// dns-account-01 check (draft-ietf-acme-dns-account-label; BR §3.2.2.4.21 "DNS Labeled with
// Account ID - ACME"). See check.h for the contract.
//
//   DnsAccountLabel("https://example.com/acme/acct/ExampleAccount")  // "_ujmmovf2vn55tgye"
#pragma once

#include <string>
#include <string_view>

#include "checks/check.h"

namespace mpic::checks {

// The account label (draft §3.2): "_" followed by the lowercase RFC 4648 base32 encoding
// (no padding) of the first 10 octets of SHA-256(account URL): 16 characters.
[[nodiscard]] std::string DnsAccountLabel(std::string_view account_uri);

// The validation name: "<label>._acme-challenge.<identifier without *.>", or why there is none
// (bad identifier, no account URI, name too long).
[[nodiscard]] Result<std::string> DnsAccountValidationName(std::string_view identifier,
                                                           std::string_view account_uri);

// Calls `done` exactly once, on `executor`. Needs request.account_uri and
// request.key_authorization.
void RunDnsAccount01(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
                     std::function<void(CheckResult)> done);

}  // namespace mpic::checks
