#include "resolver/internal/answer.h"

#include <string>

namespace mpic::resolver::internal {
namespace {

std::string Query(std::string_view name, uint16_t type) {
  return std::string(name) + "/" + dns::RrTypeName(type);
}

}  // namespace

}  // namespace mpic::resolver::internal

namespace mpic::resolver {

std::string_view DnssecStatusName(DnssecStatus status) {
  switch (status) {
    case DnssecStatus::kSecure:
      return "secure";
    case DnssecStatus::kInsecure:
      return "insecure";
    case DnssecStatus::kBogus:
      return "bogus";
  }
  return "bogus";
}

}  // namespace mpic::resolver

namespace mpic::resolver::internal {

Status FillFromPacket(std::span<const uint8_t> packet, Answer* answer) {
  answer->canonical_name = answer->name;
  if (packet.empty()) return {};
  auto msg = dns::ParseMessage(packet);
  if (!msg) return tl::unexpected(msg.error());
  answer->rcode = msg->rcode;
  std::vector<std::string> chain;
  auto canonical = dns::FollowCnames(msg->answers, answer->name, &chain);
  if (!canonical) return tl::unexpected(canonical.error());
  answer->cname_chain = std::move(chain);
  answer->canonical_name = *canonical;
  answer->records.clear();
  for (auto& rr : msg->answers) {
    if (rr.type == answer->type && rr.name == answer->canonical_name) {
      answer->records.push_back(std::move(rr));
    }
  }
  return {};
}

LookupResult Classify(Answer answer) {
  const std::string query = Query(answer.name, answer.type);
  if (answer.dnssec == DnssecStatus::kBogus) {
    std::string detail = "DNSSEC validation failed (bogus) for " + query;
    if (!answer.why_bogus.empty()) detail += ": " + answer.why_bogus;
    return tl::unexpected(LookupError{Error{ProblemType::kDns, detail}, std::move(answer)});
  }
  if (answer.rcode != dns::kNoError && answer.rcode != dns::kNxDomain) {
    std::string detail = dns::RcodeName(answer.rcode) + " looking up " + query;
    return tl::unexpected(LookupError{Error{ProblemType::kDns, detail}, std::move(answer)});
  }
  return answer;
}

LookupError TimeoutError(std::string_view name, uint16_t type,
                         std::chrono::microseconds elapsed) {
  return LookupError{
      Error{ProblemType::kDns, "DNS lookup of " + Query(name, type) + " timed out after " +
                                   std::to_string(elapsed.count() / 1000) + " ms"},
      std::nullopt, true};
}

LookupError CancelledError(std::string_view name, uint16_t type) {
  return LookupError{
      Error{ProblemType::kServerInternal, "DNS lookup of " + Query(name, type) + " cancelled"},
      std::nullopt, false};
}

}  // namespace mpic::resolver::internal

