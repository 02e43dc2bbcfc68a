#include "tools/simulate_command.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <tuple>

#include "routesim/attack.h"
#include "routesim/generator.h"
#include "routesim/graph.h"
#include "routesim/perspectives.h"
#include "routesim/resilience.h"
#include "routesim/topology.h"
#include "lab/flags.h"

namespace mpic::tools {
namespace {

using lab::Flags;

namespace rs = mpic::routesim;
using nlohmann::json;

constexpr const char* kUsage =
    "usage: mpic simulate SUBCOMMAND [FLAGS]\n"
    "subcommands:\n"
    "  resilience   resilience of one placement (the perspectives given) per victim\n"
    "  placement    rank every --size K subset of the perspectives (a catalogue)\n"
    "  route        the route each AS chose for one origin (and attacker)\n"
    "  generate     write an Internet-like AS graph (CAIDA serial-1 text)\n"
    "  merge        combine --shard outputs and report (resilience, or placement with --size)\n"
    "graph:        --topology FILE (CAIDA serial-1/2, plain, .gz or .bz2) | --generate N\n"
    "              [--graph-seed S]\n"
    "perspectives: --perspectives FILE (routesim JSON) | --config PRIMARY.json --asn-map FILE\n"
    "policy:       --policy br:YYYY-MM-DD | k-of-n:K/N[,rirs=R][,primary-optional]\n"
    "              (default: the config's policy)\n"
    "attack:       --attack origin|forged-origin|subprefix|none (default origin)\n"
    "              --tie-break lowest-asn|highest-asn|hash[:SALT] (default lowest-asn)\n"
    "              --rov-fraction F [--rov-seed S]   ROV adopters among all ASes\n"
    "sample:       --victims N (default 100) | --victim [NAME=]ASN[+ASN...] (repeatable)\n"
    "              --adversaries M (default 1000) --seed S (default 1) --threads T\n"
    "output:       --json | --csv FILE | --plot FILE.png | --shard I/N --out FILE\n"
    "route:        --origin ASN [--attacker ASN] [--as ASN|NAME]... [--json]\n"
    "generate:     --ases N [--graph-seed S] --out FILE\n"
    "placement:    --size K [--top N (default 10)]\n"
    "See docs/routesim.md.\n";

// Bad input: message to err, exit 2.
int Bad(std::ostream& err, const std::string& message) {
  err << "mpic simulate: " << message << "\n";
  return 2;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ProblemType::kMalformed, path + ": cannot open");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Fixed(double v, int digits = 3) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

std::string TodayUtc() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
  return buf;
}

Result<uint32_t> ParseAsnText(std::string_view text) {
  if (text.starts_with("AS") || text.starts_with("as")) text.remove_prefix(2);
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || v == 0 ||
      v > 0xFFFFFFFFull) {
    return Fail(ProblemType::kMalformed, "bad AS number \"" + std::string(text) + "\"");
  }
  return static_cast<uint32_t>(v);
}

Result<double> ParseFraction(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(v >= 0.0 && v <= 1.0)) {
    return Fail(ProblemType::kMalformed, "--rov-fraction must be a number in [0, 1]");
  }
  return v;
}

const std::map<std::string, Flags::Kind> kCommonFlags = {
    {"topology", Flags::kValue},     {"generate", Flags::kValue},    {"graph-seed", Flags::kValue},
    {"perspectives", Flags::kValue}, {"config", Flags::kValue},      {"asn-map", Flags::kValue},
    {"policy", Flags::kValue},       {"attack", Flags::kValue},      {"tie-break", Flags::kValue},
    {"rov-fraction", Flags::kValue}, {"rov-seed", Flags::kValue},    {"victims", Flags::kValue},
    {"victim", Flags::kRepeated},    {"adversaries", Flags::kValue}, {"seed", Flags::kValue},
    {"threads", Flags::kValue},      {"json", Flags::kSwitch},       {"csv", Flags::kValue},
    {"plot", Flags::kValue},         {"shard", Flags::kValue},       {"out", Flags::kValue},
    {"size", Flags::kValue},         {"top", Flags::kValue},         {"origin", Flags::kValue},
    {"attacker", Flags::kValue},     {"as", Flags::kRepeated},       {"ases", Flags::kValue},
};

// Everything a report needs; what a shard file carries.
struct Report {
  json run;  // parameters, for people and for merge's consistency check
  std::vector<quorum::Perspective> catalogue;
  int primary = -1;
  std::string policy_text;
  std::vector<size_t> victim_index;
  std::vector<rs::VictimCaptures> captures;
};

json PerspectiveJson(const quorum::Perspective& p) {
  return {{"name", p.name},
          {"rir", std::string(quorum::RirName(p.rir))},
          {"lat", p.location.lat},
          {"lon", p.location.lon}};
}

json ShardJson(const Report& r, const std::string& shard) {
  json victims = json::array();
  for (size_t i = 0; i < r.captures.size(); ++i) {
    const rs::VictimCaptures& vc = r.captures[i];
    victims.push_back({{"index", r.victim_index[i]},
                       {"name", vc.name},
                       {"origins", vc.origins},
                       {"adversaries", vc.adversaries},
                       {"captured", vc.captured},
                       {"no_route", vc.no_route},
                       {"simulations", vc.simulations}});
  }
  json catalogue = json::array();
  for (const auto& p : r.catalogue) catalogue.push_back(PerspectiveJson(p));
  return {{"routesim_shard", 1},     {"shard", shard},       {"run", r.run},
          {"policy", r.policy_text}, {"primary", r.primary}, {"catalogue", catalogue},
          {"victims", victims}};
}

