// dns-persist-01 (draft-ietf-acme-dns-persist-02 §4; BR §3.2.2.4.22): one DNSSEC-validated TXT
// lookup at _validation-persist.<ADN>, through a fresh resolver session (no cache shared with
// any other validation, BR §3.2.2.9); CNAMEs are followed by the resolver, and a bogus answer
// anywhere on the chain is an error, never data (draft §7.8.1). Every value is then judged by
// the pure evaluator (internal/persist_record.h):
//
//   - the value must follow the RFC 8659 §4.2 issue-value grammar; its issuer-domain-name must
//     be one of the CA's (records naming other CAs are ignored, draft §4.3.2);
//   - accounturi must name the requesting account: exactly its URL (BR item 3, draft-01), or
//     when the CA is configured with an accountHashPrefix, the draft-02 hashed URI;
//   - persistUntil, when present, must not have passed at the time of the check (BR, wall
//     clock from deps.clock);
//   - a wildcard certificate, or a name below the ADN, needs policy=wildcard (draft §5, §6);
//   - a parameter given twice, a missing accounturi or a non-integer persistUntil make the
//     record malformed; unknown parameters are ignored.
// Any one record that satisfies all of this validates (draft §4.3.2 step 3).
//
// Problem types:
//   bad identifier, ADN, issuer names, account  -> malformed / rejectedIdentifier (no query)
//   lookup error (SERVFAIL, bogus, timeout, ...) -> dns (cancelled stays serverInternal)
//   NXDOMAIN or no TXT record                    -> unauthorized
//   records for this CA, all malformed           -> malformed (draft §9.3.1)
//   anything else that does not validate         -> unauthorized, saying what was found
#include "checks/dns_persist01.h"

#include <memory>

#include "checks/dns01.h"
#include "checks/internal/dns_txt.h"
#include "checks/internal/persist_record.h"
#include "common/dns_name.h"

