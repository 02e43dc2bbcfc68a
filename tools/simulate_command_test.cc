#include "tools/simulate_command.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace mpic::tools {
namespace {

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

Outcome Simulate(std::vector<std::string> args) {
  args.insert(args.begin(), {"mpic", "simulate"});
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  std::ostringstream out;
  std::ostringstream err;
  int code = RunSimulate(static_cast<int>(argv.size()), argv.data(), 2, out, err);
  return {code, out.str(), err.str()};
}

class SimulateCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/simulate_command_test." + std::to_string(getpid());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  // Five perspectives on a generated graph: real ASes picked from the file's first lines.
  std::string Perspectives(const std::string& topology, bool too_close = false) {
    std::ifstream in(topology);
    std::string line;
    std::vector<std::string> asns;
    while (std::getline(in, line) && asns.size() < 5) {
      if (line.empty() || line[0] == '#') continue;
      std::string a = line.substr(0, line.find('|'));
      if (std::find(asns.begin(), asns.end(), a) == asns.end()) asns.push_back(a);
    }
    EXPECT_EQ(asns.size(), 5u);
    const char* places[5][4] = {{"iad", "arin", "39.04", "-77.49"},
                                {"fra", "ripe", "50.11", "8.68"},
                                {"sin", "apnic", "1.35", "103.82"},
                                {"gru", "lacnic", "-23.55", "-46.63"},
                                {"jnb", "afrinic", "-26.2", "28.05"}};
    std::string json = R"({"primary": "iad", "perspectives": [)";
    for (size_t i = 0; i < 5; ++i) {
      std::string lat = places[i][2];
      std::string lon = places[i][3];
      if (too_close && i == 4) {
        lat = "50.5";  // ~60 km from fra
        lon = "8.9";
      }
      json += std::string(i ? "," : "") + R"({"name": ")" + places[i][0] + R"(", "rir": ")" +
              places[i][1] + R"(", "lat": )" + lat + R"(, "lon": )" + lon + R"(, "asn": )" +
              asns[i] + "}";
    }
    // A pseudo-AS: a cloud region with its own upstream.
    json += R"(, {"name": "nrt", "rir": "apnic", "lat": 35.68, "lon": 139.65, "asn": )" + asns[0] +
            R"(, "neighbors": [{"asn": )" + asns[3] + R"(, "rel": "provider"}]}]})";
    return Write(too_close ? "close.json" : "perspectives.json", json);
  }
  std::string Generate() {
    std::string path = dir_ + "/graph.txt";
    Outcome g = Simulate({"generate", "--ases", "600", "--graph-seed", "3", "--out", path});
    EXPECT_EQ(g.code, 0) << g.err;
    return path;
  }
  std::string dir_;
};

