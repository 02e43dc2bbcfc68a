// The DNS contact methods (BR §3.2.2.4.13, .14, .16, .17). The CA later emails or calls the
// contact; the part a perspective corroborates is that the domain publishes it:
//
//   TXT (.14, .16)  one DNSSEC-validated TXT lookup at "_validation-contactemail.<ADN>" or
//                   "_validation-contactphone.<ADN>" in a fresh session (CNAMEs followed by the
//                   resolver, the chain in the evidence)
//   CAA (.13, .17)  the Relevant RRset of the ADN found by the RFC 8659 §3 climb (ClimbCaa, the
//                   same climb the CAA check makes), its `contactemail` / `contactphone`
//                   properties (tags compared case-insensitively)
//
// BR: the entire value MUST be a valid email address (RFC 6532 §3.2) or global phone number
// (RFC 3966 §5.1.4) "with no additional padding or structure, or it cannot be used": a value that
// does not parse is never a match (it is in the evidence). Emails compare whole (ASCII
// case-insensitively unless require_exact_case); phone numbers compare by their digits, the
// RFC 3966 visual separators ignored. A wildcard identifier is checked at its base name.
//
// Problem types:
//   bad identifier or contact value          -> malformed / rejectedIdentifier (no query)
//   lookup error (SERVFAIL, bogus, timeout)   -> dns
//   nothing published, or not this contact    -> unauthorized
#include "checks/contact.h"

#include "checks/caa.h"
#include "checks/dns01.h"
#include "checks/internal/caa_eval.h"
#include "checks/internal/dcv_value.h"
#include "checks/internal/dns_lookup.h"
#include "checks/internal/dns_txt.h"
#include "checks/internal/web_common.h"
#include "common/dns_name.h"

