// IP address (BR §3.2.2.4.8): one DNSSEC-validated A (or AAAA) lookup of the FQDN through a
// fresh resolver session (BR §3.2.2.9); valid when one of the addresses equals the address in
// challenge_value. The comparison is of addresses, not text ("2001:db8::1" equals
// "2001:DB8:0::1"). CNAMEs are followed by the resolver (the chain is in the evidence); a bogus
// answer is a dns problem. The record type is the address's family; a dns_record_type that
// contradicts it is malformed. This check only establishes that the name points at the
// address: that the Applicant controls the address is BR §3.2.2.5's separate validation.
//
// A wildcard identifier is looked up at its base name (the ADN).
//
// Problem types:
//   bad identifier, address or type        -> malformed / rejectedIdentifier (no query)
//   lookup error (SERVFAIL, bogus, timeout) -> dns
//   NXDOMAIN, no address, other addresses   -> unauthorized
#include "checks/ip_address.h"

#include "checks/dns01.h"
#include "checks/internal/dns_lookup.h"
#include "checks/internal/web_common.h"

namespace mpic::checks {

void RunIpAddress(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
                  std::function<void(CheckResult)> done) {
  auto fail = [&](Error error) {
    internal::FailBeforeQuery(std::move(executor), Method::kIpAddress, request.identifier,
                              std::move(error), std::move(done));
  };
  auto host = DnsChallengeBase(request.identifier);
  if (!host) return fail(host.error());
  boost::system::error_code ec;
  auto expected = asio::ip::make_address(request.challenge_value, ec);
  if (ec || request.challenge_value.empty()) {
    return fail(Error{ProblemType::kMalformed,
                      "ip-address needs an IPv4 or IPv6 address as the challenge value, not \"" +
                          internal::PrintableText(request.challenge_value, 64) + "\""});
  }
  if (expected.is_v6() && expected.to_v6().is_v4_mapped()) {
    expected = asio::ip::make_address_v4(asio::ip::v4_mapped, expected.to_v6());
  }
  uint16_t type = expected.is_v4() ? dns::kA : dns::kAaaa;
  if (!request.dns_record_type.empty() && request.dns_record_type != dns::RrTypeName(type)) {
    return fail(Error{ProblemType::kMalformed,
                      "dns_record_type \"" + internal::PrintableText(request.dns_record_type, 16) +
                          "\" does not fit the address " + expected.to_string() +
                          " (A for IPv4, AAAA for IPv6)"});
  }
  internal::RunSingleLookup(
      std::move(executor), deps, Method::kIpAddress, request.identifier, *host, type,
      request.deadline,
      [expected, host = *host, type](const resolver::Answer& answer, CheckResult* result) {
        for (const auto& rr : answer.records) {
          std::optional<asio::ip::address> got;
          if (rr.type == dns::kA && rr.rdata.size() == 4) {
            asio::ip::address_v4::bytes_type b;
            std::copy(rr.rdata.begin(), rr.rdata.end(), b.begin());
            got = asio::ip::address_v4(b);
          } else if (rr.type == dns::kAaaa && rr.rdata.size() == 16) {
            asio::ip::address_v6::bytes_type b;
            std::copy(rr.rdata.begin(), rr.rdata.end(), b.begin());
            got = asio::ip::address_v6(b);
          }
          if (!got) continue;
          result->evidence.addresses_resolved.push_back(got->to_string());
          if (*got == expected) {
            result->valid = true;
            result->evidence.matched_value = got->to_string();
            result->evidence.address_used = got->to_string();
          }
        }
        if (result->valid) return;
        const std::string t = dns::RrTypeName(type);
        std::string detail =
            result->evidence.addresses_resolved.empty()
                ? "No " + t + " record found at " + host
                : "The " + t + " records of " + host + " (" +
                      std::to_string(result->evidence.addresses_resolved.size()) +
                      ") do not include " + expected.to_string();
        result->problem = Error{ProblemType::kUnauthorized, std::move(detail)};
      },
      std::move(done));
}

}  // namespace mpic::checks
