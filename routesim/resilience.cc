#include "routesim/resilience.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <thread>

#include "quorum/fleet.h"
#include "quorum/geo.h"

namespace mpic::routesim {
namespace {

uint64_t Mix(uint64_t a, uint64_t b) {
  Rng rng(a ^ (b * 0x9e3779b97f4a7c15ull));
  return rng.Next();
}

// (mask, how many adversaries produced it), per victim.
using Histogram = std::vector<std::pair<uint64_t, uint32_t>>;

Histogram Compress(const std::vector<uint64_t>& masks) {
  std::vector<uint64_t> sorted = masks;
  std::sort(sorted.begin(), sorted.end());
  Histogram out;
  for (uint64_t m : sorted) {
    if (!out.empty() && out.back().first == m) {
      ++out.back().second;
    } else {
      out.emplace_back(m, 1);
    }
  }
  return out;
}

double ResilienceOf(const Histogram& hist, size_t total, const Verdict& verdict, uint64_t remotes) {
  if (total == 0) return 1.0;
  size_t wins = 0;
  for (const auto& [mask, count] : hist) {
    if (verdict.AttackerWins(mask, remotes)) wins += count;
  }
  return 1.0 - static_cast<double>(wins) / static_cast<double>(total);
}

}  // namespace

void ParallelFor(int threads, size_t count, const std::function<void(int, size_t)>& fn) {
  const int workers =
      std::max(1, std::min<int>(threads, static_cast<int>(std::max<size_t>(count, 1))));
  std::atomic<size_t> next{0};
  auto loop = [&](int worker) {
    for (size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) fn(worker, i);
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(workers - 1));
  for (int w = 1; w < workers; ++w) pool.emplace_back(loop, w);
  loop(0);
  for (std::thread& t : pool) t.join();
}

uint64_t Rng::Next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t Rng::Below(uint64_t bound) {
  // Rejection sampling: unbiased and the same everywhere.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t x = Next();
  while (x >= limit) x = Next();
  return x % bound;
}

std::vector<NodeId> SampleNodes(const Graph& graph, size_t count, uint64_t seed,
                                std::span<const NodeId> exclude) {
  std::vector<NodeId> pool;
  pool.reserve(static_cast<size_t>(graph.real_size()));
  for (NodeId v = 0; v < graph.size(); ++v) {
    if (graph.is_pseudo(v)) continue;
    if (std::find(exclude.begin(), exclude.end(), v) == exclude.end()) pool.push_back(v);
  }
  Rng rng(seed);
  const size_t take = std::min(count, pool.size());
  // Partial Fisher-Yates.
  for (size_t i = 0; i < take; ++i) {
    size_t j = i + static_cast<size_t>(rng.Below(pool.size() - i));
    std::swap(pool[i], pool[j]);
  }
  pool.resize(take);
  return pool;
}

std::vector<uint8_t> SampleRovAdopters(const Graph& graph, double fraction, uint64_t seed) {
  std::vector<uint8_t> flags(static_cast<size_t>(graph.size()), 0);
  const auto count = static_cast<size_t>(fraction * graph.real_size() + 0.5);
  for (NodeId v : SampleNodes(graph, count, seed, {})) flags[static_cast<size_t>(v)] = 1;
  return flags;
}

Result<Verdict> Verdict::Create(const quorum::Policy& policy,
                                std::span<const quorum::Perspective> catalogue, int primary) {
  if (catalogue.size() > static_cast<size_t>(kMaxCatalogue)) {
    return Fail(ProblemType::kMalformed, "at most " + std::to_string(kMaxCatalogue) +
                                             " perspectives in a catalogue, got " +
                                             std::to_string(catalogue.size()));
  }
  if (primary < -1 || primary >= static_cast<int>(catalogue.size())) {
    return Fail(ProblemType::kMalformed, "primary index out of range");
  }
  Verdict v;
  v.primary_ = primary;
  v.enforced_ = policy.enforced();
  v.primary_required_ = policy.primary_required();
  v.min_remotes_ = policy.min_remotes();
  v.min_rirs_ = policy.min_rirs() >= 2 ? policy.min_rirs() : 0;
  v.required_.resize(kMaxCatalogue + 1);
  for (int n = 0; n <= kMaxCatalogue; ++n) {
    v.required_[static_cast<size_t>(n)] = policy.RequiredCorroborations(n);
  }
  v.rir_masks_.assign(quorum::kAllRirs.size(), 0);
  for (size_t i = 0; i < catalogue.size(); ++i) {
    if (static_cast<int>(i) == primary) continue;
    v.remotes_ |= uint64_t{1} << i;
    for (size_t r = 0; r < quorum::kAllRirs.size(); ++r) {
      if (catalogue[i].rir == quorum::kAllRirs[r]) v.rir_masks_[r] |= uint64_t{1} << i;
    }
  }
  return v;
}

std::vector<VictimCaptures> ComputeCaptures(const CaptureJob& job, std::span<const Victim> victims,
                                            std::span<const size_t> global_index) {
  std::vector<VictimCaptures> out(victims.size());
  std::vector<std::unique_ptr<Simulator>> sims(static_cast<size_t>(std::max(1, job.threads)));
  const size_t np = job.perspectives.size();
  ParallelFor(job.threads, victims.size(), [&](int worker, size_t i) {
    auto& sim = sims[static_cast<size_t>(worker)];
    if (!sim) sim = std::make_unique<Simulator>(*job.graph, job.tie_break, job.rov_adopters);
    const Victim& victim = victims[i];
    VictimCaptures& vc = out[i];
    vc.name = victim.name;
    for (NodeId o : victim.origins) vc.origins.push_back(job.graph->asn(o));
    vc.no_route.assign(np, 0);
    const size_t global = i < global_index.size() ? global_index[i] : i;
    std::vector<NodeId> adversaries;
    if (job.attack != AttackKind::kNone) {
      adversaries = SampleNodes(*job.graph, job.adversaries, Mix(job.seed, global), victim.origins);
    } else {
      adversaries.push_back(kNoNode);  // one reachability run
    }
    vc.captured.assign(job.attack == AttackKind::kNone ? 0 : adversaries.size(), 0);
    for (NodeId a : adversaries) {
      if (a != kNoNode) vc.adversaries.push_back(job.graph->asn(a));
    }
    // Origin-major so the subprefix attack reuses each origin's covering table.
    for (NodeId origin : victim.origins) {
      for (size_t a = 0; a < adversaries.size(); ++a) {
        sim->Run(origin, adversaries[a], job.attack);
        ++vc.simulations;
        uint64_t mask = 0;
        for (size_t p = 0; p < np; ++p) {
          Reach r = sim->ReachOf(job.perspectives[p]);
          if (r == Reach::kAttacker) mask |= uint64_t{1} << p;
          if (r == Reach::kNoRoute) ++vc.no_route[p];
        }
        if (!vc.captured.empty()) vc.captured[a] |= mask;
      }
    }
  });
  return out;
}

std::vector<double> Resilience(std::span<const VictimCaptures> captures, const Verdict& verdict,
                               uint64_t remotes) {
  std::vector<double> out;
  out.reserve(captures.size());
  for (const VictimCaptures& vc : captures) {
    out.push_back(ResilienceOf(Compress(vc.captured), vc.captured.size(), verdict, remotes));
  }
  return out;
}

Summary Summarize(std::span<const double> values) {
  Summary s;
  if (values.empty()) return s;
  std::vector<double> v(values.begin(), values.end());
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(n);
  s.min = v.front();
  s.max = v.back();
  return s;
}

Status CheckPlacement(const quorum::Policy& policy, std::span<const quorum::Perspective> catalogue,
                      int primary, uint64_t remotes) {
  std::vector<quorum::Perspective> chosen;
  for (size_t i = 0; i < catalogue.size(); ++i) {
    if (((remotes >> i) & 1) != 0) chosen.push_back(catalogue[i]);
  }
  if (primary >= 0) {
    return quorum::ValidateFleet(policy, catalogue[static_cast<size_t>(primary)], chosen);
  }
  std::string problems;
  auto add = [&problems](const std::string& p) {
    if (!problems.empty()) problems += "; ";
    problems += p;
  };
  if (static_cast<int>(chosen.size()) < policy.min_remotes()) {
    add("policy " + policy.Describe() + " needs at least " + std::to_string(policy.min_remotes()) +
        " remote perspectives, placement has " + std::to_string(chosen.size()));
  }
  for (size_t i = 0; i < chosen.size(); ++i) {
    for (size_t j = i + 1; j < chosen.size(); ++j) {
      if (!quorum::AreDistinct(chosen[i].location, chosen[j].location)) {
        add("remote perspectives \"" + chosen[i].name + "\" and \"" + chosen[j].name + "\" are " +
            std::to_string(
                static_cast<int>(quorum::DistanceKm(chosen[i].location, chosen[j].location))) +
            " km apart (BR 3.2.2.9 needs at least 500 km)");
      }
    }
  }
  if (policy.min_rirs() >= 2) {
    std::vector<quorum::Rir> rirs;
    for (const auto& p : chosen) {
      if (std::find(rirs.begin(), rirs.end(), p.rir) == rirs.end()) rirs.push_back(p.rir);
    }
    if (static_cast<int>(rirs.size()) < policy.min_rirs()) {
      add("remote perspectives span " + std::to_string(rirs.size()) + " RIR(s), policy needs " +
          std::to_string(policy.min_rirs()));
    }
  }
  if (!problems.empty()) return Fail(ProblemType::kMalformed, problems);
  return {};
}

Result<PlacementSearch> SearchPlacements(std::span<const VictimCaptures> captures,
                                         std::span<const quorum::Perspective> catalogue,
                                         const quorum::Policy& policy, int primary, int size,
                                         int top, int threads) {
  auto verdict = Verdict::Create(policy, catalogue, primary);
  if (!verdict) return Fail(verdict.error());
  std::vector<int> candidates;
  for (int i = 0; i < static_cast<int>(catalogue.size()); ++i) {
    if (i != primary) candidates.push_back(i);
  }
  const int m = static_cast<int>(candidates.size());
  if (size < 1 || size > m) {
    return Fail(ProblemType::kMalformed, "placement size must be 1.." + std::to_string(m) +
                                             " (the catalogue's remote perspectives)");
  }
  // C(m, size) without overflow.
  double combinations = 1;
  for (int i = 0; i < size; ++i) combinations = combinations * (m - i) / (i + 1);
  if (combinations > 1e7) {
    return Fail(ProblemType::kMalformed, "too many placements to rank (" +
                                             std::to_string(static_cast<long long>(combinations)) +
                                             " > 10 million)");
  }
  std::vector<uint64_t> subsets;
  std::vector<int> idx(static_cast<size_t>(size));
  for (int i = 0; i < size; ++i) idx[static_cast<size_t>(i)] = i;
  while (true) {
    uint64_t mask = 0;
    for (int i : idx) mask |= uint64_t{1} << candidates[static_cast<size_t>(i)];
    subsets.push_back(mask);
    int k = size - 1;
    while (k >= 0 && idx[static_cast<size_t>(k)] == m - size + k) --k;
    if (k < 0) break;
    ++idx[static_cast<size_t>(k)];
    for (int j = k + 1; j < size; ++j) {
      idx[static_cast<size_t>(j)] = idx[static_cast<size_t>(j - 1)] + 1;
    }
  }
  std::vector<Histogram> hists;
  std::vector<size_t> totals;
  for (const VictimCaptures& vc : captures) {
    hists.push_back(Compress(vc.captured));
    totals.push_back(vc.captured.size());
  }
  PlacementSearch result;
  std::vector<Placement> scored(subsets.size());
  std::vector<uint8_t> valid(subsets.size(), 0);
  std::vector<std::string> why(subsets.size());
  ParallelFor(threads, subsets.size(), [&](int, size_t s) {
    Status ok = CheckPlacement(policy, catalogue, primary, subsets[s]);
    if (!ok) {
      why[s] = ok.error().detail;
      return;
    }
    valid[s] = 1;
    std::vector<double> per(hists.size());
    for (size_t v = 0; v < hists.size(); ++v) {
      per[v] = ResilienceOf(hists[v], totals[v], *verdict, subsets[s]);
    }
    scored[s].remotes = subsets[s];
    scored[s].summary = Summarize(per);
  });
  std::vector<Placement> ranked;
  for (size_t s = 0; s < subsets.size(); ++s) {
    if (valid[s] == 0) {
      if (result.rejected++ == 0) result.first_rejection = why[s];
      continue;
    }
    ++result.evaluated;
    ranked.push_back(std::move(scored[s]));
  }
  std::sort(ranked.begin(), ranked.end(), [](const Placement& a, const Placement& b) {
    if (a.summary.median != b.summary.median) return a.summary.median > b.summary.median;
    if (a.summary.mean != b.summary.mean) return a.summary.mean > b.summary.mean;
    return a.remotes < b.remotes;
  });
  if (top >= 0 && ranked.size() > static_cast<size_t>(top)) ranked.resize(static_cast<size_t>(top));
  for (Placement& p : ranked) p.per_victim = Resilience(captures, *verdict, p.remotes);
  result.ranked = std::move(ranked);
  return result;
}

}  // namespace mpic::routesim
