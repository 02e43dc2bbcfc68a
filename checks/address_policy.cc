#include "checks/address_policy.h"

#include <array>
#include <charconv>
#include <cstdint>

namespace mpic::checks {
namespace {

// One row of the refusal table: the range, and what the registry calls it (for the detail).
struct Reserved {
  std::string_view cidr;
  std::string_view name;
};

// IANA IPv4 Special-Purpose Address Registry (RFC 6890, updated by RFC 8190), plus multicast
// (RFC 5771). Rows the registry marks "globally reachable" are not refused: 192.31.196.0/24
// (AS112-v4), 192.52.193.0/24 (AMT), 192.175.48.0/24 (AS112 direct delegation). The two
// globally reachable anycast /32s inside 192.0.0.0/24 (PCP 192.0.0.9, TURN 192.0.0.10) stay
// refused with their block: an anycast service address is answered by the NEAREST instance,
// which may be inside the CA's own network (the very thing this policy exists to prevent).
constexpr std::array<Reserved, 16> kReservedV4{{
    {"0.0.0.0/8", "\"this network\", RFC 791"},
    {"10.0.0.0/8", "private-use, RFC 1918"},
    {"100.64.0.0/10", "shared address space, RFC 6598"},
    {"127.0.0.0/8", "loopback, RFC 1122"},
    {"169.254.0.0/16", "link-local, RFC 3927"},
    {"172.16.0.0/12", "private-use, RFC 1918"},
    {"192.0.0.0/24", "IETF protocol assignments, RFC 6890"},
    {"192.0.2.0/24", "documentation (TEST-NET-1), RFC 5737"},
    {"192.88.99.0/24", "deprecated 6to4 relay anycast, RFC 7526"},
    {"192.168.0.0/16", "private-use, RFC 1918"},
    {"198.18.0.0/15", "benchmarking, RFC 2544"},
    {"198.51.100.0/24", "documentation (TEST-NET-2), RFC 5737"},
    {"203.0.113.0/24", "documentation (TEST-NET-3), RFC 5737"},
    {"224.0.0.0/4", "multicast, RFC 5771"},
    {"255.255.255.255/32", "limited broadcast, RFC 919"},
    {"240.0.0.0/4", "reserved, RFC 1112"},
}};

// Inside 2001::/23 (IETF protocol assignments, not globally reachable) the registry marks some
// more-specific rows globally reachable; those unicast prefixes are allowed. The anycast /128s
// (PCP 2001:1::1, TURN 2001:1::2, DNS-SD SRP 2001:1::3) are NOT carved out, for the reason
// given above for 192.0.0.9.
constexpr std::array<std::string_view, 4> kGloballyReachableIn2001{{
    "2001:3::/32",      // AMT, RFC 7450
    "2001:4:112::/48",  // AS112-v6, RFC 7535
    "2001:20::/28",     // ORCHIDv2, RFC 7343
    "2001:30::/28",     // Drone Remote ID DETs, RFC 9374
}};

// IANA IPv6 Special-Purpose Address Registry (RFC 6890 and later RFCs), then the IPv6 Address
// Space registry. Specific rows come first so that the detail names the most precise range;
// ::ffff:0:0/96 never reaches this table (it is judged as the embedded IPv4 address).
constexpr std::array<Reserved, 20> kReservedV6{{
    {"::/128", "unspecified address, RFC 4291"},
    {"::1/128", "loopback, RFC 4291"},
    {"64:ff9b::/96", "IPv4/IPv6 translation (NAT64 would reach the embedded IPv4), RFC 6052"},
    {"64:ff9b:1::/48", "local-use IPv4/IPv6 translation, RFC 8215"},
    {"100::/64", "discard-only, RFC 6666"},
    {"100:0:0:1::/64", "dummy prefix, RFC 9780"},
    {"2001::/32", "Teredo, RFC 4380"},
    {"2001:2::/48", "benchmarking, RFC 5180"},
    {"2001:10::/28", "deprecated ORCHID, RFC 4843"},
    {"2001::/23", "IETF protocol assignments, RFC 2928"},
    {"2001:db8::/32", "documentation, RFC 3849"},
    {"2002::/16", "6to4 (embeds an IPv4 address), RFC 3056"},
    {"3fff::/20", "documentation, RFC 9637"},
    {"5f00::/16", "SRv6 segment identifiers, RFC 9602"},
    {"fc00::/7", "unique-local, RFC 4193"},
    {"fe80::/10", "link-local, RFC 4291"},
    {"fec0::/10", "deprecated site-local, RFC 3879"},
    {"ff00::/8", "multicast, RFC 4291"},
    {"::/96", "deprecated IPv4-compatible, RFC 4291 §2.5.5.1"},
    {"::/8", "reserved by IETF, RFC 4291"},
}};

// Global unicast is 2000::/3 (RFC 4291 §2.4); the rest of the space is reserved or special.
constexpr std::string_view kGlobalUnicast = "2000::/3";

// The table entries are constants; parsing them cannot fail (the unit test proves it).
Cidr MustParse(std::string_view text) {
  auto cidr = Cidr::Parse(text);
  return cidr ? *cidr : Cidr{};
}

struct Tables {
  std::vector<std::pair<Cidr, std::string_view>> v4;
  std::vector<Cidr> v6_allowed;
  std::vector<std::pair<Cidr, std::string_view>> v6;
  Cidr global_unicast;
};

const Tables& GetTables() {
  static const Tables* tables = [] {
    auto* t = new Tables;
    for (const auto& r : kReservedV4) t->v4.emplace_back(MustParse(r.cidr), r.name);
    for (auto c : kGloballyReachableIn2001) t->v6_allowed.push_back(MustParse(c));
    for (const auto& r : kReservedV6) t->v6.emplace_back(MustParse(r.cidr), r.name);
    t->global_unicast = MustParse(kGlobalUnicast);
    return t;
  }();
  return *tables;
}

// Judges IPv4-mapped IPv6 (::ffff:a.b.c.d) as the IPv4 address it carries: a socket to it
// reaches that IPv4 host (RFC 4291 §2.5.5.2).
asio::ip::address Unmap(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}

template <size_t N>
bool PrefixMatches(const std::array<unsigned char, N>& a, const std::array<unsigned char, N>& b,
                   unsigned prefix) {
  unsigned full = prefix / 8;
  for (unsigned i = 0; i < full; ++i) {
    if (a[i] != b[i]) return false;
  }
  unsigned rest = prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

template <size_t N>
bool HostBitsZero(const std::array<unsigned char, N>& a, unsigned prefix) {
  for (unsigned bit = prefix; bit < N * 8; ++bit) {
    if (a[bit / 8] & (0x80 >> (bit % 8))) return false;
  }
  return true;
}

}  // namespace

Result<Cidr> Cidr::Parse(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Fail(ProblemType::kMalformed,
                "CIDR \"" + std::string(text) + "\" needs a prefix length (\"addr/len\")");
  }
  std::string addr_text(text.substr(0, slash));
  std::string_view len_text = text.substr(slash + 1);
  boost::system::error_code ec;
  auto network = asio::ip::make_address(addr_text, ec);
  if (ec || addr_text.find('%') != std::string::npos) {
    return Fail(ProblemType::kMalformed, "CIDR \"" + std::string(text) + "\": bad address");
  }
  unsigned prefix = 0;
  auto [end, err] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), prefix);
  unsigned max = network.is_v4() ? 32 : 128;
  if (len_text.empty() || err != std::errc() || end != len_text.data() + len_text.size() ||
      prefix > max || (len_text.size() > 1 && len_text[0] == '0')) {
    return Fail(ProblemType::kMalformed, "CIDR \"" + std::string(text) +
                                             "\": prefix length must be 0.." + std::to_string(max));
  }
  // Host bits set usually mean a typo in configuration ("10.0.0.1/8"); refuse rather than guess.
  bool zero = network.is_v4() ? HostBitsZero(network.to_v4().to_bytes(), prefix)
                              : HostBitsZero(network.to_v6().to_bytes(), prefix);
  if (!zero) {
    return Fail(ProblemType::kMalformed,
                "CIDR \"" + std::string(text) + "\": address has bits set beyond the prefix");
  }
  return Cidr{network, prefix};
}

