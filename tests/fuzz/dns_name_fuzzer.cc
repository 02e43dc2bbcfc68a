// Fuzzes name handling (common/dns_name.h). Invariants: no crash; a normalized name is within
// RFC 1035 limits, lower-case, has no trailing dot, and normalizes to itself (through Fqdn);
// every hostname is also a DNS name; Fqdn adds exactly the root dot; every "xn--" label of a
// hostname is an A-label whose Punycode round-trips; any Punycode that decodes re-encodes to
// something that decodes to the same code points.
#include <string>
#include <string_view>

#include "common/dns_name.h"
#include "tests/fuzz/fuzz_input.h"

using mpic::fuzz::Require;

namespace {

void CheckNormalized(const std::string& name) {
  Require(name.size() <= mpic::kMaxNameLength);
  Require(name.empty() || name.back() != '.');
  for (char c : name) Require(!(c >= 'A' && c <= 'Z'));
  size_t start = 0;
  while (!name.empty() && start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string::npos) end = name.size();
    Require(end > start && end - start <= mpic::kMaxLabelLength);
    start = end + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto dns_name = mpic::NormalizeDnsName(input);
  if (dns_name) {
    CheckNormalized(*dns_name);
    // The root comes back as "", which is not itself a name: round-trip through Fqdn.
    std::string fqdn = mpic::Fqdn(*dns_name);
    Require(fqdn.back() == '.' && fqdn.size() == dns_name->size() + 1);
    auto again = mpic::NormalizeDnsName(fqdn);
    Require(again.has_value() && *again == *dns_name);
  }
  auto host = mpic::NormalizeHostname(input);
  if (host) {
    CheckNormalized(*host);
    Require(!host->empty());
    Require(dns_name.has_value() && *dns_name == *host);
    auto again = mpic::NormalizeHostname(*host);
    Require(again.has_value() && *again == *host);
    size_t start = 0;
    while (start <= host->size()) {
      size_t end = host->find('.', start);
      if (end == std::string::npos) end = host->size();
      std::string_view label = std::string_view(*host).substr(start, end - start);
      if (label.starts_with("xn--")) {
        Require(mpic::CheckALabel(label).has_value());
        auto u = mpic::DecodePunycode(label.substr(4));
        Require(u.has_value());
        auto encoded = mpic::EncodePunycode(*u);
        Require(encoded.has_value() && *encoded == label.substr(4));
      }
      start = end + 1;
    }
  }
  // The input as the Punycode part of a label.
  if (auto u = mpic::DecodePunycode(input)) {
    auto encoded = mpic::EncodePunycode(*u);
    Require(encoded.has_value());
    auto decoded = mpic::DecodePunycode(*encoded);
    Require(decoded.has_value() && *decoded == *u);
    // An A-label is exactly an encoding that is the one encoding of what it decodes to.
    if (mpic::CheckALabel("xn--" + std::string(input)).has_value()) Require(*encoded == input);
  }
  return 0;
}