Result<Report> ReportFromShard(const json& j, const std::string& name) {
  try {
    Report r;
    if (j.value("routesim_shard", 0) != 1) {
      return Fail(ProblemType::kMalformed, name + ": not a routesim shard file");
    }
    r.run = j.at("run");
    r.policy_text = j.at("policy").get<std::string>();
    r.primary = j.at("primary").get<int>();
    for (const json& p : j.at("catalogue")) {
      auto rir = quorum::ParseRir(p.at("rir").get<std::string>());
      if (!rir) return Fail(ProblemType::kMalformed, name + ": " + rir.error().detail);
      r.catalogue.push_back(
          quorum::Perspective{p.at("name").get<std::string>(),
                              *rir,
                              {p.at("lat").get<double>(), p.at("lon").get<double>()}});
    }
    for (const json& v : j.at("victims")) {
      rs::VictimCaptures vc;
      vc.name = v.at("name").get<std::string>();
      vc.origins = v.at("origins").get<std::vector<rs::Asn>>();
      vc.adversaries = v.at("adversaries").get<std::vector<rs::Asn>>();
      vc.captured = v.at("captured").get<std::vector<uint64_t>>();
      vc.no_route = v.at("no_route").get<std::vector<uint32_t>>();
      vc.simulations = v.at("simulations").get<size_t>();
      if (vc.no_route.size() != r.catalogue.size() ||
          (!vc.captured.empty() && vc.captured.size() != vc.adversaries.size())) {
        return Fail(ProblemType::kMalformed, name + ": victim \"" + vc.name + "\" is inconsistent");
      }
      r.victim_index.push_back(v.at("index").get<size_t>());
      r.captures.push_back(std::move(vc));
    }
    return r;
  } catch (const json::exception& e) {
    return Fail(ProblemType::kMalformed, name + ": bad shard file (" + e.what() + ")");
  }
}

// --- graph and perspectives -----------------------------------------------------------------

struct Inputs {
  std::optional<rs::Graph> graph;
  std::string graph_description;
  rs::PerspectiveSet set;
  std::vector<rs::NodeId> nodes;
  bool have_perspectives = false;
};

Status LoadInputs(const Flags& flags, bool need_perspectives, Inputs* in) {
  if (flags.Has("perspectives") && flags.Has("config")) {
    return Fail(ProblemType::kMalformed, "give --perspectives or --config, not both");
  }
  if (flags.Has("perspectives")) {
    auto text = ReadFile(*flags.Get("perspectives"));
    if (!text) return Fail(text.error());
    auto set = rs::ParsePerspectives(*text, *flags.Get("perspectives"));
    if (!set) return Fail(set.error());
    in->set = std::move(*set);
    in->have_perspectives = true;
  } else if (flags.Has("config")) {
    if (!flags.Has("asn-map")) {
      return Fail(ProblemType::kMalformed, "--config needs --asn-map (perspective name -> ASN)");
    }
    auto config = ReadFile(*flags.Get("config"));
    if (!config) return Fail(config.error());
    auto map = ReadFile(*flags.Get("asn-map"));
    if (!map) return Fail(map.error());
    auto set = rs::ParsePrimaryConfig(*config, *flags.Get("config"), *map, *flags.Get("asn-map"));
    if (!set) return Fail(set.error());
    in->set = std::move(*set);
    in->have_perspectives = true;
  } else if (need_perspectives) {
    return Fail(ProblemType::kMalformed,
                "needs --perspectives FILE or --config FILE --asn-map FILE");
  }
  rs::Topology topology;
  if (flags.Has("topology") == flags.Has("generate")) {
    return Fail(ProblemType::kMalformed, "give exactly one of --topology FILE or --generate N");
  }
  if (flags.Has("topology")) {
    auto topo = rs::ReadTopologyFile(*flags.Get("topology"));
    if (!topo) return Fail(topo.error());
    topology = std::move(*topo);
    in->graph_description = *flags.Get("topology");
  } else {
    auto n = flags.GetInt("generate", 20, 2000000);
    if (!n) return Fail(n.error());
    auto seed = flags.GetInt("graph-seed", 0, LONG_MAX);
    if (!seed) return Fail(seed.error());
    rs::GeneratorOptions options;
    options.ases = static_cast<int>(**n);
    options.seed = static_cast<uint64_t>(seed->value_or(1));
    topology = rs::GenerateTopology(options);
    in->graph_description =
        "generated " + std::to_string(options.ases) + " ASes, seed " + std::to_string(options.seed);
  }
  auto graph = rs::Graph::Build(topology, rs::PseudoAsesOf(in->set));
  if (!graph) return Fail(graph.error());
  in->graph.emplace(std::move(*graph));
  if (in->have_perspectives) {
    auto nodes = rs::ResolvePerspectives(*in->graph, in->set);
    if (!nodes) return Fail(nodes.error());
    in->nodes = std::move(*nodes);
  }
  return {};
}

Result<std::string> PolicyText(const Flags& flags, const rs::PerspectiveSet& set) {
  std::string text = flags.Get("policy").value_or(set.policy_text);
  if (text.empty()) {
    return Fail(ProblemType::kMalformed,
                "needs --policy (br:YYYY-MM-DD or k-of-n:K/N[,rirs=R][,primary-optional])");
  }
  if (text == "br:today") text = "br:" + TodayUtc();
  return text;
}

