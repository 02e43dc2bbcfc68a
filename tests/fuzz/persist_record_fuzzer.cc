// Fuzzes the dns-persist-01 record parser and evaluator (checks/internal/persist_record.h).
// Invariants: no crash; one outcome per value, each valid JSON text once escaped; a parse that
// succeeds has a lower-case issuer and a non-empty accounturi; "authorized" holds exactly when
// some outcome authorizes, and then the reported accounturi is the first such record's; a value
// that does not parse never authorizes; a problem is only ever unauthorized or malformed.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checks/internal/persist_record.h"
#include "tests/fuzz/fuzz_input.h"

using mpic::fuzz::Require;
namespace internal = mpic::checks::internal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mpic::fuzz::FuzzInput in(data, size);
  const uint8_t mode = in.Byte();
  internal::PersistPolicy policy;
  policy.issuer_domains = {"ca.example", std::string(in.Blob())};
  policy.account_uri = std::string(in.Blob());
  policy.validated_fqdn = "example.com";
  policy.requested_fqdn = (mode & 1) ? "www.example.com" : "example.com";
  policy.wildcard = (mode & 2) != 0;
  policy.now_unix = static_cast<int64_t>(in.Byte()) << 24;
  if (mode & 4) {
    policy.account_hash_prefix = std::string(in.Blob());
    policy.account_key_thumbprints = {std::string(in.Blob()), std::string(in.Blob())};
  }
  std::vector<std::string> values;
  while (!in.empty() && values.size() < 64) values.emplace_back(in.Blob());

  for (const auto& v : values) {
    auto r = internal::ParsePersistRecord(v);
    if (r) {
      Require(!r->issuer_domain.empty() && !r->account_uri.empty());
      for (char c : r->issuer_domain) Require(!(c >= 'A' && c <= 'Z'));
    } else {
      Require(r.error().type == mpic::ProblemType::kMalformed);
    }
    (void)internal::PersistRecordIssuer(v);
  }
  auto d = internal::EvaluatePersistValues(values, policy);
  Require(d.records.size() == values.size());
  bool any = false;
  for (size_t i = 0; i < values.size(); ++i) {
    Require(!nlohmann::json(d.records[i].value).dump().empty());
    Require(!nlohmann::json(d.records[i].reason).dump().empty());
    if (d.records[i].verdict == internal::PersistVerdict::kAuthorizes) {
      auto r = internal::ParsePersistRecord(values[i]);
      Require(r.has_value());
      if (!any) Require(d.accounturi == r->account_uri);
      any = true;
    }
  }
  Require(any == d.authorized);
  Require(!nlohmann::json(d.reason).dump().empty());
  if (!d.authorized) {
    Require(d.problem == mpic::ProblemType::kUnauthorized ||
            d.problem == mpic::ProblemType::kMalformed);
  }
  return 0;
}
