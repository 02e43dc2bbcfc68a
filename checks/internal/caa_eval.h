// CAA evaluation as pure functions (RFC 8659, RFC 8657; RFC 9495 for S/MIME): the parsing of each CAA resource
// record and the decision whether the Relevant RRset lets this CA issue. No I/O; table-tested
// in caa_eval_test.cc and fuzzed by tests/fuzz.
//
//   CaaPolicy policy{.issuer_domains = {"ca.example"}, .account_uri = uri,
//                    .validation_method = "dns-01", .wildcard = false};
//   CaaDecision d = EvaluateCaaRdata(rdatas, policy);
//   if (!d.permitted) deny(d.reason);
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace mpic::checks::internal {

// RFC 8659 §4.1: the Issuer Critical Flag is bit 0 of the flags octet (value 128).
inline constexpr uint8_t kCaaCriticalFlag = 0x80;
// RFC 8659 §4.1: a tag is 1..15 ASCII letters and digits.
inline constexpr size_t kCaaMaxTagLength = 15;

// One CAA RR as received (RFC 8659 §4.1).
struct CaaRecord {
  uint8_t flags = 0;
  std::string tag;    // as received; compared case-insensitively
  std::string value;  // raw octets
  bool critical() const { return (flags & kCaaCriticalFlag) != 0; }
};

// Splits CAA rdata into flags, tag and value. Fails (kMalformed) when the tag length is zero
// or points past the rdata.
[[nodiscard]] Result<CaaRecord> ParseCaaRdata(std::span<const uint8_t> rdata);

// An `issue`/`issuewild` value (RFC 8659 §4.2):
//   issue-value = *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]]
// `issuer_domain` is lower-cased; empty means "no issuer": the record authorizes nobody.
struct CaaIssueValue {
  std::string issuer_domain;
  std::vector<std::pair<std::string, std::string>> parameters;  // tags lower-cased, in order
};

// Fails (kMalformed) when the value does not match the grammar. RFC 8659 §4.2: such a value
// MUST be treated like an empty issuer-domain-name, i.e. it authorizes nobody. As a tolerance
// that cannot widen authorization, one trailing ";" after the parameters is accepted.
[[nodiscard]] Result<CaaIssueValue> ParseCaaIssueValue(std::string_view value);

// What the CA asks permission for.
struct CaaPolicy {
  std::vector<std::string> issuer_domains;  // the CA's own issuer domain names
  std::string account_uri;                  // RFC 8657 §3 accounturi
  std::string validation_method;            // RFC 8657 §4 validationmethods ("dns-01", ...)
  bool wildcard = false;                    // the name is a Wildcard Domain Name
  // An S/MIME certificate for email addresses whose domain part is the name: `issuemail`
  // governs instead of `issue`/`issuewild` (RFC 9495 §4); `wildcard` must then be false.
  bool smime = false;
};

struct CaaDecision {
  bool permitted = false;
  std::string reason;  // why, for a person (also set when permitted)
};

// Decides on a Relevant RRset (RFC 8659 §3) that is not empty:
//  - any record with the critical flag and a tag this CA does not understand forbids
//    issuance (§4.1); unknown non-critical tags are ignored; tags match case-insensitively;
//  - a wildcard name is governed by `issuewild` when at least one exists, else by `issue`;
//    a non-wildcard name by `issue` only (§4.3); no governing record = no restriction (§4.2);
//  - a governing record authorizes this CA when its value parses, its issuer domain equals
//    one of `issuer_domains` (case-insensitively), no parameter appears twice, `accounturi`
//    (if present) equals a non-empty `account_uri` (RFC 8657 §3), and `validationmethods`
//    (if present) lists `validation_method` exactly — an empty `validation_method` never
//    satisfies it (RFC 8657 §4);
//    unknown parameters are ignored (their meaning is the issuer's, RFC 8659 §4.2);
//  - authorizations are additive: one authorizing record permits.
// S/MIME (`smime`, RFC 9495 §4): `issuemail` is the only governing property; `issue` and
// `issuewild` never restrict it, and no `issuemail` record = no restriction. Its value has the
// `issue` grammar (RFC 9495 §3) and is judged as above (a value outside it authorizes nobody);
// the critical-flag rule is RFC 8659's for both types, and `issuemail` is a tag this CA
// understands, so a critical `issuemail` never stops TLS issuance. A wildcard S/MIME policy
// forbids issuance (email addresses have no wildcard form).
[[nodiscard]] CaaDecision EvaluateCaa(std::span<const CaaRecord> rrset, const CaaPolicy& policy);

// Parses every rdata, then evaluates. An rdata that cannot be parsed forbids issuance (it
// may be a critical property we cannot read).
[[nodiscard]] CaaDecision EvaluateCaaRdata(std::span<const std::vector<uint8_t>> rdatas,
                                           const CaaPolicy& policy);

}  // namespace mpic::checks::internal
