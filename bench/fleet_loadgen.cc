// fleet_loadgen: drives mpic.v1.Primary/Validate on a local fleet (real
// va-primary and va-remote processes, mutual TLS, the DNS lab) at a chosen
// concurrency for a fixed count and reports validations/s, latency percentiles
// and the CPU the fleet's processes spent per validation (from /proc/PID/stat,
// all threads).
//
//   fleet_loadgen --mode stub --remotes 3 --method http-01 --concurrency 32
//   --count 20000
//
// Modes:
//   stub  (a) every perspective resolves with a c-ares stub sent straight to
//   one lab
//         authoritative server (insecure.lab., no DNSSEC) - the shape of other
//         VAs' load tests;
//   lab   (b) the production path: a fresh, non-caching, DNSSEC-validating
//   libunbound context
//         per validation, resolving from the lab's root (. -> lab. ->
//         secure.lab.).
// The HTTP-01 responder runs inside this process (bench/http_responder), so its
// CPU is not counted as the fleet's; the DNS lab's NSD is not counted either.
// Exit 0 when every validation came back CORROBORATED; 1 otherwise (a benchmark
// of a failing fleet is void).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/http_responder.h"
#include "checks/key_authorization.h"
#include "lab/flags.h"
#include "lab/local_fleet.h"
#include "lab/primary_client.h"
#include "mpic/v1/primary.grpc.pb.h"

namespace mpic::bench {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

std::atomic<bool> g_interrupted{false};

constexpr const char* kUsage =
    "usage: fleet_loadgen [--mode stub|lab] [--remotes N] [--method http-01|dns-01]\n"
    "                     [--concurrency C] [--count N] [--warmup N] [--responder-threads T]\n"
    "                     [--bin-dir DIR] [--dir DIR] [--json]\n"
    "  Starts a local fleet (1 va-primary + N va-remote, mTLS, DNS lab), runs N validations\n"
    "  with C in flight and prints throughput, latency and fleet CPU per validation.\n"
    "  --mode stub: c-ares stub to one authoritative server, no DNSSEC (mode a);\n"
    "  --mode lab: fresh validating libunbound per validation from the lab root (mode b).\n"
    "  The primary applies the BR 3.2.2.9 phase whose minimum the fleet size meets (2 remotes:\n"
    "  2025-09-15, 3: 2026-03-15, 4: 2026-06-15, 5 or more: 2026-12-15).\n";

struct RunStats {
  int ok = 0;
  int not_corroborated = 0;
  int rpc_errors = 0;
  std::string first_failure;
  std::vector<double> latencies_ms;
  double wall_s = 0;
};

// Keeps `concurrency` Validate calls in flight until `count` have completed.
class Driver {
 public:
  Driver(v1::Primary::Stub& stub, const v1::ValidateRequest& request)
      : stub_(stub), request_(request) {}

  RunStats Run(int count, int concurrency) {
    stats_ = RunStats{};
    stats_.latencies_ms.reserve(static_cast<size_t>(count));
    const auto start = Clock::now();
    loop_.Run(count, concurrency);  // each call has its own 60 s deadline, so this ends
    stats_.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
    return std::move(stats_);
  }

 private:
  struct Call {
    grpc::ClientContext context;
    v1::ValidateResponse response;
    Clock::time_point start;
  };

  void Issue(std::function<void()> done) {
    auto* call = new Call();
    call->start = Clock::now();
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    stub_.async()->Validate(&call->context, &request_, &call->response,
                            [this, call, done = std::move(done)](grpc::Status status) {
                              Record(*call, status);
                              delete call;
                              done();
                            });
  }

  void Record(const Call& call, const grpc::Status& status) {
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - call.start).count();
    std::lock_guard lock(mutex_);
    if (!status.ok()) {
      ++stats_.rpc_errors;
      if (stats_.first_failure.empty()) stats_.first_failure = lab::DescribeStatus(status);
    } else if (call.response.decision() != v1::CORROBORATED) {
      ++stats_.not_corroborated;
      if (stats_.first_failure.empty()) {
        stats_.first_failure = "NOT_CORROBORATED: " + call.response.problem().detail();
      }
    } else {
      ++stats_.ok;
    }
    stats_.latencies_ms.push_back(ms);
  }

  v1::Primary::Stub& stub_;
  const v1::ValidateRequest& request_;
  std::mutex mutex_;
  RunStats stats_;
  ClosedLoop loop_{[this](std::function<void()> done) { Issue(std::move(done)); }};
};

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t index = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

