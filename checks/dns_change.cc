// DNS change (BR §3.2.2.4.7): one DNSSEC-validated lookup of the requested type at the ADN or at
// "<_label>.<ADN>", through a fresh resolver session (BR §3.2.2.9); then the Random Value or
// Request Token is looked for in each record:
//
//   TXT    the record's character-strings concatenated (RFC 1035 §3.3.14); the resolver
//          follows a CNAME at the name (the chain is in the evidence)
//   CNAME  the alias target of the name itself (the type asked for is CNAME, so nothing is
//          followed: the target IS the datum); compared without the trailing dot
//   CAA    the property value of each record (RFC 8659 §4.1), whatever its tag
//
// Matching (the Open MPIC `require_exact_match` / `require_exact_case` options): the whole
// value or, by default, a substring of it; substring matching needs a value of at least 16
// octets (internal/dcv_value.h). Case: exact for TXT unless the caller relaxes it; ASCII
// case-insensitive for CNAME and CAA. A bogus answer anywhere on the chain is a dns problem,
// never data; the DNSSEC status of the answer is in the evidence.
//
// A wildcard identifier ("*.example.com") is validated at its base name: a validated ADN covers
// the names below it (BR §3.2.2.4, the definition of Authorization Domain Name).
//
// Problem types:
//   bad identifier, prefix, type or value  -> malformed / rejectedIdentifier (no query)
//   lookup error (SERVFAIL, bogus, timeout) -> dns
//   NXDOMAIN, no record, no match           -> unauthorized (how many records were seen)
#include "checks/dns_change.h"

#include <cctype>

#include "checks/dns01.h"
#include "checks/internal/caa_eval.h"
#include "checks/internal/dcv_value.h"
#include "checks/internal/dns_lookup.h"
#include "checks/internal/dns_txt.h"
#include "checks/internal/web_common.h"
#include "common/dns_name.h"

namespace mpic::checks {
namespace {

struct Plan {
  std::string name;  // the name to query, normalized
  uint16_t type = dns::kTxt;
  std::string value;
  internal::MatchRule rule;
};

bool IsPrefixLabel(std::string_view label) {
  if (label.size() < 2 || label.size() > kMaxLabelLength || label[0] != '_') return false;
  for (char c : label) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Result<Plan> MakePlan(const CheckRequest& request) {
  Plan plan;
  auto base = DnsChallengeBase(request.identifier);
  if (!base) return tl::unexpected(base.error());
  std::string type = request.dns_record_type.empty() ? "TXT" : request.dns_record_type;
  for (char& c : type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (type == "TXT") {
    plan.type = dns::kTxt;
  } else if (type == "CNAME") {
    plan.type = dns::kCname;
  } else if (type == "CAA") {
    plan.type = dns::kCaa;
  } else {
    return Fail(ProblemType::kMalformed,
                "DNS change records are TXT, CNAME or CAA (BR §3.2.2.4.7), not \"" +
                    internal::PrintableText(request.dns_record_type, 16) + "\"");
  }
  plan.name = *base;
  if (!request.dns_name_prefix.empty()) {
    // BR §3.2.2.4.7: the ADN, or the ADN prefixed with a Domain Label that begins with "_".
    if (!IsPrefixLabel(request.dns_name_prefix)) {
      return Fail(ProblemType::kMalformed,
                  "the DNS name prefix must be one label that begins with \"_\" (BR "
                  "§3.2.2.4.7), of letters, digits, \"-\" and \"_\"");
    }
    plan.name = request.dns_name_prefix + "." + plan.name;
  }
  auto name = NormalizeDnsName(plan.name);
  if (!name) {
    return Fail(ProblemType::kRejectedIdentifier,
                "name too long for a DNS change validation name: " + name.error().detail);
  }
  plan.name = *name;
  plan.rule.exact_match = request.require_exact_match;
  plan.rule.exact_case = plan.type == dns::kTxt && request.require_exact_case.value_or(true);
  if (auto ok = internal::ValidateChallengeValue(request.challenge_value, !plan.rule.exact_match);
      !ok) {
    return tl::unexpected(ok.error());
  }
  plan.value = request.challenge_value;
  if (plan.type == dns::kCname) plan.value = internal::ComparableName(plan.value);
  return plan;
}

void Judge(const Plan& plan, const resolver::Answer& answer, CheckResult* result) {
  const std::string type = dns::RrTypeName(plan.type);
  std::vector<std::string> candidates;  // raw octets
  size_t unreadable = 0;
  if (plan.type == dns::kCname) {
    // Asked for CNAME: the name's own alias target (the first hop of the chain).
    if (!answer.cname_chain.empty()) {
      candidates.push_back(internal::ComparableName(
          answer.cname_chain.size() > 1 ? answer.cname_chain[1] : answer.canonical_name));
    }
    for (const auto& rr : answer.records) {
      // A backend that reports the CNAME as a record of the type asked for.
      if (internal::ComparableName(rr.name) == plan.name) {
        candidates.push_back(internal::ComparableName(rr.rdata_text));
      }
    }
  } else {
    for (const auto& rr : answer.records) {
      if (plan.type == dns::kTxt) {
        auto value = internal::TxtRecordValue(rr.rdata);
        if (!value) {
          ++unreadable;
          continue;
        }
        result->evidence.txt_values.push_back(internal::EscapeOctets(*value));
        candidates.push_back(std::move(*value));
      } else {
        auto caa = internal::ParseCaaRdata(rr.rdata);
        result->evidence.caa_records.push_back(dns::ToPresentation(rr));
        if (!caa) {
          ++unreadable;
          continue;
        }
        candidates.push_back(std::move(caa->value));
      }
    }
    if (plan.type == dns::kCaa && !result->evidence.caa_records.empty()) {
      result->evidence.caa_name = Fqdn(plan.name);
    }
  }
  // Every perspective reports the same match whatever order the records came in: the least.
  const std::string* match = nullptr;
  for (const auto& c : candidates) {
    if (internal::ValueMatches(c, plan.value, plan.rule) && (match == nullptr || c < *match)) {
      match = &c;
    }
  }
  if (match != nullptr) {
    result->valid = true;
    result->evidence.matched_value = internal::EscapeOctets(*match);
    return;
  }
  std::string detail;
  if (answer.nxdomain() || (candidates.empty() && unreadable == 0)) {
    detail = "No " + type + " record found at " + plan.name;
  } else {
    size_t n = candidates.size();
    detail = std::to_string(n) + " " + type + " value" + (n == 1 ? "" : "s") + " at " +
             plan.name + ", none " + (plan.rule.exact_match ? "equal to" : "containing") +
             " the challenge value" + (plan.rule.exact_case ? "" : " (ignoring case)");
    if (unreadable > 0) detail += " (" + std::to_string(unreadable) + " unreadable ignored)";
  }
  result->problem = Error{ProblemType::kUnauthorized, std::move(detail)};
}

}  // namespace

void RunDnsChange(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
                  std::function<void(CheckResult)> done) {
  auto plan = MakePlan(request);
  if (!plan) {
    return internal::FailBeforeQuery(std::move(executor), Method::kDnsChange, request.identifier,
                                     plan.error(), std::move(done));
  }
  std::string name = plan->name;
  uint16_t type = plan->type;
  internal::RunSingleLookup(
      std::move(executor), deps, Method::kDnsChange, request.identifier, std::move(name), type,
      request.deadline,
      [plan = std::move(*plan)](const resolver::Answer& answer, CheckResult* result) {
        Judge(plan, answer, result);
      },
      std::move(done));
}

}  // namespace mpic::checks
