#include "quorum/quorum.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mpic::quorum {
namespace {

using ::testing::HasSubstr;

constexpr Outcome kFailureKinds[] = {Outcome::kInvalid, Outcome::kError, Outcome::kTimeout};

Policy At(Date date) { return Policy::BaselineRequirements(date).value(); }

// Every policy the exhaustive tests run: each BR phase (and pre-MPIC) plus research kinds.
std::vector<Policy> AllPolicies() {
  std::vector<Policy> out = {At(Date{2025, 3, 14})};
  for (const Phase& phase : kBrPhases) out.push_back(At(phase.effective));
  out.push_back(Policy::KOfN(2, 3, 0, true).value());
  out.push_back(Policy::KOfN(2, 4, 2, false).value());
  out.push_back(Policy::KOfN(3, 4, 0, false).value());
  return out;
}

std::string Name(std::size_t i) { return "r" + std::to_string(i); }

std::vector<Perspective> Remotes(const std::vector<Rir>& rirs) {
  std::vector<Perspective> out;
  for (std::size_t i = 0; i < rirs.size(); ++i) {
    // Locations are irrelevant to the tally.
    out.push_back({Name(i), rirs[i], {0.0, static_cast<double>(i)}});
  }
  return out;
}

// ---- an independent model of the rule, straight from BR §3.2.2.9 ---------------------------

Decision ModelFinal(const Policy& policy, const std::vector<Rir>& rirs,
                    const std::vector<bool>& corroborated, bool primary_passed, bool quorum_only) {
  const int n = static_cast<int>(rirs.size());
  int required = 0;
  if (policy.kind() == PolicyKind::kKOfN) {
    required = policy.k();
  } else {
    required = n - (n >= 6 ? 2 : n >= 2 ? 1 : 0);
  }
  int count = 0;
  std::set<Rir> spanned;
  for (int i = 0; i < n; ++i) {
    if (corroborated[static_cast<std::size_t>(i)]) {
      ++count;
      spanned.insert(rirs[static_cast<std::size_t>(i)]);
    }
  }
  const bool met = n >= policy.min_remotes() && count >= required &&
                   (policy.min_rirs() < 2 || static_cast<int>(spanned.size()) >= policy.min_rirs());
  if (quorum_only) return met ? Decision::kCorroborated : Decision::kNotCorroborated;
  if (!policy.enforced())
    return primary_passed ? Decision::kCorroborated : Decision::kNotCorroborated;
  if (policy.primary_required() && !primary_passed) return Decision::kNotCorroborated;
  return met ? Decision::kCorroborated : Decision::kNotCorroborated;
}

// The earliest correct answer for a partial state: decided iff every completion agrees.
Decision ModelEarly(const Policy& policy, const std::vector<Rir>& rirs,
                    const std::vector<std::optional<bool>>& remotes, std::optional<bool> primary,
                    bool quorum_only) {
  std::vector<std::size_t> unknown;
  for (std::size_t i = 0; i < remotes.size(); ++i) {
    if (!remotes[i].has_value()) unknown.push_back(i);
  }
  const bool primary_unknown = !primary.has_value();
  const std::size_t bits = unknown.size() + (primary_unknown ? 1 : 0);
  std::set<Decision> seen;
  for (std::size_t mask = 0; mask < (std::size_t{1} << bits); ++mask) {
    std::vector<bool> corroborated(remotes.size());
    for (std::size_t i = 0; i < remotes.size(); ++i) corroborated[i] = remotes[i].value_or(false);
    for (std::size_t b = 0; b < unknown.size(); ++b) corroborated[unknown[b]] = (mask >> b) & 1;
    const bool primary_passed = primary_unknown ? ((mask >> unknown.size()) & 1) != 0 : *primary;
    seen.insert(ModelFinal(policy, rirs, corroborated, primary_passed, quorum_only));
    if (seen.size() > 1) return Decision::kPending;
  }
  return *seen.begin();
}

struct Event {
  int who;  // remote index, or -1 for the primary
  Outcome outcome;
};

// Feeds `events` in order and checks, after creation and after every event, that the tally's
// decision and quorum are exactly the model's earliest answer. Returns the final decision.
Decision RunAndCheck(const Policy& policy, const std::vector<Rir>& rirs,
                     const std::vector<Event>& events) {
  Result<Tally> tally = Tally::Create(policy, Remotes(rirs));
  EXPECT_TRUE(tally.has_value());
  if (!tally) return Decision::kPending;
  std::vector<std::optional<bool>> remotes(rirs.size());
  std::optional<bool> primary;
  auto check = [&](const char* when) {
    EXPECT_EQ(tally->decision(), ModelEarly(policy, rirs, remotes, primary, false))
        << policy.Describe() << " " << when << " quorum " << tally->QuorumString();
    EXPECT_EQ(tally->quorum(), ModelEarly(policy, rirs, remotes, primary, true))
        << policy.Describe() << " " << when;
  };
  check("at creation");
  for (const Event& event : events) {
    const bool passed = event.outcome == Outcome::kCorroborated;
    if (event.who < 0) {
      EXPECT_TRUE(tally->SetPrimary(event.outcome).has_value());
      primary = passed;
    } else {
      EXPECT_TRUE(tally->Add(Name(static_cast<std::size_t>(event.who)), event.outcome).has_value());
      remotes[static_cast<std::size_t>(event.who)] = passed;
    }
    check("after an event");
  }
  // Every result is recorded as given.
  for (const Event& event : events) {
    if (event.who < 0) {
      EXPECT_EQ(tally->primary(), event.outcome);
    } else {
      EXPECT_EQ(tally->remotes()[static_cast<std::size_t>(event.who)].outcome, event.outcome);
    }
  }
  return tally->decision();
}

// ---- exhaustive tables ----------------------------------------------------------------------

TEST(TallyTableTest, EveryFleetSizeEveryFailureCountEveryFailureKind) {
  for (const Policy& policy : AllPolicies()) {
    for (int n = 2; n <= 8; ++n) {
      std::vector<Rir> rirs;
      for (int i = 0; i < n; ++i) rirs.push_back(i % 2 == 0 ? Rir::kArin : Rir::kRipeNcc);
      for (int failures = 0; failures <= n; ++failures) {
        for (int kind = 0; kind < 4; ++kind) {  // 3 = a mix of all failure kinds
          SCOPED_TRACE(policy.Describe() + " n=" + std::to_string(n) +
                       " failures=" + std::to_string(failures) + " kind=" + std::to_string(kind));
          std::vector<Event> events = {{-1, Outcome::kCorroborated}};
          for (int i = 0; i < n; ++i) {
            Outcome outcome = Outcome::kCorroborated;
            if (i < failures) outcome = kFailureKinds[kind < 3 ? kind : i % 3];
            events.push_back({i, outcome});
          }
          const Decision final_decision = RunAndCheck(policy, rirs, events);
          // The plain table, restated: n - failures corroborators, RIRs alternate.
          const int corroborators = n - failures;
          bool want = true;
          if (policy.enforced()) {
            const int required =
                policy.kind() == PolicyKind::kKOfN ? policy.k() : n - (n >= 6 ? 2 : 1);
            want = n >= policy.min_remotes() && corroborators >= required &&
                   (policy.min_rirs() < 2 || corroborators >= 2);
          }
          EXPECT_EQ(final_decision, want ? Decision::kCorroborated : Decision::kNotCorroborated);
        }
      }
    }
  }
}

TEST(TallyTableTest, BrTableAtTheStrictestPhase) {
  // Explicit expectations, no model: {n, failures, corroborated?}.
  struct Row {
    int n, failures;
    bool corroborated;
  };
  const std::vector<Row> rows = {
      {4, 0, false}, {4, 1, false},  // below the 5-remote minimum: never
      {5, 0, true},  {5, 1, true},  {5, 2, false}, {6, 0, true}, {6, 1, true},  {6, 2, true},
      {6, 3, false}, {7, 2, true},  {7, 3, false}, {8, 2, true}, {8, 3, false},
  };
  for (const Row& row : rows) {
    std::vector<Rir> rirs;
    for (int i = 0; i < row.n; ++i) rirs.push_back(i % 2 == 0 ? Rir::kApnic : Rir::kLacnic);
    Tally tally = Tally::Create(Policy(), Remotes(rirs)).value();
    ASSERT_TRUE(tally.SetPrimary(Outcome::kCorroborated).has_value());
    for (int i = 0; i < row.n; ++i) {
      ASSERT_TRUE(tally
                      .Add(Name(static_cast<std::size_t>(i)),
                           i < row.failures ? Outcome::kTimeout : Outcome::kCorroborated)
                      .has_value());
    }
    EXPECT_EQ(tally.decision(),
              row.corroborated ? Decision::kCorroborated : Decision::kNotCorroborated)
        << row.n << " remotes, " << row.failures << " failures";
    EXPECT_EQ(tally.QuorumString(),
              std::to_string(row.n - row.failures) + "/" + std::to_string(row.n));
  }
}

TEST(TallyRirTest, EveryRirAssignmentAndEveryCorroboratingSubset) {
  const std::vector<Policy> policies = {At(Date{2025, 9, 15}), At(Date{2026, 3, 15}),
                                        At(Date{2026, 6, 15}), Policy(),
                                        Policy::KOfN(2, 3, 2, true).value()};
  const std::vector<Rir> palette = {Rir::kArin, Rir::kRipeNcc, Rir::kAfrinic};
  for (const Policy& policy : policies) {
    for (int n = 3; n <= 6; ++n) {
      const int colours = n <= 4 ? 3 : 2;  // three RIRs where affordable
      int assignments = 1;
      for (int i = 0; i < n; ++i) assignments *= colours;
      for (int a = 0; a < assignments; ++a) {
        std::vector<Rir> rirs;
        for (int i = 0, rest = a; i < n; ++i, rest /= colours) {
          rirs.push_back(palette[static_cast<std::size_t>(rest % colours)]);
        }
        for (int subset = 0; subset < (1 << n); ++subset) {
          std::vector<Event> events;
          std::vector<bool> corroborated;
          for (int i = 0; i < n; ++i) {
            const bool yes = ((subset >> i) & 1) != 0;
            corroborated.push_back(yes);
            events.push_back({i, yes ? Outcome::kCorroborated : kFailureKinds[i % 3]});
          }
          events.push_back({-1, Outcome::kCorroborated});
          const Decision got = RunAndCheck(policy, rirs, events);
          EXPECT_EQ(got, ModelFinal(policy, rirs, corroborated, true, false))
              << policy.Describe() << " n=" << n << " assignment=" << a << " subset=" << subset;
          if (::testing::Test::HasFailure()) return;  // keep a failure readable
        }
      }
    }
  }
}

TEST(TallyRirTest, AllCorroboratorsInOneRirFailFromMarch2026) {
  for (Date date : {Date{2026, 3, 15}, Date{2026, 6, 15}, Date{2026, 12, 15}}) {
    const Policy policy = At(date);
    const int n = policy.min_remotes() + 1;
    // Every remote ARIN except the last (RIPE); the RIPE one fails: one RIR left.
    std::vector<Rir> rirs(static_cast<std::size_t>(n), Rir::kArin);
    rirs.back() = Rir::kRipeNcc;
    Tally tally = Tally::Create(policy, Remotes(rirs)).value();
    ASSERT_TRUE(tally.SetPrimary(Outcome::kCorroborated).has_value());
    // Decided the moment the only RIPE remote fails, with nothing else reported.
    ASSERT_TRUE(tally.Add(Name(static_cast<std::size_t>(n - 1)), Outcome::kInvalid).has_value());
    EXPECT_EQ(tally.decision(), Decision::kNotCorroborated) << FormatDate(date);
    EXPECT_THAT(tally.reason(), HasSubstr("span at most 1 RIR(s) (arin)"));
    EXPECT_EQ(tally.QuorumString(), "0/" + std::to_string(n));

    // Same fleet before the RIR rule: one RIR is enough.
    Tally before = Tally::Create(At(Date{2025, 9, 15}), Remotes(rirs)).value();
    ASSERT_TRUE(before.SetPrimary(Outcome::kCorroborated).has_value());
    ASSERT_TRUE(before.Add(Name(static_cast<std::size_t>(n - 1)), Outcome::kInvalid).has_value());
    for (int i = 0; i < n - 1; ++i) {
      ASSERT_TRUE(
          before.Add(Name(static_cast<std::size_t>(i)), Outcome::kCorroborated).has_value());
    }
    EXPECT_EQ(before.decision(), Decision::kCorroborated);
    EXPECT_EQ(before.CorroboratingRirs(), std::vector<Rir>{Rir::kArin});
  }
}

TEST(TallyOrderTest, EveryPermutationGivesTheSameDecisionAndNeverContradictsIt) {
  const std::vector<Policy> policies = AllPolicies();
  for (const Policy& policy : policies) {
    for (int n = 2; n <= 4; ++n) {
      for (bool mixed_rirs : {false, true}) {
        std::vector<Rir> rirs;
        for (int i = 0; i < n; ++i) {
          rirs.push_back(mixed_rirs && i % 2 == 1 ? Rir::kApnic : Rir::kRipeNcc);
        }
        // Bit i of v: remote i corroborates; failures cycle through the kinds (all equivalent
        // for the decision, which the table tests show).
        for (int v = 0; v < (1 << n); ++v) {
          for (Outcome primary : {Outcome::kCorroborated, Outcome::kError}) {
            std::vector<Event> events = {{-1, primary}};
            for (int i = 0; i < n; ++i) {
              events.push_back(
                  {i, ((v >> i) & 1) != 0 ? Outcome::kCorroborated : kFailureKinds[i % 3]});
            }
            std::vector<int> order(events.size());
            std::iota(order.begin(), order.end(), 0);
            std::optional<Decision> first;
            do {
              std::vector<Event> permuted;
              for (int i : order) permuted.push_back(events[static_cast<std::size_t>(i)]);
              const Decision got = RunAndCheck(policy, rirs, permuted);
              EXPECT_NE(got, Decision::kPending);
              if (!first) first = got;
              EXPECT_EQ(got, *first) << policy.Describe() << " n=" << n << " v=" << v;
            } while (std::next_permutation(order.begin(), order.end()));
            if (::testing::Test::HasFailure()) return;
          }
        }
      }
    }
  }
}

TEST(TallyOrderTest, FiveAndSixRemotesInSeveralOrders) {
  // Too many permutations to enumerate; forward, reverse and every rotation instead.
  const Outcome palette[] = {Outcome::kCorroborated, Outcome::kInvalid, Outcome::kError,
                             Outcome::kTimeout};
  for (const Policy& policy : AllPolicies()) {
    for (int n = 5; n <= 6; ++n) {
      std::vector<Rir> rirs;
      for (int i = 0; i < n; ++i) rirs.push_back(i < 2 ? Rir::kLacnic : Rir::kArin);
      for (int v = 0; v < (1 << n); ++v) {
        std::vector<Event> events = {{-1, Outcome::kCorroborated}};
        for (int i = 0; i < n; ++i) {
          events.push_back({i, ((v >> i) & 1) != 0 ? palette[0] : palette[1 + i % 3]});
        }
        std::optional<Decision> first;
        for (int reversed = 0; reversed < 2; ++reversed) {
          for (std::size_t r = 0; r < events.size(); ++r) {
            std::vector<Event> order = events;
            if (reversed != 0) std::reverse(order.begin(), order.end());
            std::rotate(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(r), order.end());
            const Decision got = RunAndCheck(policy, rirs, order);
            if (!first) first = got;
            EXPECT_EQ(got, *first);
          }
        }
      }
      if (::testing::Test::HasFailure()) return;
    }
  }
}

// ---- primary --------------------------------------------------------------------------------

TEST(TallyPrimaryTest, AFailingPrimaryDecidesAtOnceWhateverTheRemotesSay) {
  const std::vector<Rir> rirs = {Rir::kArin, Rir::kRipeNcc, Rir::kApnic, Rir::kLacnic,
                                 Rir::kAfrinic};
  for (Outcome kind : kFailureKinds) {
    Tally tally = Tally::Create(Policy(), Remotes(rirs)).value();
    ASSERT_TRUE(tally.SetPrimary(kind).has_value());
    EXPECT_EQ(tally.decision(), Decision::kNotCorroborated);
    EXPECT_THAT(tally.reason(), HasSubstr("primary"));
    EXPECT_THAT(tally.reason(), HasSubstr(std::string(OutcomeName(kind))));
    for (std::size_t i = 0; i < rirs.size(); ++i) {
      ASSERT_TRUE(tally.Add(Name(i), Outcome::kCorroborated).has_value());
      EXPECT_EQ(tally.decision(), Decision::kNotCorroborated);
    }
    EXPECT_EQ(tally.quorum(), Decision::kCorroborated);  // reported, but not enough
    EXPECT_EQ(tally.QuorumString(), "5/5");
    EXPECT_TRUE(tally.complete());
  }
}

TEST(TallyPrimaryTest, QuorumMetWaitsForThePrimary) {
  Tally tally =
      Tally::Create(At(Date{2026, 3, 15}), Remotes({Rir::kArin, Rir::kRipeNcc, Rir::kApnic}))
          .value();
  ASSERT_TRUE(tally.Add("r0", Outcome::kCorroborated).has_value());
  ASSERT_TRUE(tally.Add("r1", Outcome::kCorroborated).has_value());
  EXPECT_EQ(tally.quorum(), Decision::kCorroborated);
  EXPECT_EQ(tally.decision(), Decision::kPending);
  ASSERT_TRUE(tally.SetPrimary(Outcome::kCorroborated).has_value());
  EXPECT_EQ(tally.decision(), Decision::kCorroborated);
  EXPECT_EQ(tally.QuorumString(), "2/3");
  EXPECT_FALSE(tally.complete());
  EXPECT_EQ(tally.pending(), 1);
  EXPECT_THAT(tally.reason(), HasSubstr("quorum met: 2/3"));
  // A straggler is still recorded; the decision stands.
  ASSERT_TRUE(tally.Add("r2", Outcome::kInvalid).has_value());
  EXPECT_EQ(tally.decision(), Decision::kCorroborated);
  EXPECT_EQ(tally.remotes()[2].outcome, Outcome::kInvalid);
  EXPECT_EQ(tally.QuorumString(), "2/3");
  EXPECT_TRUE(tally.complete());
}

TEST(TallyPrimaryTest, UnreachableQuorumDecidesWithoutWaitingForThePrimary) {
  Tally tally = Tally::Create(At(Date{2025, 9, 15}), Remotes({Rir::kArin, Rir::kArin})).value();
  ASSERT_TRUE(tally.Add("r0", Outcome::kTimeout).has_value());
  EXPECT_EQ(tally.decision(), Decision::kPending);
  ASSERT_TRUE(tally.Add("r1", Outcome::kError).has_value());
  EXPECT_EQ(tally.decision(), Decision::kNotCorroborated);
  EXPECT_FALSE(tally.primary().has_value());
  EXPECT_THAT(tally.reason(), HasSubstr("2 of 2 remote perspectives did not corroborate"));
}

// ---- not enforced ---------------------------------------------------------------------------

TEST(TallyNotEnforcedTest, March2025PhaseFollowsThePrimaryButReportsTheQuorum) {
  const Policy policy = At(Date{2025, 3, 15});
  {
    Tally tally = Tally::Create(policy, Remotes({Rir::kArin, Rir::kArin})).value();
    EXPECT_FALSE(tally.enforced());
    ASSERT_TRUE(tally.Add("r0", Outcome::kInvalid).has_value());
    ASSERT_TRUE(tally.Add("r1", Outcome::kTimeout).has_value());
    EXPECT_EQ(tally.quorum(), Decision::kNotCorroborated);
    EXPECT_EQ(tally.decision(), Decision::kPending);  // waits for the primary
    ASSERT_TRUE(tally.SetPrimary(Outcome::kCorroborated).has_value());
    EXPECT_EQ(tally.decision(), Decision::kCorroborated);
    EXPECT_EQ(tally.QuorumString(), "0/2");
    EXPECT_THAT(tally.reason(), HasSubstr("not enforced"));
  }
  {
    Tally tally = Tally::Create(policy, Remotes({Rir::kArin, Rir::kArin})).value();
    ASSERT_TRUE(tally.SetPrimary(Outcome::kInvalid).has_value());
    EXPECT_EQ(tally.decision(), Decision::kNotCorroborated);
    ASSERT_TRUE(tally.Add("r0", Outcome::kCorroborated).has_value());
    ASSERT_TRUE(tally.Add("r1", Outcome::kCorroborated).has_value());
    EXPECT_EQ(tally.quorum(), Decision::kCorroborated);
    EXPECT_EQ(tally.decision(), Decision::kNotCorroborated);
    EXPECT_EQ(tally.QuorumString(), "2/2");
  }
  {
    // The primary passing decides immediately; remotes are still logged afterwards.
    Tally tally = Tally::Create(policy, Remotes({Rir::kArin, Rir::kApnic, Rir::kLacnic})).value();
    ASSERT_TRUE(tally.SetPrimary(Outcome::kCorroborated).has_value());
    EXPECT_EQ(tally.decision(), Decision::kCorroborated);
    EXPECT_EQ(tally.quorum(), Decision::kPending);
    ASSERT_TRUE(tally.Add("r0", Outcome::kCorroborated).has_value());
    ASSERT_TRUE(tally.Add("r1", Outcome::kCorroborated).has_value());
    EXPECT_EQ(tally.quorum(), Decision::kCorroborated);
    EXPECT_EQ(tally.QuorumString(), "2/3");
  }
}

TEST(TallyNotEnforcedTest, BeforeMpicIsRequiredEvenWithNoRemotes) {
  const Policy policy = At(Date{2024, 6, 1});
  Tally tally = Tally::Create(policy, {}).value();
  EXPECT_FALSE(tally.enforced());
  EXPECT_EQ(tally.QuorumString(), "0/0");
  EXPECT_EQ(tally.decision(), Decision::kPending);
  ASSERT_TRUE(tally.SetPrimary(Outcome::kCorroborated).has_value());
  EXPECT_EQ(tally.decision(), Decision::kCorroborated);
  EXPECT_TRUE(tally.complete());

  Tally failed = Tally::Create(policy, Remotes({Rir::kArin})).value();
  ASSERT_TRUE(failed.Add("r0", Outcome::kCorroborated).has_value());
  ASSERT_TRUE(failed.SetPrimary(Outcome::kTimeout).has_value());
  EXPECT_EQ(failed.decision(), Decision::kNotCorroborated);
  EXPECT_EQ(failed.QuorumString(), "1/1");
}

// ---- research -------------------------------------------------------------------------------

TEST(TallyResearchTest, KOfNWithoutThePrimary) {
  const std::vector<Rir> rirs(5, Rir::kArin);
  Tally tally = Tally::Create(Policy::KOfN(3, 5, 0, false).value(), Remotes(rirs)).value();
  ASSERT_TRUE(tally.SetPrimary(Outcome::kInvalid).has_value());
  EXPECT_EQ(tally.decision(), Decision::kPending);
  for (const char* name : {"r0", "r1", "r2"}) {
    ASSERT_TRUE(tally.Add(name, Outcome::kCorroborated).has_value());
  }
  EXPECT_EQ(tally.decision(), Decision::kCorroborated);
  EXPECT_EQ(tally.QuorumString(), "3/5");

  Tally strict = Tally::Create(Policy::KOfN(3, 5, 0, true).value(), Remotes(rirs)).value();
  ASSERT_TRUE(strict.SetPrimary(Outcome::kInvalid).has_value());
  EXPECT_EQ(strict.decision(), Decision::kNotCorroborated);
}

TEST(TallyResearchTest, KOfNFailsAsSoonAsKIsOutOfReach) {
  Tally tally =
      Tally::Create(Policy::KOfN(3, 5, 0, true).value(), Remotes(std::vector<Rir>(5, Rir::kArin)))
          .value();
  ASSERT_TRUE(tally.Add("r0", Outcome::kInvalid).has_value());
  ASSERT_TRUE(tally.Add("r1", Outcome::kError).has_value());
  EXPECT_EQ(tally.decision(), Decision::kPending);
  ASSERT_TRUE(tally.Add("r2", Outcome::kTimeout).has_value());
  EXPECT_EQ(tally.decision(), Decision::kNotCorroborated);
}

// ---- misuse never crashes and fails closed ---------------------------------------------------

TEST(TallyMisuseTest, TooFewRemotesIsDecidedAtCreation) {
  Tally tally = Tally::Create(Policy(), Remotes({Rir::kArin, Rir::kRipeNcc, Rir::kApnic})).value();
  EXPECT_EQ(tally.decision(), Decision::kNotCorroborated);
  EXPECT_THAT(tally.reason(), HasSubstr("3 remote perspective(s) attempted"));
  ASSERT_TRUE(tally.SetPrimary(Outcome::kCorroborated).has_value());
  for (const char* name : {"r0", "r1", "r2"}) {
    ASSERT_TRUE(tally.Add(name, Outcome::kCorroborated).has_value());
  }
  EXPECT_EQ(tally.decision(), Decision::kNotCorroborated);
  EXPECT_EQ(tally.QuorumString(), "3/3");
}

TEST(TallyMisuseTest, UnknownDuplicateAndEmptyNamesAreErrors) {
  Tally tally = Tally::Create(At(Date{2025, 9, 15}), Remotes({Rir::kArin, Rir::kApnic})).value();
  for (const char* bad : {"r9", "", "R0", "r0 "}) {
    Status status = tally.Add(bad, Outcome::kCorroborated);
    ASSERT_FALSE(status.has_value()) << bad;
    EXPECT_EQ(status.error().type, ProblemType::kServerInternal);
  }
  EXPECT_EQ(tally.corroborating(), 0);
  ASSERT_TRUE(tally.Add("r0", Outcome::kInvalid).has_value());
  Status again = tally.Add("r0", Outcome::kCorroborated);
  ASSERT_FALSE(again.has_value());
  EXPECT_THAT(again.error().detail, HasSubstr("already reported (invalid)"));
  EXPECT_EQ(tally.remotes()[0].outcome, Outcome::kInvalid);  // the first result stands
  EXPECT_EQ(tally.corroborating(), 0);
  EXPECT_EQ(tally.non_corroborating(), 1);

  ASSERT_TRUE(tally.SetPrimary(Outcome::kCorroborated).has_value());
  Status twice = tally.SetPrimary(Outcome::kInvalid);
  ASSERT_FALSE(twice.has_value());
  EXPECT_EQ(twice.error().type, ProblemType::kServerInternal);
  EXPECT_EQ(tally.primary(), Outcome::kCorroborated);
}

TEST(TallyMisuseTest, AnOutcomeOutsideTheEnumIsAnError) {
  Tally tally = Tally::Create(At(Date{2025, 9, 15}), Remotes({Rir::kArin, Rir::kApnic})).value();
  ASSERT_TRUE(tally.SetPrimary(Outcome::kCorroborated).has_value());
  ASSERT_TRUE(tally.Add("r0", static_cast<Outcome>(42)).has_value());
  EXPECT_EQ(tally.remotes()[0].outcome, Outcome::kError);
  EXPECT_EQ(tally.non_corroborating(), 1);
  ASSERT_TRUE(tally.Add("r1", static_cast<Outcome>(-1)).has_value());
  EXPECT_EQ(tally.decision(), Decision::kNotCorroborated);
  EXPECT_EQ(OutcomeName(static_cast<Outcome>(42)), "error");

  Tally primary = Tally::Create(At(Date{2025, 9, 15}), Remotes({Rir::kArin, Rir::kApnic})).value();
  ASSERT_TRUE(primary.SetPrimary(static_cast<Outcome>(7)).has_value());
  EXPECT_EQ(primary.primary(), Outcome::kError);
  EXPECT_EQ(primary.decision(), Decision::kNotCorroborated);
}

TEST(TallyMisuseTest, CreateRejectsDuplicateAndEmptyNames) {
  std::vector<Perspective> remotes = Remotes({Rir::kArin, Rir::kApnic, Rir::kLacnic});
  remotes[2].name = "r0";
  Result<Tally> duplicate = Tally::Create(Policy(), remotes);
  ASSERT_FALSE(duplicate.has_value());
  EXPECT_EQ(duplicate.error().type, ProblemType::kServerInternal);
  EXPECT_THAT(duplicate.error().detail, HasSubstr("\"r0\" attempted twice"));
  remotes[2].name.clear();
  ASSERT_FALSE(Tally::Create(Policy(), remotes).has_value());
}

TEST(TallyTest, RecordsEachFailureKindDistinctly) {
  Tally tally = Tally::Create(Policy(), Remotes({Rir::kArin, Rir::kRipeNcc, Rir::kApnic,
                                                 Rir::kLacnic, Rir::kAfrinic, Rir::kArin}))
                    .value();
  ASSERT_TRUE(tally.Add("r0", Outcome::kCorroborated).has_value());
  ASSERT_TRUE(tally.Add("r1", Outcome::kInvalid).has_value());
  ASSERT_TRUE(tally.Add("r2", Outcome::kError).has_value());
  ASSERT_TRUE(tally.Add("r3", Outcome::kTimeout).has_value());
  EXPECT_EQ(tally.decision(), Decision::kNotCorroborated);  // 3 failures of 6: > 2 allowed
  std::vector<std::string> names;
  for (const RemoteResult& r : tally.remotes()) {
    names.push_back(r.outcome ? std::string(OutcomeName(*r.outcome)) : "pending");
  }
  EXPECT_EQ(names, (std::vector<std::string>{"corroborated", "invalid", "error", "timeout",
                                             "pending", "pending"}));
  EXPECT_EQ(tally.corroborating(), 1);
  EXPECT_EQ(tally.non_corroborating(), 3);
  EXPECT_EQ(tally.pending(), 2);
  EXPECT_EQ(tally.attempted(), 6);
  EXPECT_EQ(tally.QuorumString(), "1/6");
  EXPECT_EQ(tally.policy(), Policy());
}

TEST(TallyTest, Names) {
  EXPECT_EQ(OutcomeName(Outcome::kCorroborated), "corroborated");
  EXPECT_EQ(OutcomeName(Outcome::kInvalid), "invalid");
  EXPECT_EQ(OutcomeName(Outcome::kError), "error");
  EXPECT_EQ(OutcomeName(Outcome::kTimeout), "timeout");
  EXPECT_EQ(DecisionName(Decision::kPending), "pending");
  EXPECT_EQ(DecisionName(Decision::kCorroborated), "corroborated");
  EXPECT_EQ(DecisionName(Decision::kNotCorroborated), "not_corroborated");
}

}  // namespace
}  // namespace mpic::quorum