// Victims: --victim flags, or a seeded sample of --victims N real ASes.
Result<std::vector<rs::Victim>> Victims(const Flags& flags, const rs::Graph& graph, uint64_t seed) {
  std::vector<rs::Victim> victims;
  for (const std::string& spec : flags.GetAll("victim")) {
    rs::Victim v;
    std::string_view rest = spec;
    if (size_t eq = rest.find('='); eq != std::string_view::npos) {
      v.name = std::string(rest.substr(0, eq));
      rest.remove_prefix(eq + 1);
    }
    std::string label;
    while (true) {
      size_t plus = rest.find('+');
      auto asn = ParseAsnText(rest.substr(0, plus));
      if (!asn)
        return Fail(ProblemType::kMalformed, "--victim " + spec + ": " + asn.error().detail);
      auto node = graph.Find(*asn);
      if (!node) {
        return Fail(ProblemType::kMalformed,
                    "--victim " + spec + ": AS" + std::to_string(*asn) + " is not in the graph");
      }
      if (std::find(v.origins.begin(), v.origins.end(), *node) == v.origins.end()) {
        v.origins.push_back(*node);
      }
      label += (label.empty() ? "AS" : "+AS") + std::to_string(*asn);
      if (plus == std::string_view::npos) break;
      rest.remove_prefix(plus + 1);
    }
    if (v.name.empty()) v.name = label;
    victims.push_back(std::move(v));
  }
  if (!victims.empty()) {
    if (flags.Has("victims")) return Fail(ProblemType::kMalformed, "--victim and --victims");
    return victims;
  }
  auto count = flags.GetInt("victims", 1, 10000000);
  if (!count) return Fail(count.error());
  for (rs::NodeId v : rs::SampleNodes(graph, static_cast<size_t>(count->value_or(100)),
                                      seed ^ 0x5eed5eed5eedull, {})) {
    victims.push_back(rs::Victim{graph.Label(v), {v}});
  }
  return victims;
}

Result<std::pair<size_t, size_t>> ParseShard(const std::string& text) {
  size_t slash = text.find('/');
  size_t i = 0;
  size_t n = 0;
  auto num = [](std::string_view s, size_t* out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size();
  };
  if (slash == std::string::npos || !num(std::string_view(text).substr(0, slash), &i) ||
      !num(std::string_view(text).substr(slash + 1), &n) || n == 0 || i >= n) {
    return Fail(ProblemType::kMalformed, "--shard must be I/N with 0 <= I < N, e.g. 0/8");
  }
  return std::make_pair(i, n);
}

// Computes the captures of a resilience or placement run (or one shard of it).
Result<Report> Compute(const Flags& flags, Inputs& in, std::ostream& err) {
  Report r;
  auto policy_text = PolicyText(flags, in.set);
  if (!policy_text) return Fail(policy_text.error());
  auto policy = rs::ParsePolicy(*policy_text);
  if (!policy) return Fail(policy.error());
  r.policy_text = *policy_text;
  auto attack = rs::ParseAttackKind(flags.Get("attack").value_or("origin"));
  if (!attack) return Fail(attack.error());
  auto tie_break = rs::TieBreak::Parse(flags.Get("tie-break").value_or("lowest-asn"));
  if (!tie_break) return Fail(tie_break.error());
  auto adversaries = flags.GetInt("adversaries", 1, 10000000);
  if (!adversaries) return Fail(adversaries.error());
  auto seed = flags.GetInt("seed", 0, LONG_MAX);
  if (!seed) return Fail(seed.error());
  auto threads = flags.GetInt("threads", 1, 1024);
  if (!threads) return Fail(threads.error());
  auto rov_seed = flags.GetInt("rov-seed", 0, LONG_MAX);
  if (!rov_seed) return Fail(rov_seed.error());
  double rov_fraction = 0;
  if (flags.Has("rov-fraction")) {
    auto f = ParseFraction(*flags.Get("rov-fraction"));
    if (!f) return Fail(f.error());
    rov_fraction = *f;
  }
  const rs::Graph& graph = *in.graph;
  const uint64_t run_seed = static_cast<uint64_t>(seed->value_or(1));
  auto victims = Victims(flags, graph, run_seed);
  if (!victims) return Fail(victims.error());
  for (const auto& p : in.set.perspectives) r.catalogue.push_back(p.identity);
  r.primary = in.set.primary;
  if (r.primary < 0) {
    err << "mpic simulate: no primary among the perspectives: it is assumed captured (the "
           "worst case)\n";
  }
  std::vector<uint8_t> rov;
  if (rov_fraction > 0) {
    rov = rs::SampleRovAdopters(graph, rov_fraction, static_cast<uint64_t>(rov_seed->value_or(1)));
  }
  rs::CaptureJob job;
  job.graph = &graph;
  job.tie_break = *tie_break;
  job.attack = *attack;
  job.rov_adopters = rov.empty() ? nullptr : &rov;
  job.perspectives = in.nodes;
  job.adversaries = static_cast<size_t>(adversaries->value_or(1000));
  job.seed = run_seed;
  job.threads =
      static_cast<int>(threads->value_or(std::max(1u, std::thread::hardware_concurrency())));
  size_t shard_i = 0;
  size_t shard_n = 1;
  if (flags.Has("shard")) {
    auto s = ParseShard(*flags.Get("shard"));
    if (!s) return Fail(s.error());
    std::tie(shard_i, shard_n) = *s;
  }
  std::vector<rs::Victim> mine;
  for (size_t i = 0; i < victims->size(); ++i) {
    if (i % shard_n != shard_i) continue;
    mine.push_back((*victims)[i]);
    r.victim_index.push_back(i);
  }
  json perspectives_json = json::array();
  for (size_t i = 0; i < in.set.perspectives.size(); ++i) {
    const auto& p = in.set.perspectives[i];
    perspectives_json.push_back({{"name", p.identity.name},
                                 {"node", graph.Label(in.nodes[i])},
                                 {"pseudo", !p.neighbors.empty()}});
  }
  r.run = {{"graph", in.graph_description},
           {"ases", graph.size()},
           {"links", graph.link_count()},
           {"attack", std::string(rs::AttackKindName(*attack))},
           {"tie_break", tie_break->Describe()},
           {"policy", policy->Describe()},
           {"seed", run_seed},
           {"adversaries_per_victim", job.adversaries},
           {"victims_total", victims->size()},
           {"rov_fraction", rov_fraction},
           {"rov_seed", rov_seed->value_or(1)},
           {"perspectives", perspectives_json}};
  auto start = std::chrono::steady_clock::now();
  r.captures = rs::ComputeCaptures(job, mine, r.victim_index);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  size_t sims = 0;
  for (const auto& vc : r.captures) sims += vc.simulations;
  err << "mpic simulate: " << sims << " simulations on " << job.threads << " thread(s) in "
      << Fixed(seconds, 1) << " s\n";
  return r;
}

