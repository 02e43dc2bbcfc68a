// Which addresses a check may connect to. Reserved, private, loopback, link-local, multicast,
// documentation and other special-purpose ranges of both families are refused (IANA IPv4 and
// IPv6 Special-Purpose Address Registries, RFC 6890) when DNS answers are filtered AND again
// right before connecting. A lab mode allows named ranges (tests and netsim only; off by
// default).
//
//   AddressPolicy policy;                       // production: public addresses only
//   policy.AllowLabRange("127.0.0.0/8");        // lab: also these
//   if (auto st = policy.Check(addr); !st) ...  // st.error(): kConnection/kRejectedIdentifier
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/asio.h"
#include "common/error.h"

namespace mpic::checks {

struct Cidr {
  asio::ip::address network;
  unsigned prefix = 0;

  [[nodiscard]] static Result<Cidr> Parse(std::string_view text);
  [[nodiscard]] bool Contains(const asio::ip::address& address) const;
  [[nodiscard]] std::string ToString() const;
};

class AddressPolicy {
 public:
  // Adds a range that is allowed even though it is special-purpose (lab mode).
  [[nodiscard]] Status AllowLabRange(std::string_view cidr);
  [[nodiscard]] bool lab_mode() const { return !lab_ranges_.empty(); }

  // OK for a public unicast address (or one inside a lab range); otherwise an error whose
  // detail names the range that refused it. IPv4-mapped IPv6 addresses are judged as IPv4.
  [[nodiscard]] Status Check(const asio::ip::address& address) const;

  // The special-purpose range containing `address`, or "" when none does.
  [[nodiscard]] static std::string ReservedRange(const asio::ip::address& address);

 private:
  std::vector<Cidr> lab_ranges_;
};

}  // namespace mpic::checks
