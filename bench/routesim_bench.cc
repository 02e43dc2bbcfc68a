// routesim at Internet scale (issue 12 targets): per two-origin simulation time on an 80k-AS
// generated graph (one core), and the full run — 100 victims x 1,000 adversaries against a
// 20-perspective catalogue (plus a primary), then the best-5 placement search — wall time and
// peak RSS. Plain timing, no figure asserted.
//
//   build/bench/routesim_bench [--ases 80000] [--sims 300] [--victims 100]
//       [--adversaries 1000] [--threads 2] [--attack origin]
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "quorum/perspective.h"
#include "routesim/attack.h"
#include "routesim/generator.h"
#include "routesim/graph.h"
#include "routesim/perspectives.h"
#include "routesim/resilience.h"

namespace {

namespace rs = mpic::routesim;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// CPU time of this thread: on a shared machine, closer to "one core" than wall time.
double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

long PeakRssKib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

long Arg(int argc, char** argv, const char* name, long fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::strtol(argv[i + 1], nullptr, 10);
  }
  return fallback;
}

std::string StrArg(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return fallback;
}

// A primary and 20 candidate remotes at cloud-region coordinates, >= 500 km apart.
std::vector<mpic::quorum::Perspective> Catalogue() {
  using mpic::quorum::Rir;
  return {{"atl", Rir::kArin, {33.75, -84.39}},    {"iad", Rir::kArin, {39.04, -77.49}},
          {"pdx", Rir::kArin, {45.52, -122.68}},   {"ord", Rir::kArin, {41.88, -87.63}},
          {"dfw", Rir::kArin, {32.78, -96.80}},    {"yul", Rir::kArin, {45.50, -73.57}},
          {"fra", Rir::kRipeNcc, {50.11, 8.68}},   {"lhr", Rir::kRipeNcc, {51.51, -0.13}},
          {"arn", Rir::kRipeNcc, {59.33, 18.07}},  {"mad", Rir::kRipeNcc, {40.42, -3.70}},
          {"waw", Rir::kRipeNcc, {52.23, 21.01}},  {"sin", Rir::kApnic, {1.35, 103.82}},
          {"nrt", Rir::kApnic, {35.68, 139.65}},   {"syd", Rir::kApnic, {-33.87, 151.21}},
          {"bom", Rir::kApnic, {19.08, 72.88}},    {"icn", Rir::kApnic, {37.57, 126.98}},
          {"gru", Rir::kLacnic, {-23.55, -46.63}}, {"scl", Rir::kLacnic, {-33.45, -70.67}},
          {"bog", Rir::kLacnic, {4.71, -74.07}},   {"jnb", Rir::kAfrinic, {-26.20, 28.05}},
          {"los", Rir::kAfrinic, {6.52, 3.38}}};
}

}  // namespace

