#include "checks/internal/persist_record.h"

#include <algorithm>
#include <set>

#include "checks/internal/caa_eval.h"
#include "checks/internal/dns_txt.h"
#include "checks/key_authorization.h"

namespace mpic::checks::internal {
namespace {

// How much of a value a reason quotes; the evidence keeps every value in full.
constexpr size_t kShownOctets = 128;
// How many records a reason describes one by one; the evidence has all of them.
constexpr size_t kShownRecords = 5;
// persistUntil digits: 18 always fit in int64_t (year ~31 billion), so no overflow check.
constexpr size_t kMaxTimestampDigits = 18;
// A SHA-256 digest in unpadded base64url.
constexpr size_t kSha256Base64UrlLength = 43;

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool IsBase64Url(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

// The CA's issuer domain names in the form the draft compares (§3.1: lowercase, no trailing
// dot); byte comparison afterwards (§7.6).
std::string NormalizeIssuer(std::string_view d) {
  if (d.ends_with('.')) d.remove_suffix(1);
  return ToLower(d);
}

bool IsOurIssuer(std::string_view issuer, const PersistPolicy& policy) {
  return !issuer.empty() &&
         std::any_of(policy.issuer_domains.begin(), policy.issuer_domains.end(),
                     [&](const std::string& d) { return NormalizeIssuer(d) == issuer; });
}

std::string Shown(std::string_view s) { return "\"" + EscapeOctets(s, kShownOctets) + "\""; }

// Checks a hashed accounturi (draft-02 §4.1, §4.2). Returns "" when it names the requesting
// account; otherwise the reason, and sets *malformed when the value is not a well-formed hashed
// URI at all (§9.3.1).
std::string CheckHashedAccountUri(std::string_view value, const PersistPolicy& policy,
                                  bool* malformed) {
  *malformed = true;
  if (!value.starts_with(policy.account_hash_prefix)) {
    return "accounturi " + Shown(value) + " is not a hashed account URI under " +
           Shown(policy.account_hash_prefix);
  }
  std::string_view rest = value.substr(policy.account_hash_prefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return "accounturi " + Shown(value) + " has no hash algorithm";
  }
  std::string_view algorithm = rest.substr(0, slash);
  std::string_view digest = rest.substr(slash + 1);
  // RFC 6920 names are compared exactly; this CA accepts only sha-256 (draft-02 §4.1).
  if (algorithm != kPersistHashAlgorithm) {
    return "accounturi uses hash algorithm " + Shown(algorithm) + "; this CA accepts only " +
           std::string(kPersistHashAlgorithm);
  }
  if (digest.size() != kSha256Base64UrlLength || !IsBase64Url(digest)) {
    return "accounturi hash " + Shown(digest) + " is not an unpadded base64url SHA-256 digest";
  }
  *malformed = false;
  if (policy.account_uri.empty()) return "the requesting account is unknown";
  // draft-02 §4.2: the current key first, then older ones; each with the record's own domain
  // and with the domain-omitted "*" form.
  for (const auto& thumbprint : policy.account_key_thumbprints) {
    for (std::string_view domain :
         {std::string_view(policy.validated_fqdn), std::string_view("*")}) {
      if (PersistHashedAccountUri(policy.account_hash_prefix, domain, thumbprint,
                                  policy.account_uri) == value) {
        return "";
      }
    }
  }
  return "accounturi " + Shown(value) + " is not a hashed URI of the requesting account (" +
         std::to_string(policy.account_key_thumbprints.size()) + " key(s) tried)";
}

// Why a well-formed record for this CA does not authorize the request; "" when it does.
std::string WhyNotAuthorized(const PersistRecord& record, const PersistPolicy& policy,
                             bool* malformed) {
  *malformed = false;
  if (!policy.account_hash_prefix.empty()) {
    std::string why = CheckHashedAccountUri(record.account_uri, policy, malformed);
    if (!why.empty()) return why;
  } else if (policy.account_uri.empty() || record.account_uri != policy.account_uri) {
    // BR §3.2.2.4.22 item 3, draft §4.1: Simple String Comparison (RFC 3986 §6.2.1), no
    // case folding or normalization. An unknown account matches nothing.
    return "accounturi " + Shown(record.account_uri) + " is not the requesting account" +
           (policy.account_uri.empty() ? std::string(" (none given)")
                                       : " (" + Shown(policy.account_uri) + ")");
  }
  if (record.persist_until && policy.now_unix > *record.persist_until) {
    // BR §3.2.2.4.22: after persistUntil the record is no evidence of control.
    return "persistUntil=" + std::to_string(*record.persist_until) + " has passed (now " +
           std::to_string(policy.now_unix) + ")";
  }
  const bool subdomain = policy.validated_fqdn != policy.requested_fqdn;
  if ((policy.wildcard || subdomain) && !record.policy_wildcard) {
    // draft §5.1, §6.2: wildcards and subdomains need policy=wildcard.
    std::string what = policy.wildcard ? "the wildcard *." + policy.requested_fqdn
                                       : "the subdomain " + policy.requested_fqdn;
    return what + " needs policy=wildcard" +
           (record.policy.empty() ? std::string() : " (found policy=" + Shown(record.policy) + ")");
  }
  return "";
}

}  // namespace

std::string_view PersistVerdictName(PersistVerdict verdict) {
  switch (verdict) {
    case PersistVerdict::kAuthorizes:
      return "authorizes";
    case PersistVerdict::kOtherIssuer:
      return "other-issuer";
    case PersistVerdict::kMalformed:
      return "malformed";
    case PersistVerdict::kUnauthorized:
      return "unauthorized";
  }
  return "unknown";
}

Result<PersistRecord> ParsePersistRecord(std::string_view value) {
  // draft §4.1 item 1, BR §3.2.2.4.22 item 1: RFC 8659 §4.2 issue-value syntax.
  auto parsed = ParseCaaIssueValue(value);
  if (!parsed) {
    return Fail(ProblemType::kMalformed, "not an RFC 8659 issue-value: " + parsed.error().detail);
  }
  if (parsed->issuer_domain.empty()) {
    return Fail(ProblemType::kMalformed, "no issuer domain name");
  }
  PersistRecord record;
  record.issuer_domain = parsed->issuer_domain;
  std::set<std::string> seen;
  bool has_account = false;
  for (const auto& [tag, param] : parsed->parameters) {
    // Tags arrive lower-cased: "persistUntil" and "persistuntil" are one parameter.
    if (!seen.insert(tag).second) {
      return Fail(ProblemType::kMalformed, "parameter \"" + tag + "\" appears more than once");
    }
    if (tag == "accounturi") {
      if (param.empty()) return Fail(ProblemType::kMalformed, "accounturi is empty");
      record.account_uri = param;
      has_account = true;
    } else if (tag == "policy") {
      record.policy = param;
      // draft §4.1 item 4: case-insensitive; any other value is as if absent.
      record.policy_wildcard = ToLower(param) == "wildcard";
    } else if (tag == "persistuntil") {
      // draft §4.1 item 5, BR §3.2.2.4.22 item 4: a base-10 integer, else malformed.
      if (param.empty() || param.size() > kMaxTimestampDigits ||
          !std::all_of(param.begin(), param.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return Fail(ProblemType::kMalformed,
                    "persistUntil \"" + EscapeOctets(param, kShownOctets) +
                        "\" is not a base-10 integer of at most 18 digits");
      }
      record.persist_until = std::stoll(param);
    }
    // Any other tag: ignored (draft §4.1 item 1, BR §3.2.2.4.22 item 5).
  }
  if (!has_account) return Fail(ProblemType::kMalformed, "no accounturi parameter");
  return record;
}

std::string PersistRecordIssuer(std::string_view value) {
  std::string_view head = value.substr(0, value.find(';'));
  auto blank = [](char c) { return c == ' ' || c == '\t'; };
  while (!head.empty() && blank(head.front())) head.remove_prefix(1);
  while (!head.empty() && blank(head.back())) head.remove_suffix(1);
  return ToLower(head);
}

std::string PersistHashedAccountUri(std::string_view prefix, std::string_view domain,
                                    std::string_view thumbprint, std::string_view account_url) {
  // draft-02 §4.1: a one-octet length delimits the domain (at most 255 octets, RFC 1035).
  std::string input;
  input.reserve(1 + domain.size() + thumbprint.size() + account_url.size());
  input += static_cast<char>(static_cast<uint8_t>(std::min<size_t>(domain.size(), 255)));
  input += domain;
  input += thumbprint;
  input += account_url;
  auto digest = Sha256(input);
  return std::string(prefix) + std::string(kPersistHashAlgorithm) + "/" + Base64UrlNoPad(digest);
}

bool PersistScopeCovers(std::string_view validated, std::string_view requested) {
  if (validated.empty() || requested.empty()) return false;
  if (validated == requested) return true;
  return requested.size() > validated.size() + 1 && requested.ends_with(validated) &&
         requested[requested.size() - validated.size() - 1] == '.';
}

PersistDecision EvaluatePersistValues(std::span<const std::string> values,
                                      const PersistPolicy& policy) {
  PersistDecision out;
  out.records.reserve(values.size());
  size_t ours = 0, unauthorized = 0;
  std::vector<std::string> refusals;
  for (const auto& value : values) {
    PersistRecordOutcome outcome;
    outcome.value = EscapeOctets(value);
    auto record = ParsePersistRecord(value);
    if (!record) {
      if (IsOurIssuer(PersistRecordIssuer(value), policy)) {
        outcome.verdict = PersistVerdict::kMalformed;
        outcome.reason = record.error().detail;
      } else {
        outcome.verdict = PersistVerdict::kOtherIssuer;
        outcome.reason = "does not name this CA (" + record.error().detail + ")";
      }
    } else if (!IsOurIssuer(record->issuer_domain, policy)) {
      // draft §4.3.2 step 2: records for other issuers are ignored.
      outcome.verdict = PersistVerdict::kOtherIssuer;
      outcome.reason = "names issuer " + Shown(record->issuer_domain) + ", not this CA";
    } else {
      bool bad_syntax = false;
      std::string why = WhyNotAuthorized(*record, policy, &bad_syntax);
      if (why.empty()) {
        outcome.verdict = PersistVerdict::kAuthorizes;
        outcome.reason = "authorizes this CA for the requesting account";
        if (!out.authorized) {
          out.authorized = true;
          out.accounturi = record->account_uri;
          out.persist_until = record->persist_until;
        }
      } else {
        outcome.verdict = bad_syntax ? PersistVerdict::kMalformed : PersistVerdict::kUnauthorized;
        outcome.reason = std::move(why);
      }
    }
    if (outcome.verdict != PersistVerdict::kOtherIssuer) ++ours;
    if (outcome.verdict == PersistVerdict::kUnauthorized) ++unauthorized;
    if (outcome.verdict == PersistVerdict::kMalformed ||
        outcome.verdict == PersistVerdict::kUnauthorized) {
      refusals.push_back(Shown(value) + ": " + outcome.reason);
    }
    out.records.push_back(std::move(outcome));
  }
  if (out.authorized) {
    out.reason = "a record authorizes this CA for the requesting account";
    return out;
  }
  const size_t n = values.size();
  std::string seen = std::to_string(n) + " TXT value" + (n == 1 ? "" : "s") + " seen";
  if (ours == 0) {
    out.problem = ProblemType::kUnauthorized;
    std::string issuers;
    for (size_t i = 0; i < policy.issuer_domains.size(); ++i) {
      issuers +=
          (i ? ", " : "") + EscapeOctets(NormalizeIssuer(policy.issuer_domains[i]), kShownOctets);
    }
    out.reason = seen + ", none names this CA's issuer domain name" +
                 (policy.issuer_domains.size() == 1 ? " " : "s ") + issuers;
    return out;
  }
  out.problem = unauthorized > 0 ? ProblemType::kUnauthorized : ProblemType::kMalformed;
  out.reason = seen + ", " + std::to_string(ours) + " for this CA, none authorizes: ";
  for (size_t i = 0; i < refusals.size() && i < kShownRecords; ++i) {
    out.reason += (i ? "; " : "") + refusals[i];
  }
  if (refusals.size() > kShownRecords) {
    out.reason += "; and " + std::to_string(refusals.size() - kShownRecords) + " more";
  }
  return out;
}

}  // namespace mpic::checks::internal
