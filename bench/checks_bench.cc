// checks_bench: checks per second and CPU per check for each method (HTTP-01,
// DNS-01, TLS-ALPN-01, CAA), run in this process exactly as a perspective runs
// them (RunCheck, one fresh resolver session per check), against the DNS lab
// (real NSD) and Let's Encrypt's pebble-challtestsrv as the challenge responder
// (a separate process, so its CPU is not ours).
//
//   checks_bench [--mode lab|stub] [--count N] [--concurrency C] [--json]
//
// lab:  fresh DNSSEC-validating libunbound context per check, from the lab root
// (production); stub: c-ares stub straight to the lab's insecure.lab.
// authoritative server (no DNSSEC). CPU is this process's (all threads,
// libunbound's included), from getrusage.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "bench/bench_util.h"
#include "checks/check.h"
#include "checks/key_authorization.h"
#include "checks/tcp_dialer.h"
#include "lab/flags.h"
#include "lab/local_fleet.h"
#include "resolver/cares_resolver.h"
#include "resolver/unbound_resolver.h"

namespace mpic::bench {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: checks_bench [--mode lab|stub] [--count N] [--concurrency C] [--method M]...\n"
    "                    [--bin-dir DIR] [--json]\n"
    "  Runs N checks of each method (http-01, dns-01, tls-alpn-01, caa) with C in flight\n"
    "  against the DNS lab and pebble-challtestsrv; prints checks/s and CPU ms per check.\n";

struct Outcome {
  int valid = 0;
  int invalid = 0;
  std::string first_problem;
  double wall_s = 0;
  double cpu_s = 0;
};

// Runs `count` checks of `prototype`, `concurrency` at a time, on this thread;
// `io` is the context `resolver` and `dialer` were created on.
Outcome RunChecks(asio::io_context& io, resolver::Resolver& resolver, checks::Dialer& dialer,
                  const checks::CheckRequest& prototype, int count, int concurrency) {
  io.restart();
  checks::TimeSource clock;
  checks::CheckMetrics metrics;
  Outcome out;
  int issued = 0;
  std::function<void()> issue = [&] {
    if (issued >= count) return;
    ++issued;
    checks::CheckRequest request = prototype;
    request.deadline = checks::Clock::now() + std::chrono::seconds(10);
    checks::RunCheck(io.get_executor(), checks::CheckDeps{resolver, dialer, clock, metrics},
                     std::move(request), [&](checks::CheckResult r) {
                       if (r.valid) {
                         ++out.valid;
                       } else {
                         ++out.invalid;
                         if (out.first_problem.empty() && r.problem) {
                           out.first_problem = r.problem->detail;
                         }
                       }
                       issue();
                     });
  };
  const double cpu0 = SelfCpuSeconds();
  const auto start = Clock::now();
  for (int i = 0; i < std::min(count, concurrency); ++i) issue();
  io.run();  // ends when every check has called back (each by its own deadline)
  out.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  out.cpu_s = SelfCpuSeconds() - cpu0;
  return out;
}

int Main(int argc, char** argv) {
  lab::Flags flags({{"mode", lab::Flags::kValue},
                      {"count", lab::Flags::kValue},
                      {"concurrency", lab::Flags::kValue},
                      {"method", lab::Flags::kRepeated},
                      {"bin-dir", lab::Flags::kValue},
                      {"json", lab::Flags::kSwitch},
                      {"help", lab::Flags::kSwitch}});
  auto usage_error = [](const std::string& why) { return UsageError("checks_bench", kUsage, why); };
  if (auto exit = ParseCommandLine("checks_bench", kUsage, flags, argc, argv)) return *exit;
  const std::string mode = flags.Get("mode").value_or("lab");
  if (mode != "stub" && mode != "lab") return usage_error("--mode must be lab or stub");
  auto count = flags.GetInt("count", 1, 1000000);
  auto concurrency = flags.GetInt("concurrency", 1, 1024);
  if (!count) return usage_error(count.error().detail);
  if (!concurrency) return usage_error(concurrency.error().detail);
  const int n = static_cast<int>(count->value_or(mode == "lab" ? 300 : 3000));
  const int c = static_cast<int>(concurrency->value_or(16));
  std::vector<checks::Method> methods;
  for (const auto& m : flags.GetAll("method")) {
    auto parsed = checks::ParseMethod(m);
    if (!parsed) return usage_error(parsed.error().detail);
    methods.push_back(*parsed);
  }
  if (methods.empty()) {
    methods = {checks::Method::kHttp01, checks::Method::kDns01, checks::Method::kTlsAlpn01,
               checks::Method::kCaa};
  }
  const bool json = flags.Has("json");
  std::ostream& progress = json ? std::cerr : std::cout;

  // The lab and pebble-challtestsrv come from the local-fleet harness (two idle
  // remotes and a primary start with them; they take no part and their CPU is
  // not counted).
  char tmpl[] = "/tmp/mpic-checks-bench.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    std::cerr << "checks_bench: mkdtemp: " << std::strerror(errno) << "\n";
    return 1;
  }
  lab::LocalFleet::Options options;
  options.remotes = 2;  // the smallest fleet a BR phase accepts (2025-09-15: two remotes)
  options.effective_date = "2025-09-15";
  options.dir = tmpl;
  options.bin_dir = flags.Get("bin-dir").value_or(SelfDir() + "/../bin");
  auto fleet = lab::LocalFleet::Start(options, progress, [] { return false; });
  if (!fleet) {
    std::cerr << "checks_bench: " << fleet.error().detail << "\n";
    return 1;
  }
  auto& f = **fleet;
  const std::string zone = mode == "stub" ? "insecure.lab" : "secure.lab";
  const std::string http_name = "http.bench." + zone;
  const std::string tls_name = "tls.bench." + zone;
  const std::string token = "checks-bench-token-0123456789abcdefghijklmnop";
  const std::string ka = token + ".checks-bench-thumbprint-0123456789abcdefgh";
  auto fail = [](const std::string& why) {
    std::cerr << "checks_bench: " << why << "\n";
    return 1;
  };
  for (auto [name, type, values] :
       std::vector<std::tuple<std::string, std::string, std::vector<std::string>>>{
           {http_name, "A", {f.responder().http_address}},
           {tls_name, "A", {f.responder().tls_address}},
           {"_acme-challenge." + http_name, "TXT", {"\"" + checks::Dns01TxtValue(ka) + "\""}},
           {http_name, "CAA", {"0 issue \"ca.mpic.lab; accounturi=https://ca.mpic.lab/acct/1\""}},
       }) {
    if (auto st = f.lab().Set(zone + ".", name + ".", type, values); !st) {
      return fail("lab: " + st.error());
    }
  }
  if (auto st = f.AddHttp01(token, ka); !st) return fail(st.error().detail);
  if (auto st = f.AddTlsAlpn01(tls_name, ka); !st) return fail(st.error().detail);

