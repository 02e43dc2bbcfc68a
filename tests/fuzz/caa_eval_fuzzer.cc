// Fuzzes the CAA evaluator (checks/internal/caa_eval.h): arbitrary CAA rdatas and policies
// (TLS and S/MIME).
// Invariants: no crash; the reason is valid JSON text; a critical unknown tag never permits;
// the issue-value parser agrees with itself on re-parsing what it returned.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checks/internal/caa_eval.h"
#include "tests/fuzz/fuzz_input.h"

using mpic::checks::internal::CaaPolicy;
using mpic::fuzz::Require;

namespace {

bool IsKnownTag(std::string tag) {
  for (char& c : tag) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return tag == "issue" || tag == "issuewild" || tag == "iodef" || tag == "issuemail";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mpic::fuzz::FuzzInput in(data, size);
  const uint8_t flags = in.Byte();
  CaaPolicy policy;
  policy.wildcard = (flags & 1) != 0;
  policy.issuer_domains = {"ca.example"};
  if (flags & 2) policy.issuer_domains.push_back("CA2.example.");
  if (flags & 4) policy.account_uri = "https://ca.example/acct/1";
  if (flags & 8) policy.validation_method = "dns-01";
  policy.smime = (flags & 16) != 0;  // RFC 9495 issuemail

  std::vector<std::vector<uint8_t>> rdatas;
  while (!in.empty() && rdatas.size() < 32) {
    std::string_view blob = in.Blob();
    rdatas.emplace_back(blob.begin(), blob.end());
  }
  auto decision = mpic::checks::internal::EvaluateCaaRdata(rdatas, policy);
  std::string dumped = nlohmann::json(decision.reason).dump();  // throws (crash) on bad UTF-8
  Require(!dumped.empty());

  bool critical_unknown = false;
  for (const auto& rdata : rdatas) {
    auto rr = mpic::checks::internal::ParseCaaRdata(rdata);
    if (!rr) continue;
    if (rr->critical() && !IsKnownTag(rr->tag)) critical_unknown = true;
    auto value = mpic::checks::internal::ParseCaaIssueValue(rr->value);
    if (!value) continue;
    // Re-serialize and re-parse: the same issuer and parameters come back.
    std::string again = value->issuer_domain;
    for (const auto& [tag, v] : value->parameters) again += "; " + tag + "=" + v;
    auto reparsed = mpic::checks::internal::ParseCaaIssueValue(again);
    Require(reparsed.has_value());
    Require(reparsed->issuer_domain == value->issuer_domain);
    Require(reparsed->parameters == value->parameters);
  }
  if (critical_unknown) Require(!decision.permitted);
  // Email addresses have no wildcard form: an S/MIME wildcard policy never permits.
  if (policy.smime && policy.wildcard) Require(!decision.permitted);
  return 0;
}
