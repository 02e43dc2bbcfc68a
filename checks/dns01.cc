// DNS-01 (RFC 8555 §8.4): one DNSSEC-validated TXT lookup at _acme-challenge.<identifier>,
// through a fresh resolver session (no cache shared with any other validation, BR §3.2.2.9).
// The lookup and comparison (RunTxtDigestCheck) also serve dns-account-01 (dns_account01.cc),
// which differs only in the name it queries.
//
// Problem types:
//   bad identifier or key authorization      -> malformed / rejectedIdentifier (before any query)
//   lookup error: SERVFAIL, bogus, timeout,
//   CNAME loop, unreadable answer            -> dns (the resolver's error; cancelled stays
//                                               serverInternal)
//   NXDOMAIN or no TXT record                -> unauthorized
//   TXT values, none equal to the expected   -> unauthorized (how many were seen)
#include "checks/dns01.h"

#include <memory>

#include "checks/internal/dns_lookup.h"
#include "checks/internal/dns_txt.h"
#include "checks/key_authorization.h"
#include "common/dns_name.h"

namespace mpic::checks {
namespace {

// RFC 8555 §8.4: the validation domain name is the identifier with this label prepended.
constexpr std::string_view kChallengeLabel = "_acme-challenge.";
// How much of a wrong value a problem detail quotes; the evidence has every value in full.
constexpr size_t kShownValueOctets = 64;

// The name to query, or the reason there is none.
Result<std::string> ChallengeName(std::string_view identifier) {
  auto host = DnsChallengeBase(identifier);
  if (!host) return tl::unexpected(host.error());
  std::string name = std::string(kChallengeLabel) + *host;
  if (auto n = NormalizeDnsName(name); !n) {
    return Fail(ProblemType::kRejectedIdentifier,
                "identifier too long for a DNS-01 validation name: " + n.error().detail);
  }
  return name;
}

struct Dns01Run {
  CheckResult result;
  std::unique_ptr<resolver::Session> session;
};

void Finish(resolver::LookupResult lookup, const std::string& name, const std::string& expected,
            CheckResult* result) {
  if (!TxtRecordsFound(lookup, name, result)) return;
  std::vector<std::vector<uint8_t>> rdatas;
  rdatas.reserve(lookup->records.size());
  for (const auto& rr : lookup->records) rdatas.push_back(rr.rdata);
  auto cmp = internal::CompareDns01Txt(rdatas, expected);
  result->evidence.txt_values = cmp.values;
  if (cmp.matched) {
    result->valid = true;
    return;
  }
  std::string detail;
  if (cmp.values.empty()) {
    detail = "No readable TXT record found at " + name;
  } else {
    size_t n = cmp.values.size();
    std::string first;
    for (const auto& rdata : rdatas) {
      if (auto v = internal::TxtRecordValue(rdata)) {
        first = internal::EscapeOctets(*v, kShownValueOctets);
        break;
      }
    }
    detail = "Incorrect TXT record \"" + first + "\"";
    if (n > 1) detail += " (and " + std::to_string(n - 1) + " more)";
    detail += " found at " + name + ": " + std::to_string(n) + " value" + (n > 1 ? "s" : "") +
              " seen, none matches the key authorization digest";
  }
  if (cmp.malformed > 0) {
    detail += " (" + std::to_string(cmp.malformed) + " unreadable record(s) ignored)";
  }
  result->problem = Error{ProblemType::kUnauthorized, detail};
}

}  // namespace

bool TxtRecordsFound(const resolver::LookupResult& lookup, const std::string& name,
                     CheckResult* result) {
  RecordLookup(lookup, Fqdn(name), dns::kTxt, &result->evidence);
  if (!lookup) {
    const auto& e = lookup.error().error;
    result->problem = Error{e.type, "DNS problem: " + e.detail};
    return false;
  }
  if (lookup->nxdomain() || lookup->records.empty()) {
    result->problem = Error{ProblemType::kUnauthorized, "No TXT record found at " + name};
    return false;
  }
  return true;
}

Result<std::string> DnsChallengeBase(std::string_view identifier) {
  // A wildcard identifier ("*.example.com") is validated at the base domain (RFC 8555
  // §7.1.3, §8.4).
  if (identifier.starts_with("*.")) identifier.remove_prefix(2);
  return NormalizeHostname(identifier);
}

void RunTxtDigestCheck(asio::any_io_executor executor, CheckDeps deps, Method method,
                       std::string identifier, std::string validation_name,
                       std::string_view key_authorization, Deadline deadline,
                       std::function<void(CheckResult)> done) {
  RunTxtValueCheck(std::move(executor), deps, method, std::move(identifier),
                   std::move(validation_name), Dns01TxtValue(key_authorization), deadline,
                   std::move(done));
}

void RunTxtValueCheck(asio::any_io_executor executor, CheckDeps deps, Method method,
                      std::string identifier, std::string validation_name, std::string expected,
                      Deadline deadline, std::function<void(CheckResult)> done) {
  auto run = std::make_shared<Dns01Run>();
  run->result.method = method;
  run->result.identifier = std::move(identifier);

  run->session = deps.resolver.NewSession();
  // The resolver ends the lookup by the deadline (timeout error) and calls back exactly once,
  // on the executor; the session is released after the callback returns.
  auto* session = run->session.get();
  session->Lookup(validation_name, dns::kTxt, deadline,
                  [run, name = validation_name, expected = std::move(expected),
                   done = std::move(done), executor](resolver::LookupResult lookup) mutable {
                    Finish(std::move(lookup), name, expected, &run->result);
                    // Never destroy a session from inside its own callback.
                    asio::post(executor, [session = std::move(run->session)] {});
                    done(std::move(run->result));
                  });
}

void RunDns01(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
              std::function<void(CheckResult)> done) {
  auto fail_early = [&](Error error) {
    internal::FailBeforeQuery(std::move(executor), Method::kDns01, request.identifier,
                              std::move(error), std::move(done));
  };
  auto name = ChallengeName(request.identifier);
  if (!name) return fail_early(name.error());
  // Open MPIC's key_authorization_hash: the digest itself, so the expected TXT value is its
  // base64url form (RFC 8555 §8.4).
  if (request.key_authorization.empty() && request.key_authorization_sha256) {
    return RunTxtValueCheck(std::move(executor), deps, Method::kDns01, request.identifier,
                            std::move(*name), Base64UrlNoPad(*request.key_authorization_sha256),
                            request.deadline, std::move(done));
  }
  if (auto st = ValidateKeyAuthorization(request.key_authorization); !st) {
    return fail_early(st.error());
  }
  RunTxtDigestCheck(std::move(executor), deps, Method::kDns01, request.identifier, std::move(*name),
                    request.key_authorization, request.deadline, std::move(done));
}

}  // namespace mpic::checks
