// The CA/B Forum TLS Baseline Requirements §3.2.2.9 (MPIC) schedule and quorum table, kept as
// data. The effective date is an input (config, or a clock read by the caller), never read here.
//
//   mpic::Result<mpic::quorum::Date> date = mpic::quorum::ParseDate("2026-03-15");
//   if (!date) return mpic::Fail(date.error());
//   const mpic::quorum::Phase& phase = mpic::quorum::PhaseFor(*date);
//   // phase.min_remotes == 3, phase.enforced, phase.min_rirs == 2
//   int allowed = mpic::quorum::AllowedNonCorroborations(4);  // 1
#pragma once

#include <array>
#include <compare>
#include <limits>
#include <string>
#include <string_view>

#include "common/error.h"

namespace mpic::quorum {

// A civil (proleptic Gregorian) date. Aggregate so `Date{2026, 3, 15}` works; compares
// chronologically. Nothing here knows "today".
struct Date {
  int year = 0;
  int month = 0;  // 1..12
  int day = 0;    // 1..days in month

  friend constexpr auto operator<=>(const Date&, const Date&) = default;
};

// True for a real calendar date in years 1..9999 (leap years per the Gregorian rule).
[[nodiscard]] bool IsValidDate(const Date& date);
// Strict "YYYY-MM-DD": exactly ten characters, ASCII digits, a real date. kMalformed otherwise.
[[nodiscard]] Result<Date> ParseDate(std::string_view text);
// "YYYY-MM-DD" (zero padded).
[[nodiscard]] std::string FormatDate(const Date& date);

// One row of the BR §3.2.2.9 phase-in schedule: what applies from `effective` onwards.
struct Phase {
  Date effective;
  bool mpic_required = false;  // MPIC must be performed (and its result logged, BR §5.4.1)
  bool enforced = false;       // the quorum decides issuance; otherwise only logged
  int min_remotes = 0;         // minimum remote perspectives used
  int min_rirs = 0;            // distinct RIRs the corroborating remotes must span; 0 = no rule

  friend constexpr bool operator==(const Phase&, const Phase&) = default;
};

// Before the first BR date MPIC is not required; treated like a not-enforced phase.
inline constexpr Phase kPreMpicPhase{Date{1, 1, 1}, false, false, 0, 0};

// BR §3.2.2.9 phase-in, ascending by date.
inline constexpr std::array<Phase, 5> kBrPhases{{
    {Date{2025, 3, 15}, true, false, 2, 0},  // must run and log; quorum not enforced
    {Date{2025, 9, 15}, true, true, 2, 0},   // enforced; no RIR rule yet
    {Date{2026, 3, 15}, true, true, 3, 2},   // corroborating remotes span >= 2 RIRs
    {Date{2026, 6, 15}, true, true, 4, 2},
    {Date{2026, 12, 15}, true, true, 5, 2},
}};

// The phase in force on `date`: the last row whose effective date is on or before it, or
// kPreMpicPhase. Total: an invalid date still orders lexicographically (validate first).
[[nodiscard]] const Phase& PhaseFor(const Date& date);

// BR §3.2.2.9 table: with `remotes_from` or more remote perspectives used, this many may fail to
// corroborate. Ascending; the last row whose `remotes_from` <= n applies.
struct NonCorroborationRow {
  int remotes_from = 0;
  int allowed = 0;
};
inline constexpr std::array<NonCorroborationRow, 2> kNonCorroborationTable{{
    {2, 1},  // 2-5 remote perspectives: 1 allowed non-corroboration
    {6, 2},  // 6 or more: 2
}};

// Allowed non-corroborations for `remotes` remote perspectives used. Below the table (0 or 1
// remote) none is allowed: fail closed.
[[nodiscard]] int AllowedNonCorroborations(int remotes);

}  // namespace mpic::quorum
