#include "common/error.h"

#include <array>

namespace mpic {
namespace {

constexpr std::array<std::pair<ProblemType, std::string_view>, 10> kNames{{
    {ProblemType::kConnection, "connection"},
    {ProblemType::kDns, "dns"},
    {ProblemType::kUnauthorized, "unauthorized"},
    {ProblemType::kIncorrectResponse, "incorrectResponse"},
    {ProblemType::kTls, "tls"},
    {ProblemType::kCaa, "caa"},
    {ProblemType::kRejectedIdentifier, "rejectedIdentifier"},
    {ProblemType::kMalformed, "malformed"},
    {ProblemType::kServerInternal, "serverInternal"},
    {ProblemType::kRateLimited, "rateLimited"},
}};

constexpr std::string_view kUrnPrefix = "urn:ietf:params:acme:error:";

}  // namespace

std::string_view ProblemTypeName(ProblemType type) {
  for (const auto& [t, name] : kNames) {
    if (t == type) return name;
  }
  return "serverInternal";
}

std::string ProblemTypeUrn(ProblemType type) {
  return std::string(kUrnPrefix) + std::string(ProblemTypeName(type));
}

bool ParseProblemType(std::string_view text, ProblemType* out) {
  if (text.starts_with(kUrnPrefix)) text.remove_prefix(kUrnPrefix.size());
  for (const auto& [t, name] : kNames) {
    if (name == text) {
      *out = t;
      return true;
    }
  }
  return false;
}

}  // namespace mpic
