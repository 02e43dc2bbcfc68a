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
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "bench/http_responder.h"
#include "checks/key_authorization.h"
#include "lab/flags.h"
#include "lab/local_fleet.h"
#include "lab/openmpic_client.h"
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
    "                     [--api grpc|openmpic|both] [--rounds R]\n"
    "                     [--bin-dir DIR] [--dir DIR] [--json]\n"
    "  Starts a local fleet (1 va-primary + N va-remote, mTLS, DNS lab), runs N validations\n"
    "  with C in flight and prints throughput, latency and fleet CPU per validation.\n"
    "  --mode stub: c-ares stub to one authoritative server, no DNSSEC (mode a);\n"
    "  --mode lab: fresh validating libunbound per validation from the lab root (mode b).\n"
    "  The primary applies the BR 3.2.2.9 phase whose minimum the fleet size meets (2 remotes:\n"
    "  2025-09-15, 3: 2026-03-15, 4: 2026-06-15, 5 or more: 2026-12-15).\n"
    "  --api openmpic: the same validations as POST /mpic to the primary's Open MPIC REST API\n"
    "  (mutual TLS, one keep-alive connection per in-flight request); --api both: gRPC and\n"
    "  REST alternate in R rounds (order swapped every round) and the fleet CPU per validation\n"
    "  of each is reported side by side.\n";

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