// --- output -----------------------------------------------------------------------------------

std::string PlacementNames(const Report& r, uint64_t remotes) {
  std::string out;
  for (size_t i = 0; i < r.catalogue.size(); ++i) {
    if (((remotes >> i) & 1) == 0) continue;
    if (!out.empty()) out += ",";
    out += r.catalogue[i].name;
  }
  return out;
}

std::string Origins(const rs::VictimCaptures& vc) {
  std::string out;
  for (rs::Asn a : vc.origins) out += (out.empty() ? "AS" : "+AS") + std::to_string(a);
  return out;
}

void PrintRun(const Report& r, std::ostream& out) {
  out << "routesim: attack " << r.run.value("attack", "") << ", tie-break "
      << r.run.value("tie_break", "") << ", policy " << r.run.value("policy", "") << "\n"
      << "graph: " << r.run.value("graph", "") << " (" << r.run.value("ases", 0) << " ASes, "
      << r.run.value("links", 0) << " links)";
  if (r.run.value("rov_fraction", 0.0) > 0) {
    out << ", ROV adopters " << Fixed(r.run.value("rov_fraction", 0.0) * 100, 1) << "%";
  }
  out << "\n"
      << r.captures.size() << " victims x " << r.run.value("adversaries_per_victim", 0)
      << " adversaries (seed " << r.run.value("seed", 0) << ")\n";
}

// Perspectives with no route count as not hijacked: say how often that happened.
void PrintNoRoute(const Report& r, std::ostream& out) {
  std::vector<uint64_t> total(r.catalogue.size(), 0);
  uint64_t sims = 0;
  for (const auto& vc : r.captures) {
    sims += vc.simulations;
    for (size_t p = 0; p < total.size() && p < vc.no_route.size(); ++p) total[p] += vc.no_route[p];
  }
  std::string list;
  for (size_t p = 0; p < total.size(); ++p) {
    if (total[p] == 0) continue;
    list += (list.empty() ? "" : ", ") + r.catalogue[p].name + " " + std::to_string(total[p]);
  }
  out << "no route: a perspective without a route to the victim counts as NOT hijacked; "
      << (list.empty()
              ? "every perspective had a route in all " + std::to_string(sims) + " simulations"
              : "simulations without a route (of " + std::to_string(sims) + "): " + list)
      << "\n";
}

json NoRouteJson(const Report& r) {
  json j = json::object();
  for (size_t p = 0; p < r.catalogue.size(); ++p) {
    uint64_t total = 0;
    for (const auto& vc : r.captures) total += p < vc.no_route.size() ? vc.no_route[p] : 0;
    j[r.catalogue[p].name] = total;
  }
  return j;
}

std::vector<double> Deciles(const std::vector<double>& values) {
  std::vector<double> v = values;
  std::sort(v.begin(), v.end());
  std::vector<double> out;
  for (int d = 0; d <= 10; ++d) {
    if (v.empty()) break;
    size_t idx = std::min(v.size() - 1, static_cast<size_t>(d * (v.size() - 1) / 10));
    out.push_back(v[idx]);
  }
  return out;
}

bool HasPngCairo() {
  FILE* p = popen("gnuplot -e 'set terminal' 2>&1", "r");
  if (p == nullptr) return false;
  std::string text;
  char buf[1024];
  while (size_t n = fread(buf, 1, sizeof(buf), p)) text.append(buf, n);
  pclose(p);
  return text.find("pngcairo") != std::string::npos;
}

