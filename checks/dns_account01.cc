// dns-account-01 (draft-ietf-acme-dns-account-label-02 §3; BR §3.2.2.4.21): DNS-01 at an
// account-scoped name, so that several ACME accounts (or CAs, or environments) can each hold
// their own TXT record for one domain without overwriting each other:
//
//   _<base32(SHA-256(account URL)[0:10])>._acme-challenge.<domain>  TXT  <DNS-01 digest>
//
// The record's value, its comparison, CNAME following, DNSSEC handling, evidence and problem
// types are exactly DNS-01's (RunTxtDigestCheck in dns01.h); only the name differs. A wildcard
// identifier is validated at its base domain, as in DNS-01 (RFC 8555 §7.1.3).
#include "checks/dns_account01.h"

#include <array>

#include "checks/dns01.h"
#include "checks/internal/dns_lookup.h"
#include "checks/key_authorization.h"
#include "common/dns_name.h"

namespace mpic::checks {
namespace {

// draft §3.2: the 10 first octets of the digest, 80 bits = 16 base32 characters, no padding.
constexpr size_t kLabelDigestOctets = 10;

std::string Base32LowerNoPad(std::span<const uint8_t> in) {
  static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";  // RFC 4648 §6
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t b : in) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
  return out;
}

}  // namespace

std::string DnsAccountLabel(std::string_view account_uri) {
  auto digest = Sha256(account_uri);
  return "_" + Base32LowerNoPad(std::span<const uint8_t>(digest.data(), kLabelDigestOctets));
}

Result<std::string> DnsAccountValidationName(std::string_view identifier,
                                             std::string_view account_uri) {
  if (account_uri.empty()) {
    return Fail(ProblemType::kMalformed,
                "dns-account-01 needs the account URI (its label is derived from it)");
  }
  auto host = DnsChallengeBase(identifier);
  if (!host) return tl::unexpected(host.error());
  std::string name = DnsAccountLabel(account_uri) + "._acme-challenge." + *host;
  if (auto n = NormalizeDnsName(name); !n) {
    return Fail(ProblemType::kRejectedIdentifier,
                "identifier too long for a dns-account-01 validation name: " + n.error().detail);
  }
  return name;
}

void RunDnsAccount01(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
                     std::function<void(CheckResult)> done) {
  auto fail_early = [&](Error error) {
    internal::FailBeforeQuery(std::move(executor), Method::kDnsAccount01, request.identifier,
                              std::move(error), std::move(done));
  };
  auto name = DnsAccountValidationName(request.identifier, request.account_uri);
  if (!name) return fail_early(name.error());
  if (auto st = ValidateKeyAuthorization(request.key_authorization); !st) {
    return fail_early(st.error());
  }
  RunTxtDigestCheck(std::move(executor), deps, Method::kDnsAccount01, request.identifier,
                    std::move(*name), request.key_authorization, request.deadline, std::move(done));
}

}  // namespace mpic::checks
