// Lookups per second and CPU per lookup on the validated path through the DNS lab:
// a pristine libunbound context per lookup (what a validation does) against one warm,
// cached context (for reference only: mpic never shares a context between validations).
//
//   build/bench/resolver_bench --benchmark_min_time=2
//
// CPU is process CPU (our thread + libunbound's worker thread), not the NSD servers'.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <optional>

#include "common/asio.h"
#include "lab/dnslab.h"
#include "resolver/unbound_resolver.h"

namespace {

using namespace std::chrono_literals;
using mpic::resolver::Clock;
using mpic::resolver::LookupResult;

mpic::lab::DnsLab* g_lab = nullptr;

struct Fixture {
  mpic::asio::io_context io;
  std::unique_ptr<mpic::resolver::UnboundResolver> resolver;

  Fixture() {
    mpic::resolver::UnboundConfig config;
    config.root_hints_file = g_lab->root_hints_file();
    config.trust_anchor_file = g_lab->trust_anchor_file();
    config.allow_loopback_servers = true;
    config.use_ipv6 = false;
    resolver = std::move(*mpic::resolver::UnboundResolver::Create(io.get_executor(), config));
  }

  bool Lookup(mpic::resolver::Session& session, const char* name, uint16_t type) {
    std::optional<LookupResult> out;
    session.Lookup(name, type, Clock::now() + 5s, [&](LookupResult r) { out = std::move(r); });
    io.restart();
    while (!out) io.run_one_for(100ms);
    return out->has_value();
  }
};

void Run(benchmark::State& state, const char* name, uint16_t type, bool fresh) {
  Fixture f;
  auto warm = f.resolver->NewSession();
  int64_t failures = 0;
  for (auto _ : state) {
    if (fresh) {
      auto session = f.resolver->NewSession();
      failures += f.Lookup(*session, name, type) ? 0 : 1;
    } else {
      failures += f.Lookup(*warm, name, type) ? 0 : 1;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["failures"] = static_cast<double>(failures);
}

void BM_FreshContext_SecureA(benchmark::State& s) { Run(s, "www.secure.lab", 1, true); }
void BM_FreshContext_CnameChain3(benchmark::State& s) { Run(s, "chain1.secure.lab", 1, true); }
void BM_FreshContext_InsecureA(benchmark::State& s) { Run(s, "www.insecure.lab", 1, true); }
void BM_FreshContext_Nxdomain(benchmark::State& s) { Run(s, "nx.secure.lab", 1, true); }
void BM_WarmContext_SecureA(benchmark::State& s) { Run(s, "www.secure.lab", 1, false); }

// Creating (and destroying) a configured context, without a lookup: the fixed cost of
// pristine state.
void BM_ContextCreateOnly(benchmark::State& state) {
  Fixture f;
  for (auto _ : state) {
    auto session = f.resolver->NewSession();
    benchmark::DoNotOptimize(session.get());
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_ContextCreateOnly)->MeasureProcessCPUTime()->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FreshContext_SecureA)->MeasureProcessCPUTime()->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FreshContext_CnameChain3)->MeasureProcessCPUTime()->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FreshContext_InsecureA)->MeasureProcessCPUTime()->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FreshContext_Nxdomain)->MeasureProcessCPUTime()->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_WarmContext_SecureA)->MeasureProcessCPUTime()->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  auto lab = mpic::lab::DnsLab::Start();
  if (!lab) {
    std::fprintf(stderr, "resolver_bench: DNS lab did not start: %s\n", lab.error().c_str());
    return 1;
  }
  g_lab = lab->get();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
