#include "quorum/phase.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "quorum/perspective.h"
#include "quorum/policy.h"

namespace mpic::quorum {
namespace {

int DaysIn(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

Date NextDay(Date d) {
  if (++d.day > DaysIn(d.year, d.month)) {
    d.day = 1;
    if (++d.month > 12) {
      d.month = 1;
      ++d.year;
    }
  }
  return d;
}

Date PreviousDay(Date d) {
  if (--d.day < 1) {
    if (--d.month < 1) {
      d.month = 12;
      --d.year;
    }
    d.day = DaysIn(d.year, d.month);
  }
  return d;
}

// ---- dates ----------------------------------------------------------------------------------

TEST(DateTest, ParsesValidDates) {
  struct Case {
    const char* text;
    Date want;
  };
  const std::vector<Case> cases = {
      {"2026-03-15", {2026, 3, 15}},  {"2025-09-15", {2025, 9, 15}}, {"2024-02-29", {2024, 2, 29}},
      {"2000-02-29", {2000, 2, 29}},  {"0001-01-01", {1, 1, 1}},     {"9999-12-31", {9999, 12, 31}},
      {"2026-12-31", {2026, 12, 31}}, {"2026-04-30", {2026, 4, 30}},
  };
  for (const Case& c : cases) {
    Result<Date> got = ParseDate(c.text);
    ASSERT_TRUE(got.has_value()) << c.text << ": " << got.error().detail;
    EXPECT_EQ(*got, c.want) << c.text;
    EXPECT_EQ(FormatDate(*got), c.text);
    EXPECT_TRUE(IsValidDate(*got));
  }
}

TEST(DateTest, RejectsMalformedDates) {
  // clang-format off
  const std::vector<std::string> bad = {
      "",           "2026",        "2026-3-15",   "2026-03-5",   "26-03-15",    "2026/03/15",
      "2026-03-15 ", " 2026-03-15", "2026-03-15T00:00:00Z",      "+026-03-15",  "2026-0a-15",
      "2026--3-15", "2026-13-01",  "2026-00-10",  "2026-01-00",  "2026-01-32",  "2026-02-29",
      "1900-02-29", "2100-02-29",  "2026-04-31",  "2026-06-31",  "2026-09-31",  "2026-11-31",
      "0000-01-01", "2026-03-1５",  "20260315",    "2026_03_15",  "-2026-03-15",
  };
  // clang-format on
  for (const std::string& text : bad) {
    Result<Date> got = ParseDate(text);
    ASSERT_FALSE(got.has_value()) << '"' << text << "\" parsed";
    EXPECT_EQ(got.error().type, ProblemType::kMalformed) << text;
    EXPECT_NE(got.error().detail.find("YYYY-MM-DD"), std::string::npos) << got.error().detail;
  }
}

TEST(DateTest, ValidatesEveryDayOfACommonAndALeapYear) {
  for (int year : {2025, 2028, 1900, 2000}) {
    int days = 0;
    for (Date d{year, 1, 1}; d.year == year; d = NextDay(d)) {
      EXPECT_TRUE(IsValidDate(d)) << FormatDate(d);
      Result<Date> round = ParseDate(FormatDate(d));
      ASSERT_TRUE(round.has_value()) << FormatDate(d);
      EXPECT_EQ(*round, d);
      ++days;
    }
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    EXPECT_EQ(days, leap ? 366 : 365) << year;
  }
  EXPECT_FALSE(IsValidDate(Date{}));
  EXPECT_FALSE(IsValidDate(Date{10000, 1, 1}));
  EXPECT_FALSE(IsValidDate(Date{2026, 2, 29}));
}

TEST(DateTest, OrdersChronologically) {
  EXPECT_LT((Date{2025, 12, 31}), (Date{2026, 1, 1}));
  EXPECT_LT((Date{2026, 2, 28}), (Date{2026, 3, 1}));
  EXPECT_LT((Date{2026, 3, 14}), (Date{2026, 3, 15}));
  EXPECT_EQ((Date{2026, 3, 15}), (Date{2026, 3, 15}));
  EXPECT_GT((Date{2027, 1, 1}), (Date{2026, 12, 31}));
}

// ---- phases ---------------------------------------------------------------------------------

TEST(PhaseTest, TableMatchesBaselineRequirements) {
  ASSERT_EQ(kBrPhases.size(), 5u);
  const std::vector<Phase> want = {
      {{2025, 3, 15}, true, false, 2, 0}, {{2025, 9, 15}, true, true, 2, 0},
      {{2026, 3, 15}, true, true, 3, 2},  {{2026, 6, 15}, true, true, 4, 2},
      {{2026, 12, 15}, true, true, 5, 2},
  };
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(kBrPhases[i], want[i]) << i;
  for (std::size_t i = 1; i < kBrPhases.size(); ++i) {
    EXPECT_LT(kBrPhases[i - 1].effective, kBrPhases[i].effective) << "schedule must ascend";
  }
  EXPECT_FALSE(kPreMpicPhase.mpic_required);
  EXPECT_FALSE(kPreMpicPhase.enforced);
  EXPECT_EQ(kPreMpicPhase.min_remotes, 0);
}

TEST(PhaseTest, EveryBoundaryDayBeforeOnAndAfter) {
  for (std::size_t i = 0; i < kBrPhases.size(); ++i) {
    const Phase& phase = kBrPhases[i];
    const Phase& previous = i == 0 ? kPreMpicPhase : kBrPhases[i - 1];
    const Date on = phase.effective;
    SCOPED_TRACE(FormatDate(on));
    EXPECT_EQ(PhaseFor(PreviousDay(on)), previous);
    EXPECT_EQ(PhaseFor(on), phase);
    EXPECT_EQ(PhaseFor(NextDay(on)), phase);
  }
}

TEST(PhaseTest, EveryDayFrom2025To2027MapsToTheLatestStartedPhase) {
  for (Date d{2024, 12, 1}; d < Date{2027, 2, 1}; d = NextDay(d)) {
    const Phase* want = &kPreMpicPhase;
    for (const Phase& phase : kBrPhases) {
      if (!(d < phase.effective)) want = &phase;
    }
    EXPECT_EQ(PhaseFor(d), *want) << FormatDate(d);
  }
}

TEST(PhaseTest, FarPastAndFarFuture) {
  EXPECT_EQ(PhaseFor(Date{1, 1, 1}), kPreMpicPhase);
  EXPECT_EQ(PhaseFor(Date{2024, 1, 1}), kPreMpicPhase);
  EXPECT_EQ(PhaseFor(Date{2025, 3, 14}), kPreMpicPhase);
  EXPECT_EQ(PhaseFor(Date{9999, 12, 31}), kBrPhases.back());
}

TEST(NonCorroborationTableTest, EveryFleetSize) {
  const int want[] = {0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2};  // index = remotes used
  for (int n = 0; n < static_cast<int>(std::size(want)); ++n) {
    EXPECT_EQ(AllowedNonCorroborations(n), want[n]) << n << " remotes";
  }
  EXPECT_EQ(AllowedNonCorroborations(-1), 0);
  EXPECT_EQ(AllowedNonCorroborations(100), 2);
}

// ---- RIRs -----------------------------------------------------------------------------------

TEST(RirTest, PrintsAndParsesEveryRir) {
  const std::vector<std::pair<Rir, std::string>> want = {
      {Rir::kArin, "arin"},     {Rir::kRipeNcc, "ripe"},    {Rir::kApnic, "apnic"},
      {Rir::kLacnic, "lacnic"}, {Rir::kAfrinic, "afrinic"},
  };
  ASSERT_EQ(kAllRirs.size(), want.size());
  for (const auto& [rir, name] : want) {
    EXPECT_EQ(RirName(rir), name);
    Result<Rir> parsed = ParseRir(name);
    ASSERT_TRUE(parsed.has_value()) << name;
    EXPECT_EQ(*parsed, rir);
  }
}

TEST(RirTest, ParsingIsCaseInsensitiveAndAcceptsRipeNcc) {
  for (const char* text : {"RIPE NCC", "ripe ncc", "Ripe-NCC", "RIPENCC", "RIPE"}) {
    Result<Rir> parsed = ParseRir(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_EQ(*parsed, Rir::kRipeNcc) << text;
  }
  EXPECT_EQ(ParseRir("ARIN").value(), Rir::kArin);
  EXPECT_EQ(ParseRir("ApNiC").value(), Rir::kApnic);
  EXPECT_EQ(ParseRir("LACNIC").value(), Rir::kLacnic);
  EXPECT_EQ(ParseRir("AfriNIC").value(), Rir::kAfrinic);
}

TEST(RirTest, RejectsUnknownNames) {
  for (const char* text : {"", "iana", "ripe  ncc", " arin", "arin ", "ncc", "apnic1"}) {
    Result<Rir> parsed = ParseRir(text);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().type, ProblemType::kMalformed);
  }
}

// ---- policies -------------------------------------------------------------------------------

TEST(PolicyTest, BaselineRequirementsFollowsThePhaseForTheDate) {
  for (const Phase& phase : kBrPhases) {
    Result<Policy> policy = Policy::BaselineRequirements(phase.effective);
    ASSERT_TRUE(policy.has_value());
    EXPECT_EQ(policy->kind(), PolicyKind::kBaselineRequirements);
    EXPECT_TRUE(policy->br_compliant());
    EXPECT_EQ(policy->phase(), phase);
    EXPECT_EQ(policy->effective_date(), phase.effective);
    EXPECT_EQ(policy->mpic_required(), phase.mpic_required);
    EXPECT_EQ(policy->enforced(), phase.enforced);
    EXPECT_EQ(policy->min_remotes(), phase.min_remotes);
    EXPECT_EQ(policy->min_rirs(), phase.min_rirs);
    EXPECT_TRUE(policy->primary_required());
  }
  Result<Policy> early = Policy::BaselineRequirements(Date{2025, 1, 1});
  ASSERT_TRUE(early.has_value());
  EXPECT_EQ(early->phase(), kPreMpicPhase);
  EXPECT_FALSE(early->mpic_required());
  EXPECT_FALSE(early->enforced());
  EXPECT_EQ(early->effective_date(), (Date{2025, 1, 1}));
}

TEST(PolicyTest, RejectsAnInvalidEffectiveDate) {
  for (Date bad : {Date{}, Date{2026, 2, 30}, Date{2026, 13, 1}}) {
    Result<Policy> policy = Policy::BaselineRequirements(bad);
    ASSERT_FALSE(policy.has_value()) << FormatDate(bad);
    EXPECT_EQ(policy.error().type, ProblemType::kMalformed);
  }
}

TEST(PolicyTest, DefaultIsTheStrictestPhase) {
  Policy policy;
  EXPECT_EQ(policy, Policy::BaselineRequirements(kBrPhases.back().effective).value());
  EXPECT_TRUE(policy.enforced());
  EXPECT_EQ(policy.min_remotes(), 5);
  EXPECT_EQ(policy.min_rirs(), 2);
}

TEST(PolicyTest, DescribesEveryPhase) {
  const std::vector<std::pair<Date, std::string>> want = {
      {{2025, 3, 14},
       "BR 3.2.2.9 before 2025-03-15: MPIC not required (quorum logged only, decision follows "
       "the primary)"},
      {{2025, 3, 15},
       "BR 3.2.2.9 phase 2025-03-15 (min 2 remotes, ≤1 non-corroborating, not enforced: quorum "
       "logged only)"},
      {{2025, 9, 15},
       "BR 3.2.2.9 phase 2025-09-15 (min 2 remotes, ≤1 non-corroborating, no RIR rule)"},
      {{2026, 3, 15}, "BR 3.2.2.9 phase 2026-03-15 (min 3 remotes, ≤1 non-corroborating, ≥2 RIRs)"},
      {{2026, 6, 15}, "BR 3.2.2.9 phase 2026-06-15 (min 4 remotes, ≤1 non-corroborating, ≥2 RIRs)"},
      {{2027, 1, 1}, "BR 3.2.2.9 phase 2026-12-15 (min 5 remotes, ≤1 non-corroborating, ≥2 RIRs)"},
  };
  for (const auto& [date, text] : want) {
    EXPECT_EQ(Policy::BaselineRequirements(date).value().Describe(), text);
  }
}

TEST(PolicyTest, BrRequiredCorroborationsForEveryFleetSize) {
  const Policy policy = Policy::BaselineRequirements(Date{2026, 12, 15}).value();
  const int allowed[] = {0, 0, 1, 1, 1, 1, 2, 2, 2, 2};
  for (int n = 0; n < 10; ++n) {
    EXPECT_EQ(policy.AllowedNonCorroborations(n), allowed[n]) << n;
    EXPECT_EQ(policy.RequiredCorroborations(n), n - allowed[n]) << n;
  }
}

TEST(PolicyTest, KOfNIsResearchOnly) {
  Result<Policy> policy = Policy::KOfN(3, 5, 0, true);
  ASSERT_TRUE(policy.has_value());
  EXPECT_EQ(policy->kind(), PolicyKind::kKOfN);
  EXPECT_FALSE(policy->br_compliant());
  EXPECT_FALSE(policy->phase().has_value());
  EXPECT_FALSE(policy->effective_date().has_value());
  EXPECT_TRUE(policy->enforced());
  EXPECT_EQ(policy->min_remotes(), 5);
  EXPECT_EQ(policy->k(), 3);
  EXPECT_EQ(policy->n(), 5);
  EXPECT_EQ(policy->RequiredCorroborations(5), 3);
  EXPECT_EQ(policy->AllowedNonCorroborations(5), 2);
  EXPECT_EQ(policy->RequiredCorroborations(7), 3);
  EXPECT_EQ(policy->AllowedNonCorroborations(7), 4);
  EXPECT_EQ(policy->Describe(), "research k-of-n 3/5 (NOT BR-compliant)");
  EXPECT_EQ(Policy::KOfN(3, 5, 2, true).value().Describe(),
            "research k-of-n 3/5, ≥2 RIRs (NOT BR-compliant)");
  EXPECT_EQ(Policy::KOfN(2, 4, 2, false).value().Describe(),
            "research k-of-n 2/4, ≥2 RIRs, primary not required (NOT BR-compliant)");
  EXPECT_FALSE(Policy::KOfN(1, 1, 0, false).value().primary_required());
}

TEST(PolicyTest, KOfNRejectsImpossibleParameters) {
  struct Case {
    int k, n, min_rirs;
  };
  for (Case c : {Case{0, 5, 0}, Case{6, 5, 0}, Case{-1, 5, 0}, Case{1, 0, 0}, Case{1, 65, 0},
                 Case{3, 5, -1}, Case{3, 5, 6}, Case{2, 5, 3}}) {
    Result<Policy> policy = Policy::KOfN(c.k, c.n, c.min_rirs, true);
    ASSERT_FALSE(policy.has_value()) << c.k << "/" << c.n << " rirs " << c.min_rirs;
    EXPECT_EQ(policy.error().type, ProblemType::kMalformed);
  }
  EXPECT_TRUE(Policy::KOfN(64, 64, 5, true).has_value());
}

}  // namespace
}  // namespace mpic::quorum