  checks::AddressPolicy policy;
  if (auto st = policy.AllowLabRange(f.lab().block() + ".0/24"); !st)
    return fail(st.error().detail);
  // Each method gets its own io_context, dialer and resolver (bound to that
  // executor).
  nlohmann::ordered_json results = nlohmann::ordered_json::array();
  if (!json) {
    std::printf("mode %s, %d checks per method, %d in flight\n", mode.c_str(), n, c);
    std::printf("  %-12s %10s %14s %8s\n", "method", "checks/s", "CPU ms/check", "valid");
  }
  int exit_code = 0;
  for (checks::Method method : methods) {
    asio::io_context io;
    auto dialer = checks::TcpDialer::Create(
        io.get_executor(), policy, {.http_port = options.http_port, .tls_port = options.tls_port});
    if (!dialer) return fail(dialer.error().detail);
    std::unique_ptr<resolver::Resolver> backend;
    if (mode == "stub") {
      auto r = resolver::CaresResolver::Create(io.get_executor(),
                                               {.server = f.lab().server("insecure")});
      if (!r) return fail(r.error().detail);
      backend = std::move(*r);
    } else {
      resolver::UnboundConfig config;
      config.root_hints_file = f.lab().root_hints_file();
      config.trust_anchor_file = f.lab().trust_anchor_file();
      config.allow_loopback_servers = true;
      auto r = resolver::UnboundResolver::Create(io.get_executor(), config);
      if (!r) return fail(r.error().detail);
      backend = std::move(*r);
    }
    checks::CheckRequest request;
    request.method = method;
    request.identifier = method == checks::Method::kTlsAlpn01 ? tls_name : http_name;
    request.token = token;
    request.key_authorization = ka;
    request.caa_issuer_domains = {"ca.mpic.lab"};
    request.account_uri = "https://ca.mpic.lab/acct/1";
    request.caa_validation_method = "http-01";
    // Warm-up (page faults, first connections), then the measured run.
    (void)RunChecks(io, *backend, **dialer, request, std::min(n, 20), c);
    Outcome o = RunChecks(io, *backend, **dialer, request, n, c);
    const double per_s = n / o.wall_s;
    const double cpu_ms = o.cpu_s * 1000 / n;
    if (o.valid != n) exit_code = 1;
    nlohmann::ordered_json row = {{"mode", mode},
                                  {"method", std::string(checks::MethodName(method))},
                                  {"count", n},
                                  {"concurrency", c},
                                  {"checks_per_s", per_s},
                                  {"cpu_ms_per_check", cpu_ms},
                                  {"valid", o.valid},
                                  {"invalid", o.invalid}};
    if (!o.first_problem.empty()) row["first_problem"] = o.first_problem;
    results.push_back(row);
    if (!json) {
      std::printf("  %-12s %10.0f %14.3f %5d/%d%s%s\n",
                  std::string(checks::MethodName(method)).c_str(), per_s, cpu_ms, o.valid, n,
                  o.first_problem.empty() ? "" : "  first problem: ", o.first_problem.c_str());
    }
  }
  if (json) std::cout << results.dump() << "\n";
  f.Stop(nullptr);
  std::error_code ec;
  fs::remove_all(tmpl, ec);
  return exit_code;
}

}  // namespace
}  // namespace mpic::bench

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  return mpic::bench::Main(argc, argv);
}
