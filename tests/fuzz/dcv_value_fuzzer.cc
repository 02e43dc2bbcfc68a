// Fuzzes the value rules of the BR methods beyond ACME (checks/internal/dcv_value.h) and the
// /.well-known/pki-validation/ path check (checks/internal/http_url.h): record values, contact
// values and paths are untrusted. Invariants: no crash; an exact match implies a substring
// match; a case-exact match implies a case-folded one; an empty value never matches; a value the
// challenge-value rules accept is printable ASCII; a parsed phone number is "+" and 1-15 digits
// and parsing it again gives it back; a parsed email has an "@" and no blank; an accepted path
// has only non-empty segments, none of them "." or "..".
#include <string>

#include "checks/internal/dcv_value.h"
#include "checks/internal/http_url.h"
#include "tests/fuzz/fuzz_input.h"

using mpic::fuzz::Require;
namespace internal = mpic::checks::internal;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mpic::fuzz::FuzzInput in(data, size);
  const uint8_t mode = in.Byte();
  std::string value(in.Blob());
  std::string candidate(in.Rest());

  const internal::MatchRule exact{.exact_match = true, .exact_case = true};
  const internal::MatchRule sub{.exact_match = false, .exact_case = true};
  const internal::MatchRule sub_fold{.exact_match = false, .exact_case = false};
  const internal::MatchRule exact_fold{.exact_match = true, .exact_case = false};
  bool e = internal::ValueMatches(candidate, value, exact);
  bool s = internal::ValueMatches(candidate, value, sub);
  bool sf = internal::ValueMatches(candidate, value, sub_fold);
  bool ef = internal::ValueMatches(candidate, value, exact_fold);
  if (e) Require(s && ef);
  if (s || ef) Require(sf);
  if (value.empty()) Require(!e && !s && !sf && !ef);

  if (internal::ValidateChallengeValue(value, (mode & 1) != 0)) {
    for (char c : value) Require(c >= 0x21 && c <= 0x7e);
  }
  if (auto phone = internal::ParseContactPhone(candidate)) {
    Require(phone->size() >= 2 && phone->size() <= 16 && (*phone)[0] == '+');
    auto again = internal::ParseContactPhone(*phone);
    Require(again.has_value() && *again == *phone);
  }
  if (auto email = internal::ParseContactEmail(candidate)) {
    Require(email->find('@') != std::string::npos && email->find(' ') == std::string::npos);
  }
  if (internal::ValidatePkiValidationPath(candidate)) {
    Require(!candidate.empty() && candidate.front() != '/' && candidate.back() != '/');
    size_t start = 0;
    while (true) {
      size_t slash = candidate.find('/', start);
      std::string segment = candidate.substr(start, slash == std::string::npos ? slash
                                                                                : slash - start);
      Require(!segment.empty() && segment != "." && segment != "..");
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
  }
  (void)internal::ComparableName(candidate);
  return 0;
}