int main(int argc, char** argv) {
  const int ases = static_cast<int>(Arg(argc, argv, "--ases", 80000));
  const long sims = Arg(argc, argv, "--sims", 300);
  const size_t victims_n = static_cast<size_t>(Arg(argc, argv, "--victims", 100));
  const size_t adversaries = static_cast<size_t>(Arg(argc, argv, "--adversaries", 1000));
  const int threads = static_cast<int>(Arg(argc, argv, "--threads", 2));
  auto attack = rs::ParseAttackKind(StrArg(argc, argv, "--attack", "origin"));
  if (!attack) {
    std::fprintf(stderr, "%s\n", attack.error().detail.c_str());
    return 2;
  }

  auto t0 = Clock::now();
  rs::Topology topo = rs::GenerateTopology(rs::GeneratorOptions{.ases = ases, .seed = 7});
  const double gen_s = Seconds(t0);
  t0 = Clock::now();
  auto graph = rs::Graph::Build(topo);
  if (!graph) {
    std::fprintf(stderr, "%s\n", graph.error().detail.c_str());
    return 1;
  }
  const double build_s = Seconds(t0);
  std::printf("graph: %d ASes, %zu links (generated seed 7: %.2f s, CSR build %.2f s)\n",
              graph->size(), graph->link_count(), gen_s, build_s);

  // 1. One two-origin simulation (victim + attacker, equally specific), one core.
  rs::Simulator sim(*graph, rs::TieBreak{}, nullptr);
  rs::Rng rng(42);
  std::vector<double> ms;
  std::vector<double> cpu_ms;
  for (long i = 0; i < sims; ++i) {
    auto v = static_cast<rs::NodeId>(rng.Below(static_cast<uint64_t>(graph->size())));
    auto a = static_cast<rs::NodeId>(rng.Below(static_cast<uint64_t>(graph->size())));
    if (v == a) continue;
    auto s = Clock::now();
    double c = ThreadCpuSeconds();
    sim.Run(v, a, rs::AttackKind::kOrigin);
    cpu_ms.push_back((ThreadCpuSeconds() - c) * 1000);
    ms.push_back(Seconds(s) * 1000);
  }
  std::sort(ms.begin(), ms.end());
  std::sort(cpu_ms.begin(), cpu_ms.end());
  double sum = 0;
  for (double x : ms) sum += x;
  std::printf(
      "two-origin simulation (origin hijack, 1 core): median %.2f ms, mean %.2f ms, "
      "p90 %.2f ms over %zu runs\n",
      ms[ms.size() / 2], sum / static_cast<double>(ms.size()), ms[ms.size() * 9 / 10], ms.size());
  std::printf("  thread CPU time: median %.2f ms, p90 %.2f ms\n", cpu_ms[cpu_ms.size() / 2],
              cpu_ms[cpu_ms.size() * 9 / 10]);

  // 2. The full run.
  std::vector<mpic::quorum::Perspective> catalogue = Catalogue();
  rs::CaptureJob job;
  job.graph = &*graph;
  job.attack = *attack;
  job.perspectives = rs::SampleNodes(*graph, catalogue.size(), 11, {});
  job.adversaries = adversaries;
  job.seed = 1;
  job.threads = threads;
  std::vector<rs::Victim> victims;
  std::vector<size_t> index;
  for (rs::NodeId v : rs::SampleNodes(*graph, victims_n, 12, {})) {
    index.push_back(victims.size());
    victims.push_back(rs::Victim{graph->Label(v), {v}});
  }
  t0 = Clock::now();
  auto captures = rs::ComputeCaptures(job, victims, index);
  const double capture_s = Seconds(t0);
  size_t total_sims = 0;
  for (const auto& vc : captures) total_sims += vc.simulations;
  auto policy = rs::ParsePolicy("br:2026-12-15");
  t0 = Clock::now();
  auto search = rs::SearchPlacements(captures, catalogue, *policy, 0, 5, 5, threads);
  const double search_s = Seconds(t0);
  if (!search) {
    std::fprintf(stderr, "%s\n", search.error().detail.c_str());
    return 1;
  }
  auto verdict = rs::Verdict::Create(*policy, catalogue, 0);
  rs::Summary all = rs::Summarize(rs::Resilience(captures, *verdict, verdict->remotes()));
  std::printf(
      "full run: %zu victims x %zu adversaries (%s), %zu simulations on %d thread(s): "
      "%.1f s (%.2f ms per simulation per thread)\n",
      victims.size(), adversaries, std::string(rs::AttackKindName(*attack)).c_str(), total_sims,
      threads, capture_s,
      capture_s * 1000 * threads / static_cast<double>(std::max<size_t>(total_sims, 1)));
  std::printf("placement search: best 5 of 20 (%zu ranked, %zu refused by %s): %.2f s\n",
              search->evaluated, search->rejected, policy->Describe().c_str(), search_s);
  if (!search->ranked.empty()) {
    std::printf("  best median %.3f (mean %.3f); all 20 remotes: median %.3f\n",
                search->ranked[0].summary.median, search->ranked[0].summary.mean, all.median);
  }
  std::printf("total wall %.1f s, peak RSS %.0f MiB\n", gen_s + build_s + capture_s + search_s,
              static_cast<double>(PeakRssKib()) / 1024.0);
  return 0;
}