namespace mpic::checks {
namespace {

struct ContactPlan {
  Method method = Method::kContactEmailTxt;
  bool phone = false;
  bool caa = false;
  std::string adn;
  std::string expected;  // parsed (phone: "+digits")
  internal::MatchRule rule{.exact_match = true, .exact_case = false};
};

Result<std::string> ParseContact(bool phone, std::string_view value) {
  return phone ? internal::ParseContactPhone(value) : internal::ParseContactEmail(value);
}

// The judgement of the candidate values (raw octets) shared by TXT and CAA.
void Judge(const ContactPlan& plan, const std::vector<std::string>& values, size_t unreadable,
           const std::string& where, CheckResult* result) {
  size_t unusable = 0;
  // The least matching value, so every perspective reports the same one.
  const std::string* match = nullptr;
  for (const auto& v : values) {
    auto parsed = ParseContact(plan.phone, v);
    if (!parsed) {
      ++unusable;
      continue;
    }
    if (internal::ValueMatches(*parsed, plan.expected, plan.rule) &&
        (match == nullptr || v < *match)) {
      match = &v;
    }
  }
  if (match != nullptr) {
    result->valid = true;
    result->evidence.matched_value = internal::EscapeOctets(*match);
    return;
  }
  const char* what = plan.phone ? "phone number" : "email address";
  std::string detail;
  if (values.empty() && unreadable == 0) {
    detail = std::string("No ") + what + " published at " + where;
  } else {
    detail = std::to_string(values.size()) + " value(s) at " + where + ", none is the " + what +
             " " + internal::PrintableText(plan.expected, 64);
    if (unusable > 0) {
      detail += " (" + std::to_string(unusable) + " not a valid " + what +
                ", so unusable: BR §3.2.2.4." +
                std::string(plan.caa ? (plan.phone ? "17" : "13") : (plan.phone ? "16" : "14")) +
                ")";
    }
    if (unreadable > 0) detail += " (" + std::to_string(unreadable) + " unreadable ignored)";
  }
  result->problem = Error{ProblemType::kUnauthorized, std::move(detail)};
}

Result<ContactPlan> MakePlan(const CheckRequest& request) {
  ContactPlan plan;
  plan.method = request.method;
  plan.phone =
      request.method == Method::kContactPhoneTxt || request.method == Method::kContactPhoneCaa;
  plan.caa =
      request.method == Method::kContactEmailCaa || request.method == Method::kContactPhoneCaa;
  if (!plan.phone && request.method != Method::kContactEmailTxt &&
      request.method != Method::kContactEmailCaa) {
    return Fail(ProblemType::kServerInternal, "not a contact method");
  }
  auto adn = DnsChallengeBase(request.identifier);
  if (!adn) return tl::unexpected(adn.error());
  plan.adn = *adn;
  auto expected = ParseContact(plan.phone, request.challenge_value);
  if (!expected) {
    return Fail(ProblemType::kMalformed, "challenge value: " + expected.error().detail);
  }
  plan.expected = *expected;
  plan.rule.exact_case = !plan.phone && request.require_exact_case.value_or(false);
  return plan;
}

}  // namespace

void RunContact(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
                std::function<void(CheckResult)> done) {
  auto plan = MakePlan(request);
  if (!plan) {
    return internal::FailBeforeQuery(std::move(executor), request.method, request.identifier,
                                     plan.error(), std::move(done));
  }
  if (!plan->caa) {
    std::string name =
        std::string(plan->phone ? "_validation-contactphone." : "_validation-contactemail.") +
        plan->adn;
    if (auto n = NormalizeDnsName(name); !n) {
      return internal::FailBeforeQuery(
          std::move(executor), request.method, request.identifier,
          Error{ProblemType::kRejectedIdentifier, "name too long: " + n.error().detail},
          std::move(done));
    }
    return internal::RunSingleLookup(
        std::move(executor), deps, request.method, request.identifier, name, dns::kTxt,
        request.deadline,
        [plan = std::move(*plan), name](const resolver::Answer& answer, CheckResult* result) {
          std::vector<std::string> values;
          size_t unreadable = 0;
          for (const auto& rr : answer.records) {
            auto value = internal::TxtRecordValue(rr.rdata);
            if (!value) {
              ++unreadable;
              continue;
            }
            result->evidence.txt_values.push_back(internal::EscapeOctets(*value));
            values.push_back(std::move(*value));
          }
          Judge(plan, values, unreadable, name, result);
        },
        std::move(done));
  }
  CheckResult result;
  result.method = request.method;
  result.identifier = request.identifier;
  std::string adn = plan->adn;
  ClimbCaa(executor, deps.resolver, std::move(adn), request.deadline,
           [result = std::move(result), plan = std::move(*plan),
            done = std::move(done)](CaaClimbResult climb) mutable {
             result.evidence.lookups = std::move(climb.lookups);
             if (climb.error) {
               result.problem = Error{climb.error->type, "CAA lookup for " + climb.failed_name +
                                                             " failed: " + climb.error->detail};
               return done(std::move(result));
             }
             if (climb.owner.empty()) {
               result.problem = Error{ProblemType::kUnauthorized,
                                      "No CAA record for " + plan.adn + " or any parent"};
               return done(std::move(result));
             }
             result.evidence.caa_name = Fqdn(climb.owner);
             const std::string_view tag = plan.phone ? "contactphone" : "contactemail";
             std::vector<std::string> values;
             size_t unreadable = 0;
             for (const auto& rr : climb.records) {
               result.evidence.caa_records.push_back(dns::ToPresentation(rr));
               auto caa = internal::ParseCaaRdata(rr.rdata);
               if (!caa) {
                 ++unreadable;
                 continue;
               }
               if (internal::ComparableName(caa->tag) == tag) values.push_back(caa->value);
             }
             Judge(plan, values, unreadable,
                   "the CAA " + std::string(tag) + " properties of " + climb.owner, &result);
             done(std::move(result));
           });
}

}  // namespace mpic::checks
