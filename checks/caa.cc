// CAA (RFC 8659, RFC 8657; BR §3.2.2.8; RFC 9495 `issuemail` for S/MIME): find the Relevant RRset by climbing from the FQDN
// toward the TLD, then ask the pure evaluator (internal/caa_eval.h) whether it lets this CA
// issue.
//
// Tree climbing (RFC 8659 §3): the names are the FQDN and each parent up to and including the
// TLD (the strictest deployed VA queries the TLD too; the root never), looked up one after
// the other in one fresh resolver session; the first name with a CAA RRset is where the
// Relevant RRset lives. Sequential on purpose: the evidence is then exactly the lookups that
// decided, the same at every perspective, and the later lookups hit the session's cache of
// delegations. The resolver follows CNAMEs, so an alias whose target has CAA records has
// them; without records the climb goes on from the alias's own parent (RFC 8659 §3, not the
// target's).
//
// Problem types:
//   IP identifier, bad name                 -> rejectedIdentifier / malformed (no query)
//   lookup failure (SERVFAIL, bogus, timeout, truncated or unreadable answer) at a name at or
//   below the first name with records       -> dns: issuance is denied. A failure is never
//                                              permission (BR §3.2.2.8 allows it only for a
//                                              proven-Insecure domain after retries; the safe
//                                              default is to deny).
//   the Relevant RRset does not authorize   -> caa
// No CAA RRset anywhere up to the TLD: valid (RFC 8659 §3: no restriction).
// S/MIME (request.caa_smime): the same climb from the email addresses' domain part (RFC 9495
// §4 uses RFC 8659 §3's algorithm); only `issuemail` then governs (internal/caa_eval.h).
#include "checks/caa.h"

#include <memory>

#include "checks/internal/caa_eval.h"
#include "common/dns_name.h"