// A CDF per series: the fraction of victims whose resilience is at most x (as in the papers).
Status Plot(const std::string& png, const std::string& title,
            const std::vector<std::pair<std::string, std::vector<double>>>& series) {
  char tmpl[] = "/tmp/mpic-routesim-plot.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Fail(ProblemType::kServerInternal, "mkdtemp failed");
  const std::string dir = tmpl;
  std::string plots;
  for (size_t s = 0; s < series.size(); ++s) {
    std::vector<double> v = series[s].second;
    std::sort(v.begin(), v.end());
    const std::string path = dir + "/s" + std::to_string(s) + ".dat";
    std::ofstream f(path);
    if (!v.empty()) f << v[0] << " 0\n";  // the step up from zero at the lowest value
    for (size_t i = 0; i < v.size(); ++i) {
      f << v[i] << " " << static_cast<double>(i + 1) / static_cast<double>(v.size()) << "\n";
    }
    std::string name = series[s].first;
    std::replace(name.begin(), name.end(), '"', '\'');
    std::replace(name.begin(), name.end(), '_', '-');
    plots += std::string(plots.empty() ? "" : ", ") + "'" + path +
             "' using 1:2 with steps lw 2 title \"" + name + "\"";
  }
  std::string script =
      std::string(HasPngCairo() ? "set terminal pngcairo size 1000,600 font 'sans,10'\n"
                                : "set terminal png size 1000,600\n") +
      "set output '" + png + "'\nset title \"" + title + "\" noenhanced\n" +
      "set xlabel 'resilience (fraction of adversaries that fail)'\n"
      "set ylabel 'fraction of victims (CDF)'\n"
      "set xrange [0:1]\nset yrange [0:1.02]\nset grid\n"
      "set key left top box opaque noenhanced\nplot " +
      plots + "\n";
  FILE* p = popen("gnuplot 2>&1", "w");
  if (p == nullptr) {
    std::filesystem::remove_all(dir);
    return Fail(ProblemType::kServerInternal, "cannot run gnuplot");
  }
  fwrite(script.data(), 1, script.size(), p);
  int rc = pclose(p);
  std::filesystem::remove_all(dir);
  if (rc != 0) {
    return Fail(ProblemType::kServerInternal,
                "gnuplot failed (is gnuplot-nox installed? exit " + std::to_string(rc) + ")");
  }
  return {};
}

int EmitResilience(const Report& r, const Flags& flags, std::ostream& out, std::ostream& err) {
  auto policy = rs::ParsePolicy(r.policy_text);
  if (!policy) return Bad(err, policy.error().detail);
  auto verdict = rs::Verdict::Create(*policy, r.catalogue, r.primary);
  if (!verdict) return Bad(err, verdict.error().detail);
  if (auto ok = rs::CheckPlacement(*policy, r.catalogue, r.primary, verdict->remotes()); !ok) {
    return Bad(err, "the perspectives do not satisfy the policy (" + policy->Describe() +
                        "): " + ok.error().detail);
  }
  std::vector<double> per = rs::Resilience(r.captures, *verdict, verdict->remotes());
  rs::Summary s = rs::Summarize(per);
  if (flags.Has("csv")) {
    std::ofstream csv(*flags.Get("csv"));
    csv << "victim,origins,adversaries,resilience\n";
    for (size_t i = 0; i < per.size(); ++i) {
      csv << r.captures[i].name << "," << Origins(r.captures[i]) << ","
          << r.captures[i].captured.size() << "," << per[i] << "\n";
    }
    if (!csv) {
      err << "mpic simulate: cannot write " << *flags.Get("csv") << "\n";
      return 1;
    }
  }
  if (flags.Has("json")) {
    json victims = json::array();
    for (size_t i = 0; i < per.size(); ++i) {
      victims.push_back({{"name", r.captures[i].name},
                         {"origins", r.captures[i].origins},
                         {"adversaries", r.captures[i].captured.size()},
                         {"resilience", per[i]}});
    }
    out << json{{"run", r.run},
                {"primary", r.primary >= 0 ? json(r.catalogue[static_cast<size_t>(r.primary)].name)
                                           : json(nullptr)},
                {"remotes", PlacementNames(r, verdict->remotes())},
                {"median", s.median},
                {"mean", s.mean},
                {"min", s.min},
                {"max", s.max},
                {"deciles", Deciles(per)},
                {"no_route_simulations", NoRouteJson(r)},
                {"no_route_counts_as", "not hijacked"},
                {"victims", victims}}
               .dump(2)
        << "\n";
  } else {
    PrintRun(r, out);
    out << "placement: primary "
        << (r.primary >= 0 ? r.catalogue[static_cast<size_t>(r.primary)].name
                           : std::string("(none: assumed captured)"))
        << " + remotes " << PlacementNames(r, verdict->remotes()) << "\n"
        << "resilience: median " << Fixed(s.median) << "  mean " << Fixed(s.mean) << "  min "
        << Fixed(s.min) << "  max " << Fixed(s.max) << "\n"
        << "deciles:";
    for (double d : Deciles(per)) out << " " << Fixed(d, 2);
    out << "\n";
    PrintNoRoute(r, out);
    out << std::left << std::setw(28) << "victim" << std::setw(28) << "origins"
        << "resilience\n";
    for (size_t i = 0; i < per.size(); ++i) {
      out << std::setw(28) << r.captures[i].name << std::setw(28) << Origins(r.captures[i])
          << Fixed(per[i]) << "\n";
    }
  }
  if (flags.Has("plot")) {
    auto ok = Plot(*flags.Get("plot"),
                   "routesim: " + r.run.value("attack", std::string()) + " hijack, " +
                       r.run.value("policy", std::string()) + ", tie-break " +
                       r.run.value("tie_break", std::string()),
                   {{"primary + " + PlacementNames(r, verdict->remotes()), per}});
    if (!ok) {
      err << "mpic simulate: " << ok.error().detail << "\n";
      return 1;
    }
    err << "mpic simulate: plot " << *flags.Get("plot") << "\n";
  }
  return 0;
}

