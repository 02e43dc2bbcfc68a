// DNS wire format (RFC 1035 §4) to data: a strict, bounds-checked message parser and the
// presentation format of the record types mpic reads (RFC 1035 §5, RFC 3597 for the rest).
// Pure functions; fuzzed by tests/fuzz.
//
//   auto msg = mpic::dns::ParseMessage(packet);
//   if (msg) for (const auto& rr : msg->answers) puts(mpic::dns::ToPresentation(rr).c_str());
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace mpic::dns {

// RR types (IANA registry) that mpic names; any other value is still carried as a number.
enum RrType : uint16_t {
  kA = 1,
  kNs = 2,
  kCname = 5,
  kSoa = 6,
  kPtr = 12,
  kMx = 15,
  kTxt = 16,
  kAaaa = 28,
  kSrv = 33,
  kDname = 39,
  kOpt = 41,
  kDs = 43,
  kRrsig = 46,
  kNsec = 47,
  kDnskey = 48,
  kNsec3 = 50,
  kCaa = 257,
};

enum Rcode : uint16_t {
  kNoError = 0,
  kFormErr = 1,
  kServFail = 2,
  kNxDomain = 3,
  kNotImp = 4,
  kRefused = 5,
};

// "A" -> 1, "TYPE65" -> 65; case-insensitive. nullopt when unknown.
[[nodiscard]] std::optional<uint16_t> ParseRrType(std::string_view text);
// 1 -> "A", 65 -> "TYPE65" (RFC 3597 §5).
[[nodiscard]] std::string RrTypeName(uint16_t type);
// 0 -> "NOERROR", 3 -> "NXDOMAIN", 99 -> "RCODE99".
[[nodiscard]] std::string RcodeName(uint16_t rcode);

struct Record {
  std::string name;  // owner, lower-case, with trailing dot ("." for the root)
  uint16_t type = 0;
  uint16_t klass = 1;
  uint32_t ttl = 0;
  std::vector<uint8_t> rdata;  // uncompressed: names inside rdata are expanded
  std::string rdata_text;      // presentation form of rdata
};

struct Message {
  uint16_t id = 0;
  uint16_t rcode = 0;
  bool qr = false, aa = false, tc = false, rd = false, ra = false, ad = false, cd = false;
  std::string qname;  // with trailing dot
  uint16_t qtype = 0;
  std::vector<Record> answers;
  std::vector<Record> authority;
};

// Parses a whole message; every length and pointer is checked, compression loops rejected.
[[nodiscard]] Result<Message> ParseMessage(std::span<const uint8_t> packet);

// "www.example. 300 IN A 192.0.2.1"
[[nodiscard]] std::string ToPresentation(const Record& rr);

// Follows the CNAME chain from `qname` through `answers` (RFC 1034 §3.6.2). `chain` receives
// each name that was an alias, in order; the canonical name is returned. Loops and chains
// longer than `max_hops` are reported as errors.
[[nodiscard]] Result<std::string> FollowCnames(const std::vector<Record>& answers,
                                               std::string_view qname,
                                               std::vector<std::string>* chain,
                                               size_t max_hops = 16);

// Builds a query: RD set, AD set (RFC 6840 §5.7 asks a validating resolver to report it), and
// an OPT record with the DO bit when `dnssec_ok` (RFC 3225). `name` is a normalized name.
[[nodiscard]] Result<std::vector<uint8_t>> BuildQuery(uint16_t id, std::string_view name,
                                                      uint16_t type, bool dnssec_ok);

// TXT rdata as its character-strings (RFC 1035 §3.3.14), raw bytes.
[[nodiscard]] Result<std::vector<std::string>> TxtStrings(std::span<const uint8_t> rdata);

}  // namespace mpic::dns