TEST_F(SimulateCommandTest, ResilienceRunAndShardsMergeToTheSame) {
  const std::string graph = Generate();
  const std::string persp = Perspectives(graph);
  std::vector<std::string> base = {
      "--topology", graph, "--perspectives", persp, "--policy", "br:2026-03-15",
      "--victims",  "6",   "--adversaries",  "30",  "--seed",   "5",
      "--threads",  "2"};
  auto with = [&base](std::vector<std::string> extra) {
    std::vector<std::string> a = base;
    a.insert(a.begin(), extra.begin(), extra.end());
    return a;
  };
  Outcome full = Simulate(with({"resilience", "--json"}));
  ASSERT_EQ(full.code, 0) << full.err;
  auto j = nlohmann::json::parse(full.out);
  EXPECT_EQ(j["victims"].size(), 6u);
  EXPECT_EQ(j["run"]["tie_break"], "lowest-asn");
  EXPECT_EQ(j["no_route_counts_as"], "not hijacked");
  EXPECT_GE(j["median"].get<double>(), 0.0);
  EXPECT_LE(j["median"].get<double>(), 1.0);

  std::vector<std::string> shards;
  for (int i = 0; i < 3; ++i) {
    std::string out = dir_ + "/shard" + std::to_string(i) + ".json";
    Outcome s = Simulate(with({"resilience", "--shard", std::to_string(i) + "/3", "--out", out}));
    ASSERT_EQ(s.code, 0) << s.err;
    shards.push_back(out);
  }
  Outcome merged = Simulate({"merge", shards[2], shards[0], shards[1], "--json"});
  ASSERT_EQ(merged.code, 0) << merged.err;
  auto m = nlohmann::json::parse(merged.out);
  EXPECT_EQ(m["victims"], j["victims"]);
  EXPECT_EQ(m["median"], j["median"]);
  // A missing shard and a repeated shard are refused.
  EXPECT_EQ(Simulate({"merge", shards[0], shards[1]}).code, 2);
  EXPECT_EQ(Simulate({"merge", shards[0], shards[0], shards[1]}).code, 2);

  Outcome table = Simulate(with({"resilience", "--csv", dir_ + "/r.csv"}));
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("resilience: median"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("tie-break lowest-asn"), std::string::npos);
  EXPECT_NE(table.out.find("counts as NOT hijacked"), std::string::npos);
  std::ifstream csv(dir_ + "/r.csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header, "victim,origins,adversaries,resilience");
}

TEST_F(SimulateCommandTest, PlacementSearch) {
  const std::string graph = Generate();
  Outcome p = Simulate({"placement", "--topology", graph, "--perspectives", Perspectives(graph),
                        "--policy", "k-of-n:2/3,rirs=2", "--size", "3", "--victims", "4",
                        "--adversaries", "20", "--json", "--top", "3"});
  ASSERT_EQ(p.code, 0) << p.err;
  auto j = nlohmann::json::parse(p.out);
  EXPECT_EQ(j["evaluated"].get<int>() + j["rejected_by_policy"].get<int>(), 10);  // C(5,3)
  ASSERT_EQ(j["ranked"].size(), 3u);
  EXPECT_GE(j["ranked"][0]["median"].get<double>(), j["ranked"][1]["median"].get<double>());
  // k-of-n needs --size n.
  EXPECT_EQ(
      Simulate({"placement", "--topology", graph, "--perspectives", Perspectives(graph), "--policy",
                "k-of-n:2/3", "--size", "4", "--victims", "2", "--adversaries", "5"})
          .code,
      2);
}

TEST_F(SimulateCommandTest, RouteQueryOnAHandDrawnGraph) {
  // 1 > 50, 2 > 50 (a tie at 50), 1 = 2.
  std::string graph = Write("hand.txt", "1|50|-1\n2|50|-1\n1|2|0\n");
  Outcome r = Simulate({"route", "--topology", graph, "--origin", "1", "--attacker", "2", "--as",
                        "50", "--tie-break", "highest-asn", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["routes"].size(), 1u);
  EXPECT_EQ(j["routes"][0]["next_hop"], "AS2");
  EXPECT_EQ(j["routes"][0]["reaches"], "attacker");
  EXPECT_EQ(j["routes"][0]["path"], (nlohmann::json{"AS50", "AS2"}));
  Outcome forged = Simulate({"route", "--topology", graph, "--origin", "1", "--attacker", "2",
                             "--attack", "forged-origin"});
  ASSERT_EQ(forged.code, 0) << forged.err;
  // 50 now prefers AS1 (length 2 < 3); 2 itself announces "2 1".
  EXPECT_NE(forged.out.find("AS2 AS1(forged)"), std::string::npos) << forged.out;
}

TEST_F(SimulateCommandTest, BadInputExitsTwoWithAClearMessage) {
  const std::string graph = Generate();
  const std::string persp = Perspectives(graph);
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  std::string truncated = Write("trunc.txt", "1|2|-1\n2|3\n");
  std::string badrel = Write("rel.txt", "1|2|-1\n2|3|2\n");
  std::string unknown = Write("unknown.json", R"({"perspectives": [{"name": "x", "rir": "arin",
      "lat": 1, "lon": 1, "asn": 4199999999}]})");
  std::vector<Case> cases = {
      {{"resilience", "--topology", truncated, "--perspectives", persp, "--policy",
        "br:2026-03-15"},
       "trunc.txt:2: expected"},
      {{"route", "--topology", badrel, "--origin", "1"}, "rel.txt:2: unknown relationship code"},
      {{"resilience", "--topology", graph, "--perspectives", unknown, "--policy", "br:2026-03-15"},
       "AS4199999999 is not in the graph"},
      {{"resilience", "--topology", graph, "--perspectives", Perspectives(graph, true), "--policy",
        "br:2026-03-15"},
       "km apart"},
      {{"resilience", "--topology", graph, "--perspectives", persp, "--policy", "k-of-n:3/7"},
       "do not satisfy the policy"},  // 7 remotes needed, 5 given
      {{"resilience", "--topology", graph, "--perspectives", persp, "--policy", "br:2026-03-15",
        "--victim", "77777777"},
       "AS77777777 is not in the graph"},
      {{"resilience", "--topology", graph, "--perspectives", persp}, "needs --policy"},
      {{"route", "--topology", graph, "--origin", "1", "--tie-break", "coin"}, "bad tie-break"},
      {{"route", "--topology", dir_ + "/missing.txt", "--origin", "1"}, "cannot open"},
      {{"frobnicate"}, "unknown subcommand"},
  };
  for (const Case& c : cases) {
    Outcome o = Simulate(c.args);
    EXPECT_EQ(o.code, 2) << c.args[0] << " " << o.err;
    EXPECT_NE(o.err.find(c.expect), std::string::npos) << o.err << " / wanted " << c.expect;
  }
}

}  // namespace
}  // namespace mpic::tools
