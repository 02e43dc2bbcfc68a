// Reverse address lookup (BR §3.2.2.5.3): one DNSSEC-validated PTR lookup of the identifier's
// reverse name (RFC 1035 §3.5 "d.c.b.a.in-addr.arpa", RFC 3596 §2.5 nibbles under "ip6.arpa")
// through a fresh resolver session (BR §3.2.2.9); valid when one PTR target is the domain name
// in challenge_value (compared as names: ASCII case-insensitive, the trailing dot ignored; no
// substring matching, a name is a name). The BR method then requires the CA to validate control
// of that domain name by a §3.2.2.4 method; this check is the lookup half, done from every
// perspective. The resolver follows a CNAME at the reverse name (RFC 2317 classless
// delegation); the chain and the DNSSEC status are in the evidence.
//
// Problem types:
//   identifier not an IP address, bad name -> malformed (no query)
//   lookup error (SERVFAIL, bogus, timeout) -> dns
//   NXDOMAIN, no PTR, other names           -> unauthorized
#include "checks/reverse_lookup.h"

#include "checks/internal/dcv_value.h"
#include "checks/internal/dns_lookup.h"
#include "checks/internal/web_common.h"
#include "common/dns_name.h"

namespace mpic::checks {

void RunReverseLookup(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
                      std::function<void(CheckResult)> done) {
  auto fail = [&](Error error) {
    internal::FailBeforeQuery(std::move(executor), Method::kReverseAddressLookup,
                              request.identifier, std::move(error), std::move(done));
  };
  boost::system::error_code ec;
  auto address = asio::ip::make_address(request.identifier, ec);
  if (ec || request.identifier.empty()) {
    return fail(Error{ProblemType::kMalformed,
                      "reverse-address-lookup validates an IP address, not \"" +
                          internal::PrintableText(request.identifier, 64) + "\""});
  }
  auto expected = NormalizeDnsName(request.challenge_value);
  if (!expected || expected->empty()) {
    return fail(Error{ProblemType::kMalformed,
                      "the challenge value must be the expected domain name: " +
                          (expected ? std::string("the root") : expected.error().detail)});
  }
  std::string name = internal::ReverseName(address);
  internal::RunSingleLookup(
      std::move(executor), deps, Method::kReverseAddressLookup, request.identifier, name,
      dns::kPtr, request.deadline,
      [expected = *expected, name](const resolver::Answer& answer, CheckResult* result) {
        size_t n = 0;
        for (const auto& rr : answer.records) {
          if (rr.type != dns::kPtr) continue;
          ++n;
          std::string target = internal::ComparableName(rr.rdata_text);
          if (target == expected) {
            result->valid = true;
            result->evidence.matched_value = internal::PrintableText(target);
            return;
          }
        }
        result->problem =
            Error{ProblemType::kUnauthorized,
                  n == 0 ? "No PTR record found at " + name
                         : std::to_string(n) + " PTR record(s) at " + name + ", none names " +
                               expected};
      },
      std::move(done));
}

}  // namespace mpic::checks
