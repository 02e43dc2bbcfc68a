#include "checks/internal/dns_txt.h"

#include "checks/internal/dns_text.h"
#include "common/dns_wire.h"

namespace mpic::checks::internal {

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