namespace mpic::checks {
namespace {

struct ClimbRun {
  asio::any_io_executor executor;
  std::function<void(CaaClimbResult)> done;
  CaaClimbResult result;
  Deadline deadline;
  std::unique_ptr<resolver::Session> session;
  std::vector<std::string> names;  // normalized, the FQDN first, the TLD last
  size_t next = 0;                 // index of the name being looked up
};

// The names RFC 8659 §3 climbs through, FQDN first, TLD last, the root excluded.
std::vector<std::string> ClimbNames(const std::string& fqdn) {
  std::vector<std::string> names;
  std::string_view rest = fqdn;
  while (!rest.empty()) {
    names.emplace_back(rest);
    size_t dot = rest.find('.');
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  return names;
}

void Deliver(const std::shared_ptr<ClimbRun>& run) {
  // The session goes away after this handler, never from inside its own callback.
  asio::post(run->executor, [session = std::move(run->session)] {});
  run->done(std::move(run->result));
}

void LookupNext(const std::shared_ptr<ClimbRun>& run);

// One name's answer: a failure ends the climb, a CAA RRset is the Relevant RRset, anything
// else climbs on.
void OnLookup(const std::shared_ptr<ClimbRun>& run, resolver::LookupResult lookup) {
  const std::string& name = run->names[run->next];
  Evidence evidence;
  RecordLookup(lookup, Fqdn(name), dns::kCaa, &evidence);
  for (auto& l : evidence.lookups) run->result.lookups.push_back(std::move(l));
  if (!lookup) {
    const auto& e = lookup.error().error;
    // A cancelled lookup (serverInternal) is our fault, not the domain's; all else is dns.
    run->result.error = Error{
        e.type == ProblemType::kServerInternal ? ProblemType::kServerInternal : ProblemType::kDns,
        e.detail};
    run->result.failed_name = name;
    return Deliver(run);
  }
  if (lookup->records.empty()) {  // NXDOMAIN or no CAA here: climb (RFC 8659 §3)
    ++run->next;
    return LookupNext(run);
  }
  run->result.owner = name;
  run->result.records = std::move(lookup->records);
  Deliver(run);
}

void LookupNext(const std::shared_ptr<ClimbRun>& run) {
  if (run->next >= run->names.size()) return Deliver(run);  // no CAA RRset up to the TLD
  // The resolver ends the lookup by the deadline (timeout error) and calls back exactly once,
  // on the executor. The session is shared by the climb, so delegations learned low in the
  // tree serve the lookups above (it is still this validation's own, fresh state).
  run->session->Lookup(run->names[run->next], dns::kCaa, run->deadline,
                       [run](resolver::LookupResult lookup) { OnLookup(run, std::move(lookup)); });
}

}  // namespace

void ClimbCaa(asio::any_io_executor executor, resolver::Resolver& resolver, std::string fqdn,
              Deadline deadline, std::function<void(CaaClimbResult)> done) {
  auto run = std::make_shared<ClimbRun>();
  run->executor = executor;
  run->done = std::move(done);
  run->deadline = deadline;
  run->names = ClimbNames(fqdn);
  run->session = resolver.NewSession();
  LookupNext(run);
}

void RunCaa(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
            std::function<void(CheckResult)> done) {
  CheckResult result;
  result.method = Method::kCaa;
  result.identifier = request.identifier;

  auto fail_early = [&](Error error) {
    result.problem = std::move(error);
    asio::post(executor, [result = std::move(result), done = std::move(done)]() mutable {
      done(std::move(result));
    });
  };

  std::string_view identifier = request.identifier;
  bool wildcard = request.wildcard;
  // RFC 8659 §3: the Relevant RRset of a Wildcard Domain Name is searched from the name with
  // the "*" label removed.
  if (identifier.starts_with("*.")) {
    identifier.remove_prefix(2);
    wildcard = true;
  }
  if (wildcard && request.caa_smime) {
    return fail_early(Error{ProblemType::kMalformed,
                            "an S/MIME certificate certifies email addresses, which have no "
                            "wildcard form (RFC 9495)"});
  }
  boost::system::error_code ec;
  asio::ip::make_address(std::string(identifier), ec);
  if (!ec) {
    return fail_early(Error{ProblemType::kRejectedIdentifier,
                            "CAA is defined for domain names only (RFC 8659 §3), not for the IP "
                            "address " +
                                std::string(identifier)});
  }
  auto host = NormalizeHostname(identifier);
  if (!host) return fail_early(host.error());

  internal::CaaPolicy policy;
  policy.issuer_domains = request.caa_issuer_domains;
  policy.account_uri = request.account_uri;
  policy.validation_method = request.caa_validation_method;
  policy.wildcard = wildcard;
  policy.smime = request.caa_smime;
  ClimbCaa(executor, deps.resolver, *host, request.deadline,
           [result = std::move(result), policy = std::move(policy),
            done = std::move(done)](CaaClimbResult climb) mutable {
             result.evidence.lookups = std::move(climb.lookups);
             if (climb.error) {
               result.problem =
                   Error{climb.error->type, "CAA lookup for " + climb.failed_name +
                                                " failed, so issuance is not permitted (RFC 8659 "
                                                "§3): " +
                                                climb.error->detail};
               return done(std::move(result));
             }
             if (climb.owner.empty()) {
               // Every name up to the TLD answered without a CAA RRset: no restriction.
               result.valid = true;
               return done(std::move(result));
             }
             result.evidence.caa_name = Fqdn(climb.owner);
             std::vector<std::vector<uint8_t>> rdatas;
             for (const auto& rr : climb.records) {
               result.evidence.caa_records.push_back(dns::ToPresentation(rr));
               rdatas.push_back(rr.rdata);
             }
             internal::CaaDecision decision = internal::EvaluateCaaRdata(rdatas, policy);
             if (decision.permitted) {
               result.valid = true;
             } else {
               result.problem = Error{ProblemType::kCaa, "CAA record for " + climb.owner +
                                                             " prevents issuance: " +
                                                             decision.reason};
             }
             done(std::move(result));
           });
}

}  // namespace mpic::checks