int Main(int argc, char** argv) {
  lab::Flags flags({{"mode", lab::Flags::kValue},
                      {"remotes", lab::Flags::kValue},
                      {"method", lab::Flags::kValue},
                      {"concurrency", lab::Flags::kValue},
                      {"count", lab::Flags::kValue},
                      {"warmup", lab::Flags::kValue},
                      {"responder-threads", lab::Flags::kValue},
                      {"bin-dir", lab::Flags::kValue},
                      {"dir", lab::Flags::kValue},
                      {"json", lab::Flags::kSwitch},
                      {"help", lab::Flags::kSwitch}});
  auto usage_error = [](const std::string& why) {
    return UsageError("fleet_loadgen", kUsage, why);
  };
  if (auto exit = ParseCommandLine("fleet_loadgen", kUsage, flags, argc, argv)) return *exit;
  const std::string mode = flags.Get("mode").value_or("stub");
  if (mode != "stub" && mode != "lab") return usage_error("--mode must be stub or lab");
  const std::string method_name = flags.Get("method").value_or("http-01");
  auto method = lab::ParseDcvMethod(method_name);
  if (!method || *method == v1::TLS_ALPN_01)
    return usage_error("--method must be http-01 or dns-01");
  auto int_flag = [&](const char* name, long def, long min, long max) -> std::optional<long> {
    auto v = flags.GetInt(name, min, max);
    if (!v) {
      usage_error(v.error().detail);
      return std::nullopt;
    }
    return v->value_or(def);
  };
  auto remotes = int_flag("remotes", 3, 1, 12);
  auto concurrency = int_flag("concurrency", 32, 1, 4096);
  auto count = int_flag("count", mode == "stub" ? 20000 : 1000, 1, 10000000);
  auto warmup = int_flag("warmup", 500, 0, 1000000);
  auto responder_threads = int_flag("responder-threads", 1, 1, 16);
  if (!remotes || !concurrency || !count || !warmup || !responder_threads) return 2;
  const bool json = flags.Has("json");

  std::string dir;
  bool remove_dir = false;
  if (auto d = flags.Get("dir")) {
    dir = *d;
  } else {
    char tmpl[] = "/tmp/mpic-loadgen.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      std::cerr << "fleet_loadgen: mkdtemp: " << std::strerror(errno) << "\n";
      return 1;
    }
    dir = tmpl;
    remove_dir = true;
  }

  lab::LocalFleet::Options options;
  options.remotes = static_cast<int>(*remotes);
  options.dir = dir;
  options.bin_dir = flags.Get("bin-dir").value_or(SelfDir() + "/../bin");
  options.start_responder = false;
  options.stub_lab_server = mode == "stub" ? "insecure" : "";
  options.straggler_grace_ms = 200;
  options.max_concurrent = 4096;
  // The BR §3.2.2.9 phase whose minimum this fleet size meets (fixed dates, so that runs
  // stay comparable whatever the day).
  options.effective_date = *remotes == 2   ? "2025-09-15"
                           : *remotes == 3 ? "2026-03-15"
                           : *remotes == 4 ? "2026-06-15"
                                           : "2026-12-15";
  std::ostream& progress = json ? std::cerr : std::cout;
  auto fleet =
      lab::LocalFleet::Start(options, progress, [] { return g_interrupted.load(); });
  if (!fleet) {
    std::cerr << "fleet_loadgen: " << fleet.error().detail << "\n";
    return 1;
  }
  auto& f = **fleet;

  // The identifier, its records and the challenge.
  const std::string zone = mode == "stub" ? "insecure.lab." : "secure.lab.";
  const std::string identifier = "bench." + zone.substr(0, zone.size() - 1);
  const std::string token = "bench-token-0123456789abcdefghijklmnopqrstu";
  const std::string key_authorization = token + ".bench-account-thumbprint-0123456789abcdefghij";
  auto responder = HttpResponder::Start(f.responder().http_address, options.http_port,
                                        static_cast<int>(*responder_threads));
  if (!responder) {
    std::cerr << "fleet_loadgen: " << responder.error().detail << "\n";
    return 1;
  }
  (*responder)->Add(token, key_authorization);
  if (auto st = f.lab().Set(zone, identifier + ".", "A", {f.responder().http_address}); !st) {
    std::cerr << "fleet_loadgen: lab: " << st.error() << "\n";
    return 1;
  }
  if (auto st = f.lab().Set(zone, "_acme-challenge." + identifier + ".", "TXT",
                            {"\"" + checks::Dns01TxtValue(key_authorization) + "\""});
      !st) {
    std::cerr << "fleet_loadgen: lab: " << st.error() << "\n";
    return 1;
  }

  auto channel = lab::DialPrimary(f.primary().address, f.client_tls());
  if (!channel) {
    std::cerr << "fleet_loadgen: " << channel.error().detail << "\n";
    return 1;
  }
  auto stub = v1::Primary::NewStub(*channel);
  v1::ValidateRequest request;
  request.set_identifier(identifier);
  request.set_method(*method);
  request.set_token(token);
  request.set_key_authorization(key_authorization);
  request.set_skip_caa(true);  // DCV only, as in other VAs' load tests

  Driver driver(*stub, request);
  if (*warmup > 0) {
    progress << "warm-up: " << *warmup << " validations\n";
    RunStats w = driver.Run(static_cast<int>(*warmup), static_cast<int>(*concurrency));
    if (w.ok != *warmup) {
      std::cerr << "fleet_loadgen: warm-up failed: " << w.first_failure << "\n" << f.DeadMembers();
      return 1;
    }
  }

  std::vector<pid_t> pids{f.primary().process->pid()};
  for (const auto& r : f.remotes()) pids.push_back(r.process->pid());
  auto fleet_cpu = [&] {
    double total = 0;
    for (pid_t p : pids) total += std::max(0.0, ProcessCpuSeconds(p));
    return total;
  };
  progress << "measuring: " << *count << " validations, " << *concurrency << " in flight\n";
  const double cpu0 = fleet_cpu();
  const double primary0 = ProcessCpuSeconds(pids[0]);
  const double self0 = SelfCpuSeconds();
  RunStats s = driver.Run(static_cast<int>(*count), static_cast<int>(*concurrency));
  const double fleet_cpu_s = fleet_cpu() - cpu0;
  const double primary_cpu_s = ProcessCpuSeconds(pids[0]) - primary0;
  const double self_cpu_s = SelfCpuSeconds() - self0;

  std::sort(s.latencies_ms.begin(), s.latencies_ms.end());
  const double n = static_cast<double>(*count);
  nlohmann::ordered_json result = {
      {"mode", mode},
      {"method", method_name},
      {"remotes", *remotes},
      {"concurrency", *concurrency},
      {"count", *count},
      {"corroborated", s.ok},
      {"not_corroborated", s.not_corroborated},
      {"rpc_errors", s.rpc_errors},
      {"wall_s", s.wall_s},
      {"validations_per_s", n / s.wall_s},
      {"p50_ms", Percentile(s.latencies_ms, 0.50)},
      {"p90_ms", Percentile(s.latencies_ms, 0.90)},
      {"p99_ms", Percentile(s.latencies_ms, 0.99)},
      {"max_ms", s.latencies_ms.empty() ? 0 : s.latencies_ms.back()},
      {"fleet_cpu_ms_per_validation", fleet_cpu_s * 1000 / n},
      {"primary_cpu_ms_per_validation", primary_cpu_s * 1000 / n},
      {"remote_cpu_ms_per_validation", (fleet_cpu_s - primary_cpu_s) * 1000 / n},
      {"loadgen_cpu_ms_per_validation", self_cpu_s * 1000 / n},
      {"responder_requests", (*responder)->requests()},
  };
  if (!s.first_failure.empty()) result["first_failure"] = s.first_failure;
  if (json) {
    std::cout << result.dump() << "\n";
  } else {
    std::printf(
        "mode %s, %s, 1 primary + %ld remotes, concurrency %ld, %ld validations\n"
        "  %.0f validations/s; latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n"
        "  fleet CPU %.3f ms/validation (primary %.3f, remotes %.3f); load generator %.3f\n"
        "  corroborated %d, not corroborated %d, RPC errors %d\n",
        mode.c_str(), method_name.c_str(), *remotes, *concurrency, *count, n / s.wall_s,
        result["p50_ms"].get<double>(), result["p90_ms"].get<double>(),
        result["p99_ms"].get<double>(), result["max_ms"].get<double>(), fleet_cpu_s * 1000 / n,
        primary_cpu_s * 1000 / n, (fleet_cpu_s - primary_cpu_s) * 1000 / n, self_cpu_s * 1000 / n,
        s.ok, s.not_corroborated, s.rpc_errors);
    if (!s.first_failure.empty()) std::printf("  first failure: %s\n", s.first_failure.c_str());
  }
  stub.reset();
  responder->reset();
  f.Stop(nullptr);
  if (remove_dir && s.ok == *count) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return s.ok == *count ? 0 : 1;
}

}  // namespace
}  // namespace mpic::bench

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, [](int) { mpic::bench::g_interrupted = true; });
  std::signal(SIGTERM, [](int) { mpic::bench::g_interrupted = true; });
  return mpic::bench::Main(argc, argv);
}
