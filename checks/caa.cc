// CAA (RFC 8659, RFC 8657; BR §3.2.2.8): find the Relevant RRset by climbing from the FQDN
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
#include "checks/caa.h"

#include <memory>

#include "checks/internal/caa_eval.h"
#include "common/dns_name.h"

namespace mpic::checks {
namespace {

struct CaaRun {
  asio::any_io_executor executor;
  std::function<void(CheckResult)> done;
  CheckResult result;
  internal::CaaPolicy policy;
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

void Deliver(const std::shared_ptr<CaaRun>& run) {
  // The session goes away after this handler, never from inside its own callback.
  asio::post(run->executor, [session = std::move(run->session)] {});
  run->done(std::move(run->result));
}

void LookupNext(const std::shared_ptr<CaaRun>& run);

// One name's answer: a failure denies, a CAA RRset decides, anything else climbs on.
void OnLookup(const std::shared_ptr<CaaRun>& run, resolver::LookupResult lookup) {
  const std::string& name = run->names[run->next];
  RecordLookup(lookup, Fqdn(name), dns::kCaa, &run->result.evidence);
  if (!lookup) {
    const auto& e = lookup.error().error;
    // A cancelled lookup (serverInternal) is our fault, not the domain's; all else is dns.
    run->result.problem = Error{
        e.type == ProblemType::kServerInternal ? ProblemType::kServerInternal : ProblemType::kDns,
        "CAA lookup for " + name +
            " failed, so issuance is not permitted (RFC 8659 §3): " + e.detail};
    return Deliver(run);
  }
  if (lookup->records.empty()) {  // NXDOMAIN or no CAA here: climb (RFC 8659 §3)
    ++run->next;
    return LookupNext(run);
  }
  run->result.evidence.caa_name = Fqdn(name);
  std::vector<std::vector<uint8_t>> rdatas;
  for (const auto& rr : lookup->records) {
    run->result.evidence.caa_records.push_back(dns::ToPresentation(rr));
    rdatas.push_back(rr.rdata);
  }
  internal::CaaDecision decision = internal::EvaluateCaaRdata(rdatas, run->policy);
  if (decision.permitted) {
    run->result.valid = true;
  } else {
    run->result.problem = Error{
        ProblemType::kCaa, "CAA record for " + name + " prevents issuance: " + decision.reason};
  }
  Deliver(run);
}

void LookupNext(const std::shared_ptr<CaaRun>& run) {
  if (run->next >= run->names.size()) {
    // Every name up to the TLD answered without a CAA RRset: nothing restricts issuance.
    run->result.valid = true;
    return Deliver(run);
  }
  // The resolver ends the lookup by the deadline (timeout error) and calls back exactly once,
  // on the executor. The session is shared by the climb, so delegations learned low in the
  // tree serve the lookups above (it is still this validation's own, fresh state).
  run->session->Lookup(run->names[run->next], dns::kCaa, run->deadline,
                       [run](resolver::LookupResult lookup) { OnLookup(run, std::move(lookup)); });
}

}  // namespace

void RunCaa(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
            std::function<void(CheckResult)> done) {
  auto run = std::make_shared<CaaRun>();
  run->executor = executor;
  run->done = std::move(done);
  run->result.method = Method::kCaa;
  run->result.identifier = request.identifier;

  auto fail_early = [&](Error error) {
    run->result.problem = std::move(error);
    asio::post(executor, [run] { run->done(std::move(run->result)); });
  };

  std::string_view identifier = request.identifier;
  bool wildcard = request.wildcard;
  // RFC 8659 §3: the Relevant RRset of a Wildcard Domain Name is searched from the name with
  // the "*" label removed.
  if (identifier.starts_with("*.")) {
    identifier.remove_prefix(2);
    wildcard = true;
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

  run->policy.issuer_domains = request.caa_issuer_domains;
  run->policy.account_uri = request.account_uri;
  run->policy.validation_method = request.caa_validation_method;
  run->policy.wildcard = wildcard;
  run->names = ClimbNames(*host);
  run->deadline = request.deadline;
  run->session = deps.resolver.NewSession();
  LookupNext(run);
}

}  // namespace mpic::checks
