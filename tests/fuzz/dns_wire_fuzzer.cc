// Fuzzes the DNS message parser and presentation (common/dns_wire.h): any packet. Invariants:
// no crash; records present as valid JSON text; a CNAME walk over the answers terminates.
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "common/dns_wire.h"
#include "tests/fuzz/fuzz_input.h"

using mpic::fuzz::Require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> packet(data, size);
  auto msg = mpic::dns::ParseMessage(packet);
  if (msg) {
    std::vector<std::string> shown;
    for (const auto* section : {&msg->answers, &msg->authority}) {
      for (const auto& rr : *section) {
        shown.push_back(mpic::dns::ToPresentation(rr));
        Require(!rr.name.empty() && rr.name.back() == '.');
      }
    }
    Require(!nlohmann::json(shown).dump().empty());
    std::vector<std::string> chain;
    auto canonical = mpic::dns::FollowCnames(msg->answers, msg->qname, &chain);
    if (canonical) Require(chain.size() <= 16);
    (void)mpic::dns::RrTypeName(msg->qtype);
    (void)mpic::dns::RcodeName(msg->rcode);
  }
  // The same bytes as TXT rdata.
  if (auto strings = mpic::dns::TxtStrings(packet)) {
    size_t total = 0;
    for (const auto& s : *strings) total += s.size() + 1;
    Require(total == size);
  }
  return 0;
}
