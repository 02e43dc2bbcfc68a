#include "quorum/phase.h"

#include <cstdio>

namespace mpic::quorum {
namespace {

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int year, int month) {
  static constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month == 2 && IsLeapYear(year)) return 29;
  return kDays[static_cast<std::size_t>(month - 1)];
}

// Parses exactly `text.size()` ASCII digits; false on anything else.
bool ParseDigits(std::string_view text, int* out) {
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  *out = value;
  return true;
}

}  // namespace

bool IsValidDate(const Date& date) {
  if (date.year < 1 || date.year > 9999) return false;
  if (date.month < 1 || date.month > 12) return false;
  return date.day >= 1 && date.day <= DaysInMonth(date.year, date.month);
}

Result<Date> ParseDate(std::string_view text) {
  auto malformed = [&](std::string_view why) {
    return Fail(ProblemType::kMalformed,
                "date \"" + std::string(text) + "\": " + std::string(why) + " (want YYYY-MM-DD)");
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return malformed("bad format");
  Date date;
  if (!ParseDigits(text.substr(0, 4), &date.year) || !ParseDigits(text.substr(5, 2), &date.month) ||
      !ParseDigits(text.substr(8, 2), &date.day)) {
    return malformed("non-digit in a field");
  }
  if (!IsValidDate(date)) return malformed("no such calendar date");
  return date;
}

std::string FormatDate(const Date& date) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02d", date.year, date.month, date.day);
  return buffer;
}

const Phase& PhaseFor(const Date& date) {
  const Phase* in_force = &kPreMpicPhase;
  for (const Phase& phase : kBrPhases) {
    if (phase.effective <= date) in_force = &phase;
  }
  return *in_force;
}

int AllowedNonCorroborations(int remotes) {
  int allowed = 0;
  for (const NonCorroborationRow& row : kNonCorroborationTable) {
    if (row.remotes_from <= remotes) allowed = row.allowed;
  }
  return allowed;
}

}  // namespace mpic::quorum