int EmitPlacement(const Report& r, const Flags& flags, std::ostream& out, std::ostream& err) {
  auto policy = rs::ParsePolicy(r.policy_text);
  if (!policy) return Bad(err, policy.error().detail);
  auto size = flags.GetInt("size", 1, rs::kMaxCatalogue);
  if (!size || !size->has_value()) return Bad(err, "placement needs --size K (1..64)");
  auto top = flags.GetInt("top", 1, 1000000);
  if (!top) return Bad(err, top.error().detail);
  if (policy->kind() == quorum::PolicyKind::kKOfN && policy->n() != **size) {
    return Bad(err,
               "policy " + policy->Describe() + " needs --size " + std::to_string(policy->n()));
  }
  auto threads = flags.GetInt("threads", 1, 1024);
  if (!threads) return Bad(err, threads.error().detail);
  auto search = rs::SearchPlacements(
      r.captures, r.catalogue, *policy, r.primary, static_cast<int>(**size),
      static_cast<int>(top->value_or(10)),
      static_cast<int>(threads->value_or(std::max(1u, std::thread::hardware_concurrency()))));
  if (!search) return Bad(err, search.error().detail);
  if (search->evaluated == 0) {
    return Bad(err, "no placement of " + std::to_string(**size) +
                        " remote perspectives satisfies the policy (" + policy->Describe() +
                        "), e.g.: " + search->first_rejection);
  }
  if (flags.Has("csv")) {
    std::ofstream csv(*flags.Get("csv"));
    csv << "rank,remotes,median,mean,min,max\n";
    for (size_t i = 0; i < search->ranked.size(); ++i) {
      const auto& p = search->ranked[i];
      csv << i + 1 << ",\"" << PlacementNames(r, p.remotes) << "\"," << p.summary.median << ","
          << p.summary.mean << "," << p.summary.min << "," << p.summary.max << "\n";
    }
    if (!csv) {
      err << "mpic simulate: cannot write " << *flags.Get("csv") << "\n";
      return 1;
    }
  }
  if (flags.Has("json")) {
    json ranked = json::array();
    for (const auto& p : search->ranked) {
      ranked.push_back({{"remotes", PlacementNames(r, p.remotes)},
                        {"median", p.summary.median},
                        {"mean", p.summary.mean},
                        {"min", p.summary.min},
                        {"max", p.summary.max},
                        {"per_victim", p.per_victim}});
    }
    out << json{{"run", r.run},
                {"size", **size},
                {"evaluated", search->evaluated},
                {"rejected_by_policy", search->rejected},
                {"no_route_simulations", NoRouteJson(r)},
                {"no_route_counts_as", "not hijacked"},
                {"ranked", ranked}}
               .dump(2)
        << "\n";
  } else {
    PrintRun(r, out);
    out << "placements: " << search->evaluated << " of size " << **size << " ranked";
    if (search->rejected > 0) {
      out << ", " << search->rejected << " refused by the policy (e.g. " << search->first_rejection
          << ")";
    }
    out << "\n";
    PrintNoRoute(r, out);
    out << std::left << std::setw(6) << "rank" << std::setw(9) << "median" << std::setw(9) << "mean"
        << std::setw(9) << "min"
        << "remotes\n";
    for (size_t i = 0; i < search->ranked.size(); ++i) {
      const auto& p = search->ranked[i];
      out << std::setw(6) << i + 1 << std::setw(9) << Fixed(p.summary.median) << std::setw(9)
          << Fixed(p.summary.mean) << std::setw(9) << Fixed(p.summary.min)
          << PlacementNames(r, p.remotes) << "\n";
    }
  }
  if (flags.Has("plot")) {
    std::vector<std::pair<std::string, std::vector<double>>> series;
    for (size_t i = 0; i < search->ranked.size() && i < 5; ++i) {
      series.emplace_back(
          "#" + std::to_string(i + 1) + " " + PlacementNames(r, search->ranked[i].remotes),
          search->ranked[i].per_victim);
    }
    auto ok = Plot(*flags.Get("plot"),
                   "routesim placements of " + std::to_string(**size) + ": " +
                       r.run.value("attack", std::string()) + " hijack, " +
                       r.run.value("policy", std::string()),
                   series);
    if (!ok) {
      err << "mpic simulate: " << ok.error().detail << "\n";
      return 1;
    }
    err << "mpic simulate: plot " << *flags.Get("plot") << "\n";
  }
  return 0;
}

int Emit(const Report& r, bool placement, const Flags& flags, std::ostream& out,
         std::ostream& err) {
  return placement ? EmitPlacement(r, flags, out, err) : EmitResilience(r, flags, out, err);
}

// --- subcommands ------------------------------------------------------------------------------

int RunAnalysis(bool placement, const Flags& flags, std::ostream& out, std::ostream& err) {
  Inputs in;
  if (auto ok = LoadInputs(flags, true, &in); !ok) return Bad(err, ok.error().detail);
  auto policy_text = PolicyText(flags, in.set);
  if (!policy_text) return Bad(err, policy_text.error().detail);
  auto policy = rs::ParsePolicy(*policy_text);
  if (!policy) return Bad(err, policy.error().detail);
  // Fail before simulating: a placement the policy refuses, or a bad --size.
  std::vector<quorum::Perspective> ids;
  for (const auto& p : in.set.perspectives) ids.push_back(p.identity);
  auto verdict = rs::Verdict::Create(*policy, ids, in.set.primary);
  if (!verdict) return Bad(err, verdict.error().detail);
  if (!placement) {
    if (auto ok = rs::CheckPlacement(*policy, ids, in.set.primary, verdict->remotes()); !ok) {
      return Bad(err, "the perspectives do not satisfy the policy (" + policy->Describe() +
                          "): " + ok.error().detail);
    }
  } else if (!flags.Has("size") && !flags.Has("shard")) {
    return Bad(err, "placement needs --size K");
  }
  auto report = Compute(flags, in, err);
  if (!report) return Bad(err, report.error().detail);
  if (flags.Has("shard")) {
    if (!flags.Has("out")) return Bad(err, "--shard needs --out FILE");
    std::ofstream f(*flags.Get("out"));
    f << ShardJson(*report, *flags.Get("shard")).dump() << "\n";
    if (!f) {
      err << "mpic simulate: cannot write " << *flags.Get("out") << "\n";
      return 1;
    }
    err << "mpic simulate: shard " << *flags.Get("shard") << " (" << report->captures.size()
        << " victims) written to " << *flags.Get("out") << "\n";
    return 0;
  }
  return Emit(*report, placement, flags, out, err);
}