namespace mpic::checks {
namespace {

// draft §3.1: a challenge carries 1 to 10 issuer domain names.
constexpr size_t kMaxIssuerDomains = 10;
// A bound on the hashed-URI computations one check may do (draft-02 §9.3.1 warns about
// accounts with long key histories): two digests per thumbprint per record.
constexpr size_t kMaxThumbprints = 32;
constexpr size_t kThumbprintLength = 43;  // unpadded base64url of a SHA-256 digest

struct PersistRun {
  CheckResult result;
  internal::PersistPolicy policy;
  std::unique_ptr<resolver::Session> session;
};

bool IsBase64Url(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Checks the request and builds the policy; fails before any query.
Result<internal::PersistPolicy> MakePolicy(const CheckRequest& request) {
  internal::PersistPolicy policy;
  auto requested = DnsChallengeBase(request.identifier);
  if (!requested) return tl::unexpected(requested.error());
  policy.requested_fqdn = *requested;
  policy.wildcard = request.wildcard || std::string_view(request.identifier).starts_with("*.");
  if (request.persist_domain.empty()) {
    policy.validated_fqdn = policy.requested_fqdn;
  } else {
    auto adn = NormalizeHostname(request.persist_domain);
    if (!adn) {
      return Fail(ProblemType::kMalformed, "persist domain: " + adn.error().detail);
    }
    if (!internal::PersistScopeCovers(*adn, policy.requested_fqdn)) {
      return Fail(ProblemType::kMalformed, "persist domain " + *adn + " is neither " +
                                               policy.requested_fqdn + " nor a parent of it");
    }
    policy.validated_fqdn = *adn;
  }
  if (request.caa_issuer_domains.empty() || request.caa_issuer_domains.size() > kMaxIssuerDomains) {
    return Fail(ProblemType::kMalformed,
                "dns-persist-01 needs 1 to 10 issuer domain names (draft §3.1), got " +
                    std::to_string(request.caa_issuer_domains.size()));
  }
  for (const auto& issuer : request.caa_issuer_domains) {
    std::string_view d = issuer;
    if (d.ends_with('.')) d.remove_suffix(1);
    auto n = NormalizeHostname(d);
    if (!n) return Fail(ProblemType::kMalformed, "issuer domain name: " + n.error().detail);
    policy.issuer_domains.push_back(*n);
  }
  if (request.account_uri.empty()) {
    return Fail(ProblemType::kMalformed,
                "dns-persist-01 needs the requesting account's URI (accounturi is matched "
                "against it)");
  }
  policy.account_uri = request.account_uri;
  if (!request.account_hash_prefix.empty()) {
    if (request.account_key_thumbprints.empty() ||
        request.account_key_thumbprints.size() > kMaxThumbprints) {
      return Fail(ProblemType::kMalformed,
                  "a hashed accounturi needs 1 to 32 account key thumbprints, got " +
                      std::to_string(request.account_key_thumbprints.size()));
    }
    for (const auto& t : request.account_key_thumbprints) {
      if (t.size() != kThumbprintLength || !IsBase64Url(t)) {
        return Fail(ProblemType::kMalformed,
                    "an account key thumbprint must be 43 base64url characters (RFC 7638 "
                    "SHA-256, unpadded)");
      }
    }
    policy.account_hash_prefix = request.account_hash_prefix;
    policy.account_key_thumbprints = request.account_key_thumbprints;
  }
  return policy;
}

void Finish(resolver::LookupResult lookup, const std::string& name, const TimeSource& clock,
            PersistRun* run) {
  CheckResult* result = &run->result;
  if (!TxtRecordsFound(lookup, name, result)) return;
  std::vector<std::string> values;
  size_t unreadable = 0;
  for (const auto& rr : lookup->records) {
    auto value = internal::TxtRecordValue(rr.rdata);
    if (!value) {
      ++unreadable;
      continue;
    }
    values.push_back(std::move(*value));
  }
  run->policy.now_unix =
      std::chrono::duration_cast<std::chrono::seconds>(clock.WallNow().time_since_epoch()).count();
  auto decision = internal::EvaluatePersistValues(values, run->policy);
  for (auto& r : decision.records) {
    result->evidence.txt_values.push_back(r.value);
    result->evidence.persist_records.push_back(PersistRecordEvidence{
        std::move(r.value), std::string(internal::PersistVerdictName(r.verdict)),
        std::move(r.reason)});
  }
  if (decision.authorized) {
    result->valid = true;
    result->evidence.persist_accounturi = decision.accounturi;
    result->evidence.persist_until = decision.persist_until;
    return;
  }
  std::string detail = "No _validation-persist record at " + name +
                       " authorizes this CA for the requesting account: " + decision.reason;
  if (unreadable > 0) {
    detail += " (" + std::to_string(unreadable) + " unreadable record(s) ignored)";
  }
  result->problem = Error{decision.problem, std::move(detail)};
}

}  // namespace

void RunDnsPersist01(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
                     std::function<void(CheckResult)> done) {
  auto run = std::make_shared<PersistRun>();
  run->result.method = Method::kDnsPersist01;
  run->result.identifier = request.identifier;

  auto fail_early = [&](Error error) {
    run->result.problem = std::move(error);
    asio::post(executor, [run, done = std::move(done)]() mutable { done(std::move(run->result)); });
  };
  auto policy = MakePolicy(request);
  if (!policy) return fail_early(policy.error());
  run->policy = std::move(*policy);
  std::string name = std::string(internal::kPersistLabel) + "." + run->policy.validated_fqdn;
  if (auto n = NormalizeDnsName(name); !n) {
    return fail_early(
        Error{ProblemType::kRejectedIdentifier,
              "name too long for a dns-persist-01 validation name: " + n.error().detail});
  }

  run->session = deps.resolver.NewSession();
  // The resolver ends the lookup by the deadline (timeout error) and calls back exactly once,
  // on the executor; the session is released after the callback returns.
  const TimeSource* clock = &deps.clock;
  auto* session = run->session.get();
  session->Lookup(
      name, dns::kTxt, request.deadline,
      [run, name, clock, done = std::move(done), executor](resolver::LookupResult lookup) mutable {
        Finish(std::move(lookup), name, *clock, run.get());
        // Never destroy a session from inside its own callback.
        asio::post(executor, [session = std::move(run->session)] {});
        done(std::move(run->result));
      });
}

}  // namespace mpic::checks
