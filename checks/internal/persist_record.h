// dns-persist-01 records as pure functions (draft-ietf-acme-dns-persist-02 §4; BR §3.2.2.4.22):
// the parsing of one `_validation-persist` TXT value and the decision whether a set of them
// lets this CA validate a name for the requesting account. No I/O; table-tested in
// persist_record_test.cc and fuzzed by tests/fuzz/persist_record_fuzzer.cc.
//
//   auto record = ParsePersistRecord("ca.example; accounturi=https://ca.example/acct/1");
//   PersistPolicy policy{.issuer_domains = {"ca.example"}, .account_uri = uri, ...};
//   PersistDecision d = EvaluatePersistValues(values, policy);
//   if (!d.authorized) fail(d.problem, d.reason);
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace mpic::checks::internal {

// The record's well-known label (draft §4; BR §3.2.2.4.22).
inline constexpr std::string_view kPersistLabel = "_validation-persist";
// The only hash algorithm the CA accepts in a hashed accounturi (draft-02 §4.1: the RFC 6920
// Hash Name String "sha-256", mandatory to implement).
inline constexpr std::string_view kPersistHashAlgorithm = "sha-256";

// One record, parsed (draft §4.1). Parameter tags are matched case-insensitively (as in
// RFC 8659 for CAA; a `PersistUntil=` written in another case is still honoured, never
// silently ignored); values keep their octets.
struct PersistRecord {
  std::string issuer_domain;             // lower-cased, never empty
  std::string account_uri;               // the accounturi value, never empty
  bool policy_wildcard = false;          // policy=wildcard (value case-insensitive)
  std::string policy;                    // the policy value as written ("" if absent)
  std::optional<int64_t> persist_until;  // UNIX seconds
};

// Parses one TXT value. Fails (kMalformed) when the value is outside the RFC 8659 §4.2
// issue-value grammar, names no issuer, lacks accounturi (or has it empty), repeats a
// parameter, or has a persistUntil that is not a base-10 integer of at most 18 digits.
// Unknown parameters are ignored (draft §4.1 item 1); a policy other than "wildcard" is as
// if absent (item 4).
[[nodiscard]] Result<PersistRecord> ParsePersistRecord(std::string_view value);

// The issuer domain name a value starts with, lower-cased, even when the rest is malformed
// (the text before the first ";" without surrounding blanks); "" when there is none. Lets a
// broken record for this CA be reported as malformed instead of being ignored as another CA's.
[[nodiscard]] std::string PersistRecordIssuer(std::string_view value);

// draft-02 §4.1 hashed account URI: prefix "sha-256/" base64url(SHA-256(len(domain) ||
// domain || thumbprint || account_url)), `domain` the FQDN holding the record (no trailing
// dot) or "*" for the domain-omitted form.
[[nodiscard]] std::string PersistHashedAccountUri(std::string_view prefix, std::string_view domain,
                                                  std::string_view thumbprint,
                                                  std::string_view account_url);

// What the CA asks.
struct PersistPolicy {
  std::vector<std::string> issuer_domains;  // the CA's disclosed issuer domain names
  std::string account_uri;                  // the requesting account's URL
  // Hashed binding (draft-02 §4.1, §4.2): when `account_hash_prefix` is set, accounturi must
  // be a hashed URI under it, computed over one of `account_key_thumbprints` (the current key
  // first); a plain account URL is then refused. Without it, accounturi must equal
  // `account_uri` exactly (BR §3.2.2.4.22 item 3, RFC 8657 §3; draft-01).
  std::string account_hash_prefix;
  std::vector<std::string> account_key_thumbprints;
  std::string validated_fqdn;  // where the record lives, normalized, no "_validation-persist"
  std::string requested_fqdn;  // the certificate's name without "*.", normalized
  bool wildcard = false;       // the certificate name is *.requested_fqdn
  int64_t now_unix = 0;        // the time of the check (BR: "the time of the check")
};

enum class PersistVerdict {
  kAuthorizes,    // this record validates the request
  kOtherIssuer,   // names another CA (or none readable): ignored (draft §4.3.2 step 2)
  kMalformed,     // names this CA but breaks the syntax (draft §9.3.1: malformed)
  kUnauthorized,  // names this CA, well formed, but wrong account, expired or out of scope
};

[[nodiscard]] std::string_view PersistVerdictName(PersistVerdict verdict);

struct PersistRecordOutcome {
  std::string value;  // escaped for evidence (dns_txt.h)
  PersistVerdict verdict = PersistVerdict::kOtherIssuer;
  std::string reason;  // why, for a person
};

struct PersistDecision {
  bool authorized = false;
  ProblemType problem = ProblemType::kUnauthorized;  // meaningful when !authorized
  std::string reason;
  std::vector<PersistRecordOutcome> records;  // one per value, in order
  // The authorizing record's accounturi and persistUntil: what a corroborating perspective
  // must also see (BR §3.2.2.4.22) and the cap on the authorization's lifetime (draft §4.1).
  std::string accounturi;
  std::optional<int64_t> persist_until;
};

// Decides on every TXT value seen at the Validation Domain Name (draft §4.3.2): records for
// other issuers are ignored; one record that satisfies everything authorizes. When none does,
// `problem` is unauthorized if some well-formed record for this CA failed or no record names
// this CA, and malformed if every record naming this CA is malformed (draft §9.3.1).
[[nodiscard]] PersistDecision EvaluatePersistValues(std::span<const std::string> values,
                                                    const PersistPolicy& policy);

// Whether `validated` (a normalized FQDN) may hold the record for `requested` (normalized,
// "*." removed): equal, or a proper parent at a label boundary (draft §6.1).
[[nodiscard]] bool PersistScopeCovers(std::string_view validated, std::string_view requested);

}  // namespace mpic::checks::internal