int RunMerge(const Flags& flags, std::ostream& out, std::ostream& err) {
  if (flags.positionals().size() < 2) return Bad(err, "merge needs SHARD.json files");
  std::optional<Report> merged;
  std::map<size_t, size_t> seen_shards;
  size_t shards_total = 0;
  std::vector<std::pair<size_t, rs::VictimCaptures>> all;
  for (size_t i = 1; i < flags.positionals().size(); ++i) {
    const std::string& name = flags.positionals()[i];
    auto text = ReadFile(name);
    if (!text) return Bad(err, text.error().detail);
    json j = json::parse(*text, nullptr, false);
    if (j.is_discarded()) return Bad(err, name + ": not valid JSON");
    auto r = ReportFromShard(j, name);
    if (!r) return Bad(err, r.error().detail);
    auto shard = ParseShard(j.value("shard", std::string()));
    if (!shard) return Bad(err, name + ": " + shard.error().detail);
    if (shards_total != 0 && shard->second != shards_total) {
      return Bad(err, name + ": shard " + j.value("shard", std::string()) + " of a run split " +
                          std::to_string(shards_total) + " ways before");
    }
    shards_total = shard->second;
    if (seen_shards.contains(shard->first)) {
      return Bad(err, name + ": shard " + j.value("shard", std::string()) + " given twice");
    }
    seen_shards[shard->first] = i;
    if (merged && (merged->run != r->run || merged->policy_text != r->policy_text ||
                   merged->primary != r->primary || merged->catalogue != r->catalogue)) {
      return Bad(err, name + ": a shard of a different run (parameters differ)");
    }
    for (size_t v = 0; v < r->captures.size(); ++v) {
      all.emplace_back(r->victim_index[v], std::move(r->captures[v]));
    }
    if (!merged) {
      r->captures.clear();
      r->victim_index.clear();
      merged = std::move(*r);
    }
  }
  if (seen_shards.size() != shards_total) {
    return Bad(err, "merge: " + std::to_string(seen_shards.size()) + " of " +
                        std::to_string(shards_total) + " shards given");
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [index, vc] : all) {
    merged->victim_index.push_back(index);
    merged->captures.push_back(std::move(vc));
  }
  return Emit(*merged, flags.Has("size"), flags, out, err);
}

int RunGenerate(const Flags& flags, std::ostream& err) {
  auto n = flags.GetInt("ases", 20, 2000000);
  if (!n || !n->has_value()) return Bad(err, "generate needs --ases N (20..2000000)");
  auto seed = flags.GetInt("graph-seed", 0, LONG_MAX);
  if (!seed) return Bad(err, seed.error().detail);
  if (!flags.Has("out")) return Bad(err, "generate needs --out FILE");
  rs::GeneratorOptions options;
  options.ases = static_cast<int>(**n);
  options.seed = static_cast<uint64_t>(seed->value_or(1));
  rs::Topology topo = rs::GenerateTopology(options);
  std::ofstream f(*flags.Get("out"));
  f << rs::FormatTopology(topo, "mpic simulate generate --ases " + std::to_string(options.ases) +
                                    " --graph-seed " + std::to_string(options.seed) +
                                    " (synthetic, not CAIDA data)");
  if (!f) {
    err << "mpic simulate: cannot write " << *flags.Get("out") << "\n";
    return 1;
  }
  err << "mpic simulate: " << topo.links.size() << " links among " << options.ases
      << " ASes written to " << *flags.Get("out") << "\n";
  return 0;
}

