#include "routesim/resilience.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "quorum/quorum.h"
#include "routesim/generator.h"
#include "routesim/perspectives.h"

namespace mpic::routesim {
namespace {

using quorum::Perspective;
using quorum::Rir;

// The netsim scenarios' pool (tests/netsim/scenarios/br-phases.json): a primary and six remotes.
std::vector<Perspective> Pool() {
  return {{"us-east-iad-1", Rir::kArin, {39.0438, -77.4874}},
          {"eu-fra-1", Rir::kRipeNcc, {50.1109, 8.6821}},
          {"us-west-pdx-1", Rir::kArin, {45.5152, -122.6784}},
          {"ap-sin-1", Rir::kApnic, {1.3521, 103.8198}},
          {"sa-gru-1", Rir::kLacnic, {-23.5505, -46.6333}},
          {"af-jnb-1", Rir::kAfrinic, {-26.2041, 28.0473}},
          {"ap-nrt-1", Rir::kApnic, {35.6762, 139.6503}}};
}

// What the fleet decides: a captured perspective corroborates the attacker, others do not.
bool TallySaysAttackerWins(const quorum::Policy& policy, const std::vector<Perspective>& pool,
                           int primary, uint64_t captured, uint64_t remotes) {
  std::vector<Perspective> attempted;
  for (size_t i = 0; i < pool.size(); ++i) {
    if (((remotes >> i) & 1) != 0) attempted.push_back(pool[i]);
  }
  auto tally = quorum::Tally::Create(policy, attempted);
  EXPECT_TRUE(tally);
  const bool primary_captured = primary < 0 || ((captured >> primary) & 1) != 0;
  EXPECT_TRUE(tally->SetPrimary(primary_captured ? quorum::Outcome::kCorroborated
                                                 : quorum::Outcome::kInvalid));
  for (size_t i = 0; i < pool.size(); ++i) {
    if (((remotes >> i) & 1) == 0) continue;
    EXPECT_TRUE(tally->Add(pool[i].name, ((captured >> i) & 1) != 0 ? quorum::Outcome::kCorroborated
                                                                    : quorum::Outcome::kInvalid));
  }
  return tally->decision() == quorum::Decision::kCorroborated;
}

TEST(VerdictTest, EqualsTheQuorumTallyOnEveryCaptureSet) {
  const std::vector<Perspective> pool = Pool();
  std::vector<std::string> policies = {"br:2024-01-01", "br:2025-03-15", "br:2025-09-15",
                                       "br:2026-03-15", "br:2026-06-15", "br:2026-12-15"};
  for (int n = 1; n <= 6; ++n) {
    for (int k = 1; k <= n; ++k) {
      policies.push_back("k-of-n:" + std::to_string(k) + "/" + std::to_string(n));
      policies.push_back("k-of-n:" + std::to_string(k) + "/" + std::to_string(n) +
                         ",primary-optional");
      if (k >= 2) {
        policies.push_back("k-of-n:" + std::to_string(k) + "/" + std::to_string(n) + ",rirs=2");
      }
    }
  }
  size_t checked = 0;
  for (const std::string& text : policies) {
    auto policy = ParsePolicy(text);
    ASSERT_TRUE(policy) << text << ": " << policy.error().detail;
    for (int primary : {0, -1}) {
      auto verdict = Verdict::Create(*policy, pool, primary);
      ASSERT_TRUE(verdict);
      for (uint64_t remotes = 0; remotes < 128; ++remotes) {
        if (primary == 0 && (remotes & 1) != 0) continue;
        for (uint64_t captured = 0; captured < 128; ++captured) {
          ASSERT_EQ(verdict->AttackerWins(captured, remotes),
                    TallySaysAttackerWins(*policy, pool, primary, captured, remotes))
              << text << " primary " << primary << " remotes " << remotes << " captured "
              << captured;
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 100000u);
}

// The netsim harness (tests/netsim/netsim.py) computes what the real fleet must decide for each
// captured set of its scenarios; the simulator's verdict must be the same. Python prints one
// JSON line per (scenario, fleet, captured set) of every prefix hijack of the web server
// (where a captured perspective sees the attacker's content).
TEST(VerdictTest, AgreesWithTheNetsimHarnessOnItsScenarios) {
  const char* source = std::getenv("MPIC_SOURCE_DIR");
  if (source == nullptr) GTEST_SKIP() << "MPIC_SOURCE_DIR not set";
  const std::string dir = std::string(source) + "/tests/netsim";
  const std::string script =
      "import glob, json, sys\n"
      "sys.path.insert(0, '" +
      dir +
      "')\n"
      "import netsim, simpolicy\n"
      "for path in sorted(glob.glob('" +
      dir +
      "/scenarios/*.json')):\n"
      "    s = netsim.load_scenario(path)\n"
      "    primary = s['perspectives']['primary']\n"
      "    for f in s['fleets']:\n"
      "        remotes = [s['pool'][n] for n in f['remotes']]\n"
      "        for a in s['attacks']:\n"
      "            if a['kind'] not in ('prefix-hijack', 'subprefix-hijack') or a['target'] != "
      "'web':\n"
      "                continue\n"
      "            if a.get('fleets') and f['name'] not in a['fleets']:\n"
      "                continue\n"
      "            for cap in netsim.capture_sets(a, primary['name'], f['remotes']):\n"
      "                ok = [p['name'] in cap for p in [primary] + remotes]\n"
      "                exp = f['policy_obj'].decide(ok[0], [(p['rir'], g) for p, g in\n"
      "                                                     zip(remotes, ok[1:])])\n"
      "                print(json.dumps({'scenario': s['name'], 'fleet': f['name'],\n"
      "                    'policy': f.get('policy', {}), 'primary': primary,\n"
      "                    'date': getattr(f['policy_obj'], 'date', None),\n"
      "                    'remotes': remotes, 'captured': cap, 'attacker_wins': exp}))\n";
  const std::string script_path = ::testing::TempDir() + "/routesim_netsim_cases.py";
  {
    std::ofstream out(script_path);
    out << script;
  }
  FILE* pipe = popen(("python3 " + script_path + " 2>&1").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof(buf), pipe)) output.append(buf, n);
  int rc = pclose(pipe);
  if (rc != 0 && output.find("No module named") != std::string::npos) {
    GTEST_SKIP() << output;
  }
  ASSERT_EQ(rc, 0) << output;
  size_t cases = 0;
  size_t wins = 0;
  size_t pos = 0;
  while (pos < output.size()) {
    size_t nl = output.find('\n', pos);
    if (nl == std::string::npos) nl = output.size();
    auto row = nlohmann::json::parse(output.substr(pos, nl - pos));
    pos = nl + 1;
    auto to_p = [](const nlohmann::json& j) {
      std::string rir = j["rir"];
      for (char& c : rir) c = c == '_' ? ' ' : c;
      return Perspective{j["name"], *quorum::ParseRir(rir), {j["lat"], j["lon"]}};
    };
    std::vector<Perspective> pool{to_p(row["primary"])};
    for (const auto& r : row["remotes"]) pool.push_back(to_p(r));
    const auto& settings = row["policy"];
    std::string text;
    if (settings.contains("research_k")) {
      text = "k-of-n:" + std::to_string(settings["research_k"].get<int>()) + "/" +
             std::to_string(settings["research_n"].get<int>());
      if (settings.contains("research_min_rirs")) {
        text += ",rirs=" + std::to_string(settings["research_min_rirs"].get<int>());
      }
      if (settings.value("research_primary_optional", false)) text += ",primary-optional";
    } else {
      text = "br:" + row["date"].get<std::string>();
    }
    auto policy = ParsePolicy(text);
    ASSERT_TRUE(policy) << text;
    auto verdict = Verdict::Create(*policy, pool, 0);
    ASSERT_TRUE(verdict);
    uint64_t captured = 0;
    for (const auto& name : row["captured"]) {
      for (size_t i = 0; i < pool.size(); ++i) {
        if (pool[i].name == name.get<std::string>()) captured |= uint64_t{1} << i;
      }
    }
    EXPECT_EQ(verdict->AttackerWins(captured, verdict->remotes()), row["attacker_wins"].get<bool>())
        << row.dump();
    ++cases;
    if (row["attacker_wins"].get<bool>()) ++wins;
  }
  EXPECT_GT(cases, 20u);
  EXPECT_GT(wins, 0u);
  EXPECT_LT(wins, cases);
}

class CaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto g = Graph::Build(GenerateTopology(GeneratorOptions{.ases = 1500, .seed = 4}));
    ASSERT_TRUE(g);
    graph_.emplace(std::move(*g));
    job_.graph = &*graph_;
    job_.attack = AttackKind::kOrigin;
    job_.adversaries = 40;
    job_.seed = 99;
    job_.perspectives = SampleNodes(*graph_, 7, 5, {});
    std::vector<NodeId> origins = SampleNodes(*graph_, 12, 6, {});
    for (size_t i = 0; i < 6; ++i) {
      victims_.push_back(Victim{"v" + std::to_string(i), {origins[i]}});
    }
    victims_[2].origins.push_back(origins[10]);  // web server and name server
    victims_[4].origins.push_back(origins[11]);
  }
  std::optional<Graph> graph_;
  CaptureJob job_;
  std::vector<Victim> victims_;
};

TEST_F(CaptureTest, ThreadsAndShardsComputeTheSame) {
  std::vector<size_t> all = {0, 1, 2, 3, 4, 5};
  job_.threads = 1;
  auto one = ComputeCaptures(job_, victims_, all);
  job_.threads = 3;
  auto three = ComputeCaptures(job_, victims_, all);
  // Shard 1/2: victims 1, 3, 5 with their global indices.
  std::vector<Victim> odd = {victims_[1], victims_[3], victims_[5]};
  std::vector<size_t> odd_index = {1, 3, 5};
  auto shard = ComputeCaptures(job_, odd, odd_index);
  ASSERT_EQ(one.size(), 6u);
  size_t captured_any = 0;
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(one[i].captured, three[i].captured);
    EXPECT_EQ(one[i].adversaries, three[i].adversaries);
    EXPECT_EQ(one[i].captured.size(), 40u);
    for (Asn a : one[i].adversaries) {
      for (Asn o : one[i].origins) EXPECT_NE(a, o);  // an origin never attacks itself
    }
    for (uint64_t m : one[i].captured) captured_any += m != 0 ? 1 : 0;
  }
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(shard[i].captured, one[2 * i + 1].captured);
  EXPECT_GT(captured_any, 0u);
  EXPECT_EQ(one[2].simulations, 80u);  // two origins x 40 adversaries
}

TEST_F(CaptureTest, AVictimWithTwoOriginsIsCapturedWhereEitherIs) {
  std::vector<size_t> index = {2};
  std::vector<Victim> both = {victims_[2]};
  auto joint = ComputeCaptures(job_, both, index)[0];
  Simulator sim(*graph_, job_.tie_break, nullptr);
  for (size_t a = 0; a < joint.adversaries.size(); ++a) {
    uint64_t expect = 0;
    for (NodeId origin : victims_[2].origins) {
      sim.Run(origin, *graph_->Find(joint.adversaries[a]), AttackKind::kOrigin);
      for (size_t p = 0; p < job_.perspectives.size(); ++p) {
        if (sim.ReachOf(job_.perspectives[p]) == Reach::kAttacker) expect |= uint64_t{1} << p;
      }
    }
    EXPECT_EQ(joint.captured[a], expect) << a;
  }
}

TEST_F(CaptureTest, PlacementSearchRanksByMedianFromTheBitsets) {
  std::vector<size_t> all = {0, 1, 2, 3, 4, 5};
  job_.threads = 2;
  auto captures = ComputeCaptures(job_, victims_, all);
  const std::vector<Perspective> pool = Pool();
  auto policy = ParsePolicy("k-of-n:2/3");
  ASSERT_TRUE(policy);
  auto search = SearchPlacements(captures, pool, *policy, 0, 3, 100, 2);
  ASSERT_TRUE(search) << search.error().detail;
  EXPECT_EQ(search->evaluated + search->rejected, 20u);  // C(6, 3)
  ASSERT_EQ(search->ranked.size(), search->evaluated);
  auto verdict = Verdict::Create(*policy, pool, 0);
  for (size_t i = 0; i < search->ranked.size(); ++i) {
    const Placement& p = search->ranked[i];
    EXPECT_EQ(__builtin_popcountll(p.remotes), 3);
    std::vector<double> brute = Resilience(captures, *verdict, p.remotes);
    EXPECT_EQ(p.per_victim, brute);
    EXPECT_DOUBLE_EQ(p.summary.median, Summarize(brute).median);
    if (i > 0) {
      EXPECT_GE(search->ranked[i - 1].summary.median, p.summary.median);
    }
  }
  EXPECT_FALSE(SearchPlacements(captures, pool, *policy, 0, 7, 10, 1));
}

TEST(PlacementTest, TooCloseOrTooFewPerspectivesAreRejected) {
  std::vector<Perspective> pool = Pool();
  pool.push_back({"eu-ams-1", Rir::kRipeNcc, {52.3676, 4.9041}});  // 365 km from Frankfurt
  auto policy = ParsePolicy("br:2026-03-15");
  ASSERT_TRUE(policy);
  uint64_t fra_ams = (uint64_t{1} << 1) | (uint64_t{1} << 7) | (uint64_t{1} << 3);
  auto bad = CheckPlacement(*policy, pool, 0, fra_ams);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().detail.find("eu-ams-1"), std::string::npos) << bad.error().detail;
  auto bad_no_primary = CheckPlacement(*policy, pool, -1, fra_ams);
  ASSERT_FALSE(bad_no_primary);
  EXPECT_NE(bad_no_primary.error().detail.find("500 km"), std::string::npos);
  EXPECT_TRUE(CheckPlacement(*policy, pool, 0, (1u << 1) | (1u << 3) | (1u << 4)));
  EXPECT_FALSE(CheckPlacement(*policy, pool, 0, (1u << 1) | (1u << 3)));  // 2 < 3 remotes
}

TEST(SummaryTest, MedianAndMean) {
  std::vector<double> v = {0.5, 1.0, 0.0, 0.75};
  Summary s = Summarize(v);
  EXPECT_DOUBLE_EQ(s.median, 0.625);
  EXPECT_DOUBLE_EQ(s.mean, 0.5625);
  EXPECT_DOUBLE_EQ(s.min, 0.0);
  EXPECT_DOUBLE_EQ(s.max, 1.0);
}

}  // namespace
}  // namespace mpic::routesim