bool Cidr::Contains(const asio::ip::address& address) const {
  if (address.is_v4() != network.is_v4()) return false;
  if (address.is_v4()) {
    return PrefixMatches(address.to_v4().to_bytes(), network.to_v4().to_bytes(), prefix);
  }
  return PrefixMatches(address.to_v6().to_bytes(), network.to_v6().to_bytes(), prefix);
}

std::string Cidr::ToString() const { return network.to_string() + "/" + std::to_string(prefix); }

Status AddressPolicy::AllowLabRange(std::string_view cidr) {
  auto parsed = Cidr::Parse(cidr);
  if (!parsed) return tl::unexpected(parsed.error());
  lab_ranges_.push_back(*parsed);
  return {};
}

std::string AddressPolicy::ReservedRange(const asio::ip::address& address) {
  const Tables& tables = GetTables();
  asio::ip::address a = Unmap(address);
  if (a.is_v4()) {
    for (const auto& [cidr, name] : tables.v4) {
      if (cidr.Contains(a)) return cidr.ToString() + " (" + std::string(name) + ")";
    }
    return "";
  }
  if (a.to_v6().scope_id() != 0) return "a scoped zone (zone index, RFC 4007)";
  for (const auto& cidr : tables.v6_allowed) {
    if (cidr.Contains(a)) return "";
  }
  for (const auto& [cidr, name] : tables.v6) {
    if (cidr.Contains(a)) return cidr.ToString() + " (" + std::string(name) + ")";
  }
  if (!tables.global_unicast.Contains(a)) {
    return "reserved space outside global unicast 2000::/3 (RFC 4291 §2.4)";
  }
  return "";
}

Status AddressPolicy::Check(const asio::ip::address& address) const {
  asio::ip::address a = Unmap(address);
  for (const auto& lab : lab_ranges_) {
    if (lab.Contains(a) || lab.Contains(address)) return {};
  }
  std::string range = ReservedRange(address);
  if (range.empty()) return {};
  return Fail(ProblemType::kConnection, "address " + address.to_string() + " is in " + range +
                                            ": not a public address, refused");
}

}  // namespace mpic::checks
