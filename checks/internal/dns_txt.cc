#include "checks/internal/dns_txt.h"

#include "common/dns_wire.h"

namespace mpic::checks::internal {

std::string EscapeOctets(std::string_view raw, size_t max_octets) {
  std::string out;
  const bool cut = raw.size() > max_octets;
  if (cut) raw = raw.substr(0, max_octets);
  out.reserve(raw.size() + 8);
  for (char c : raw) {
    auto b = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (b >= 0x20 && b < 0x7f) {
      out += c;
    } else {
      // RFC 1035 §5.1: \DDD, three decimal digits.
      out += '\\';
      out += static_cast<char>('0' + b / 100);
      out += static_cast<char>('0' + (b / 10) % 10);
      out += static_cast<char>('0' + b % 10);
    }
  }
  if (cut) out += "...";
  return out;
}

Result<std::string> TxtRecordValue(std::span<const uint8_t> rdata) {
  auto strings = dns::TxtStrings(rdata);
  if (!strings) return tl::unexpected(strings.error());
  std::string value;
  for (const auto& s : *strings) value += s;
  return value;
}

Dns01TxtComparison CompareDns01Txt(std::span<const std::vector<uint8_t>> rdatas,
                                   std::string_view expected) {
  Dns01TxtComparison out;
  for (const auto& rdata : rdatas) {
    auto value = TxtRecordValue(rdata);
    if (!value) {
      ++out.malformed;
      continue;
    }
    if (*value == expected) out.matched = true;
    out.values.push_back(EscapeOctets(*value));
  }
  return out;
}

}  // namespace mpic::checks::internal