// The same validation as POST /mpic: `concurrency` threads, each with its own keep-alive
// connection, until `count` answers came back.
RunStats RunOpenMpic(const lab::LocalFleet& fleet, const std::string& body, int count,
                     int concurrency) {
  RunStats stats;
  stats.latencies_ms.reserve(static_cast<size_t>(count));
  std::mutex mutex;
  std::atomic<int> next{0};
  const auto start = Clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&] {
      lab::OpenMpicClient::Options options;
      options.address = fleet.primary().openmpic;
      options.tls = fleet.client_tls();
      options.timeout = std::chrono::seconds(60);
      auto client = lab::OpenMpicClient::Connect(options);
      while (next.fetch_add(1) < count) {
        const auto begin = Clock::now();
        Result<lab::HttpReply> reply =
            client ? (*client)->Post("/mpic", body) : Result<lab::HttpReply>(Fail(client.error()));
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
        std::lock_guard lock(mutex);
        stats.latencies_ms.push_back(ms);
        if (!reply || reply->status != 200) {
          ++stats.rpc_errors;
          if (stats.first_failure.empty()) {
            stats.first_failure = reply ? "HTTP " + std::to_string(reply->status) + ": " +
                                              reply->body.substr(0, 300)
                                        : reply.error().detail;
          }
        } else if (reply->body.find("\"is_valid\":true") == std::string::npos) {
          ++stats.not_corroborated;
          if (stats.first_failure.empty()) stats.first_failure = reply->body.substr(0, 300);
        } else {
          ++stats.ok;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  stats.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  return stats;
}

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
                      {"api", lab::Flags::kValue},
                      {"rounds", lab::Flags::kValue},
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
  auto rounds = int_flag("rounds", 4, 1, 100);
  if (!remotes || !concurrency || !count || !warmup || !responder_threads || !rounds) return 2;
  const std::string api = flags.Get("api").value_or("grpc");
  if (api != "grpc" && api != "openmpic" && api != "both") {
    return usage_error("--api must be grpc, openmpic or both");
  }
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
  if (api != "grpc") {
    // POST /mpic with the same DCV-only request (Open MPIC dcv checks skip CAA).
    const std::string body =
        nlohmann::json{{"check_type", "dcv"},
                       {"domain_or_ip_target", identifier},
                       {"dcv_check_parameters",
                        method_name == "http-01"
                            ? nlohmann::json{{"validation_method", "acme-http-01"},
                                             {"token", token},
                                             {"key_authorization", key_authorization}}
                            : nlohmann::json{{"validation_method", "acme-dns-01"},
                                             {"key_authorization", key_authorization}}}}
            .dump();
    if (*warmup > 0) {
      RunStats w = RunOpenMpic(f, body, static_cast<int>(*warmup), static_cast<int>(*concurrency));
      if (w.ok != *warmup) {
        std::cerr << "fleet_loadgen: REST warm-up failed: " << w.first_failure << "\n";
        return 1;
      }
    }
    struct Side {
      std::string name;
      double fleet_cpu_s = 0, primary_cpu_s = 0, wall_s = 0;
      RunStats all;
    };
    Side sides[2];
    sides[0].name = "grpc";
    sides[1].name = "openmpic";
    const int per_round =
        static_cast<int>(*count / (api == "both" ? *rounds : 1));
    const int round_count = api == "both" ? static_cast<int>(*rounds) : 1;
    for (int r = 0; r < round_count; ++r) {
      for (int k = 0; k < 2; ++k) {
        const int which = (r % 2 == 0) ? k : 1 - k;  // alternate which API goes first
        if (api == "openmpic" && which == 0) continue;
        Side& side = sides[which];
        progress << "round " << r + 1 << "/" << round_count << ": " << side.name << " "
                 << per_round << " validations\n";
        const double c0 = fleet_cpu(), p0 = ProcessCpuSeconds(pids[0]);
        RunStats run = which == 0
                           ? driver.Run(per_round, static_cast<int>(*concurrency))
                           : RunOpenMpic(f, body, per_round, static_cast<int>(*concurrency));
        side.fleet_cpu_s += fleet_cpu() - c0;
        side.primary_cpu_s += ProcessCpuSeconds(pids[0]) - p0;
        side.wall_s += run.wall_s;
        side.all.ok += run.ok;
        side.all.not_corroborated += run.not_corroborated;
        side.all.rpc_errors += run.rpc_errors;
        if (side.all.first_failure.empty()) side.all.first_failure = run.first_failure;
        side.all.latencies_ms.insert(side.all.latencies_ms.end(), run.latencies_ms.begin(),
                                     run.latencies_ms.end());
      }
    }
    nlohmann::ordered_json out = {{"mode", mode},         {"method", method_name},
                                  {"remotes", *remotes},  {"concurrency", *concurrency},
                                  {"rounds", round_count}, {"per_round", per_round}};
    bool all_ok = true;
    for (Side& side : sides) {
      const double n = static_cast<double>(side.all.latencies_ms.size());
      if (n == 0) continue;
      std::sort(side.all.latencies_ms.begin(), side.all.latencies_ms.end());
      all_ok = all_ok && side.all.ok == static_cast<int>(n);
      out[side.name] = {{"count", n},
                        {"corroborated", side.all.ok},
                        {"validations_per_s", n / side.wall_s},
                        {"p50_ms", Percentile(side.all.latencies_ms, 0.50)},
                        {"p99_ms", Percentile(side.all.latencies_ms, 0.99)},
                        {"fleet_cpu_ms_per_validation", side.fleet_cpu_s * 1000 / n},
                        {"primary_cpu_ms_per_validation", side.primary_cpu_s * 1000 / n}};
      if (!side.all.first_failure.empty()) out[side.name]["first_failure"] = side.all.first_failure;
      if (!json) {
        std::printf("%-8s %6.0f validations: %7.0f/s, p50 %.2f ms, p99 %.2f ms, fleet CPU %.3f "
                    "ms/validation (primary %.3f), corroborated %d\n",
                    side.name.c_str(), n, n / side.wall_s,
                    Percentile(side.all.latencies_ms, 0.50),
                    Percentile(side.all.latencies_ms, 0.99), side.fleet_cpu_s * 1000 / n,
                    side.primary_cpu_s * 1000 / n, side.all.ok);
        if (!side.all.first_failure.empty()) {
          std::printf("  first failure: %s\n", side.all.first_failure.c_str());
        }
      }
    }
    if (api == "both") {
      const double ratio = out["openmpic"]["fleet_cpu_ms_per_validation"].get<double>() /
                           out["grpc"]["fleet_cpu_ms_per_validation"].get<double>();
      out["rest_over_grpc_fleet_cpu"] = ratio;
      if (!json) std::printf("REST / gRPC fleet CPU per validation: %.3f\n", ratio);
    }
    if (json) std::cout << out.dump() << "\n";
    stub.reset();
    responder->reset();
    f.Stop(nullptr);
    if (remove_dir && all_ok) {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
    return all_ok ? 0 : 1;
  }

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