int RunRoute(const Flags& flags, std::ostream& out, std::ostream& err) {
  Inputs in;
  if (auto ok = LoadInputs(flags, false, &in); !ok) return Bad(err, ok.error().detail);
  const rs::Graph& graph = *in.graph;
  if (!flags.Has("origin")) return Bad(err, "route needs --origin ASN");
  auto find = [&graph](const std::string& text) -> Result<rs::NodeId> {
    if (auto pseudo = graph.FindPseudo(text)) return *pseudo;
    auto asn = ParseAsnText(text);
    if (!asn) return Fail(asn.error());
    auto node = graph.Find(*asn);
    if (!node) {
      return Fail(ProblemType::kMalformed, "AS" + std::to_string(*asn) + " is not in the graph");
    }
    return *node;
  };
  auto origin = find(*flags.Get("origin"));
  if (!origin) return Bad(err, "--origin: " + origin.error().detail);
  rs::NodeId attacker = rs::kNoNode;
  if (flags.Has("attacker")) {
    auto a = find(*flags.Get("attacker"));
    if (!a) return Bad(err, "--attacker: " + a.error().detail);
    attacker = *a;
    if (attacker == *origin) return Bad(err, "--attacker is the origin");
  }
  auto kind = rs::ParseAttackKind(
      flags.Get("attack").value_or(attacker == rs::kNoNode ? "none" : "origin"));
  if (!kind) return Bad(err, kind.error().detail);
  if ((*kind == rs::AttackKind::kNone) != (attacker == rs::kNoNode)) {
    return Bad(err, "--attacker goes with an attack other than none");
  }
  auto tie_break = rs::TieBreak::Parse(flags.Get("tie-break").value_or("lowest-asn"));
  if (!tie_break) return Bad(err, tie_break.error().detail);
  std::vector<uint8_t> rov;
  if (flags.Has("rov-fraction")) {
    auto f = ParseFraction(*flags.Get("rov-fraction"));
    if (!f) return Bad(err, f.error().detail);
    auto rov_seed = flags.GetInt("rov-seed", 0, LONG_MAX);
    if (!rov_seed) return Bad(err, rov_seed.error().detail);
    rov = rs::SampleRovAdopters(graph, *f, static_cast<uint64_t>(rov_seed->value_or(1)));
  }
  std::vector<rs::NodeId> nodes;
  for (const std::string& a : flags.GetAll("as")) {
    auto node = find(a);
    if (!node) return Bad(err, "--as: " + node.error().detail);
    nodes.push_back(*node);
  }
  if (nodes.empty()) {
    for (rs::NodeId v = 0; v < graph.size(); ++v) nodes.push_back(v);
  }
  rs::Simulator sim(graph, *tie_break, rov.empty() ? nullptr : &rov);
  sim.Run(*origin, attacker, *kind);
  auto path_text = [&](const rs::RouteTable& t, rs::NodeId v, std::vector<std::string>* parts) {
    std::string s;
    for (rs::NodeId x : rs::PathOf(t, v)) {
      std::string label = graph.Label(x);
      if (parts != nullptr) parts->push_back(label);
      s += (s.empty() ? "" : " ") + label;
    }
    uint8_t a = t.ann.empty() ? rs::kNoAnnouncement : t.ann[static_cast<size_t>(v)];
    if (&t == &sim.covering() && a != rs::kNoAnnouncement &&
        sim.covering_announcements()[a].claimed_origin != 0) {
      std::string claimed = "AS" + std::to_string(sim.covering_announcements()[a].claimed_origin);
      if (parts != nullptr) parts->push_back(claimed);
      s += " " + claimed + "(forged)";
    }
    return s;
  };
  const bool subprefix = *kind == rs::AttackKind::kSubprefix;
  if (flags.Has("json")) {
    json rows = json::array();
    for (rs::NodeId v : nodes) {
      const rs::RouteTable& t = sim.covering();
      auto i = static_cast<size_t>(v);
      std::vector<std::string> parts;
      json row = {{"as", graph.Label(v)},
                  {"class", std::string(rs::RouteClassName(t.route_class[i]))},
                  {"next_hop",
                   t.next_hop[i] == rs::kNoNode ? json(nullptr) : json(graph.Label(t.next_hop[i]))},
                  {"reaches", std::string(rs::ReachName(sim.ReachOf(v)))}};
      path_text(t, v, &parts);
      row["path"] = parts;
      if (subprefix) {
        std::vector<std::string> more;
        path_text(sim.specific(), v, &more);
        row["more_specific_path"] = more;
      }
      rows.push_back(row);
    }
    out << json{{"origin", graph.Label(*origin)},
                {"attacker", attacker == rs::kNoNode ? json(nullptr) : json(graph.Label(attacker))},
                {"attack", std::string(rs::AttackKindName(*kind))},
                {"tie_break", tie_break->Describe()},
                {"routes", rows}}
               .dump(2)
        << "\n";
    return 0;
  }
  out << "routesim route: origin " << graph.Label(*origin);
  if (attacker != rs::kNoNode) {
    out << ", attacker " << graph.Label(attacker) << " (" << rs::AttackKindName(*kind) << ")";
  }
  out << ", tie-break " << tie_break->Describe() << "\n";
  out << std::left << std::setw(24) << "AS" << std::setw(10) << "class" << std::setw(24)
      << "next hop" << std::setw(10) << "reaches"
      << "AS path" << (subprefix ? "  [more-specific path]" : "") << "\n";
  for (rs::NodeId v : nodes) {
    const rs::RouteTable& t = sim.covering();
    auto i = static_cast<size_t>(v);
    out << std::setw(24) << graph.Label(v) << " " << std::setw(9)
        << rs::RouteClassName(t.route_class[i]) << std::setw(24)
        << (t.next_hop[i] == rs::kNoNode ? "-" : graph.Label(t.next_hop[i])) << std::setw(10)
        << rs::ReachName(sim.ReachOf(v)) << path_text(t, v, nullptr);
    if (subprefix) {
      std::string more = path_text(sim.specific(), v, nullptr);
      out << "  [" << (more.empty() ? "none" : more) << "]";
    }
    out << "\n";
  }
  return 0;
}

}  // namespace

int RunSimulate(int argc, char** argv, int first, std::ostream& out, std::ostream& err) {
  if (first >= argc) {
    err << kUsage;
    return 2;
  }
  const std::string sub = argv[first];
  if (sub == "help" || sub == "--help" || sub == "-h") {
    out << kUsage;
    return 0;
  }
  Flags flags(kCommonFlags);
  if (auto ok = flags.Parse(argc, argv, first); !ok) {
    err << "mpic simulate: " << ok.error().detail << "\n" << kUsage;
    return 2;
  }
  if (sub != "merge" && flags.positionals().size() > 1) {
    err << "mpic simulate " << sub << ": unexpected argument \"" << flags.positionals()[1]
        << "\"\n";
    return 2;
  }
  if (sub == "resilience") return RunAnalysis(false, flags, out, err);
  if (sub == "placement") return RunAnalysis(true, flags, out, err);
  if (sub == "route") return RunRoute(flags, out, err);
  if (sub == "generate") return RunGenerate(flags, err);
  if (sub == "merge") return RunMerge(flags, out, err);
  err << "mpic simulate: unknown subcommand \"" << sub << "\"\n" << kUsage;
  return 2;
}

}  // namespace mpic::tools
