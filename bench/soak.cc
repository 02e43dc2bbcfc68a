// soak: slow applicant servers against a local fleet, and what the fleet's processes hold
// before, during and after (issue 15, defect 4). An HTTP-01 "tarpit" accepts every connection
// and never answers, so every check runs to its limit; each round starts --in-flight
// Validate calls at once (1,000+ attempts in flight), waits for all of them to end, then lets
// the fleet settle. For the primary and every remote it records open files (/proc/PID/fd),
// threads and RSS (/proc/PID/status) at the start, the peak of each round (sampled every
// 100 ms) and after each round, and prints a table (or JSON with --json).
//
//   sudo build/bench/soak --remotes 3 --in-flight 1000 --rounds 5      (the DNS lab binds :53)
//
// Exit 0 when the run completed (whatever the calls answered: RESOURCE_EXHAUSTED, a timeout
// and NOT_CORROBORATED are all expected here, "valid" is not: a CORROBORATED answer for a
// server that never answered is a failure, exit 1); 2 for bad usage.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "common/asio.h"
#include "mpic/v1/primary.grpc.pb.h"
#include "lab/flags.h"
#include "lab/local_fleet.h"
#include "lab/primary_client.h"

namespace mpic::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::atomic<bool> g_interrupted{false};

constexpr const char* kUsage =
    "usage: soak [--remotes N] [--in-flight N] [--rounds N] [--mode lab|stub]\n"
    "            [--settle-s S] [--deadline-s S] [--bin-dir DIR] [--dir DIR] [--json]\n"
    "  Starts a local fleet (1 va-primary + N va-remote, mTLS, DNS lab) whose HTTP-01 server\n"
    "  accepts and never answers; each round starts --in-flight validations at once and\n"
    "  records open files, threads and RSS of every server before, at the peak and after.\n"
    "  --mode lab (default): a fresh validating libunbound per validation (production path);\n"
    "  --mode stub: c-ares stub to one lab server. --deadline-s: each call's gRPC deadline.\n";

// Open files, threads and RSS of one process.
struct Usage {
  long files = -1;
  long threads = -1;
  long rss_kib = -1;
};

Usage ReadUsage(pid_t pid) {
  Usage u;
  std::error_code ec;
  long files = 0;
  for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++files;
  }
  if (!ec) u.files = files;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("Threads:")) u.threads = std::stol(line.substr(8));
    if (line.starts_with("VmRSS:")) u.rss_kib = std::stol(line.substr(6));
  }
  return u;
}

Usage Max(const Usage& a, const Usage& b) {
  return {std::max(a.files, b.files), std::max(a.threads, b.threads),
          std::max(a.rss_kib, b.rss_kib)};
}

nlohmann::ordered_json ToJson(const Usage& u) {
  return {{"files", u.files}, {"threads", u.threads}, {"rss_mib", u.rss_kib / 1024.0}};
}

// Accepts connections and holds them, unanswered, until Release() (or its destructor).
class Tarpit {
 public:
  static Result<std::unique_ptr<Tarpit>> Start(const std::string& address, uint16_t port) {
    auto t = std::unique_ptr<Tarpit>(new Tarpit());
    boost::system::error_code ec;
    const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(address, ec), port);
    if (ec) return Fail(ProblemType::kMalformed, "tarpit address: " + ec.message());
    t->acceptor_.open(endpoint.protocol(), ec);
    if (!ec) t->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) t->acceptor_.bind(endpoint, ec);
    if (!ec) t->acceptor_.listen(4096, ec);
    if (ec) {
      return Fail(ProblemType::kConnection,
                  "tarpit on " + address + ":" + std::to_string(port) + ": " + ec.message());
    }
    t->Accept();
    t->thread_ = std::thread([p = t.get()] { p->io_.run(); });
    return t;
  }
  ~Tarpit() {
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      held_.clear();
    });
    thread_.join();
  }
  void Release() {
    asio::post(io_, [this] { held_.clear(); });
  }
  uint64_t accepted() const { return accepted_.load(); }

 private:
  Tarpit() = default;
  void Accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (ec) {  // EMFILE and friends: let the backlog wait, then go on
        backoff_.expires_after(std::chrono::milliseconds(50));
        backoff_.async_wait([this](boost::system::error_code) { Accept(); });
        return;
      }
      ++accepted_;
      held_.push_back(std::move(socket));
      Accept();
    });
  }

  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_{io_};
  asio::steady_timer backoff_{io_};
  std::vector<asio::ip::tcp::socket> held_;  // io_ thread only
  std::atomic<uint64_t> accepted_{0};
  std::thread thread_;
};

struct RoundStats {
  std::map<std::string, int> outcomes;  // "CORROBORATED", "DEADLINE_EXCEEDED", ...
  double wall_s = 0;
};

class Driver {
 public:
  Driver(v1::Primary::Stub& stub, const v1::ValidateRequest& request, int deadline_s)
      : stub_(stub), request_(request), deadline_s_(deadline_s) {}

  RoundStats Run(int in_flight) {
    stats_ = RoundStats{};
    const auto start = Clock::now();
    loop_.Run(in_flight, in_flight);  // all at once; each call is bounded by its deadline
    stats_.wall_s = std::chrono::duration<double>(Clock::now() - start).count();
    return std::move(stats_);
  }

 private:
  struct Call {
    grpc::ClientContext context;
    v1::ValidateResponse response;
  };
  void Issue(std::function<void()> done) {
    auto* call = new Call();
    call->context.set_deadline(std::chrono::system_clock::now() +
                               std::chrono::seconds(deadline_s_));
    stub_.async()->Validate(&call->context, &request_, &call->response,
                            [this, call, done = std::move(done)](grpc::Status status) {
                              std::string outcome =
                                  status.ok() ? v1::Decision_Name(call->response.decision())
                                              : lab::DescribeStatus(status).substr(0, 40);
                              {
                                std::lock_guard lock(mutex_);
                                ++stats_.outcomes[outcome];
                              }
                              delete call;
                              done();
                            });
  }

  v1::Primary::Stub& stub_;
  const v1::ValidateRequest& request_;
  const int deadline_s_;
  std::mutex mutex_;
  RoundStats stats_;
  ClosedLoop loop_{[this](std::function<void()> done) { Issue(std::move(done)); }};
};

int Main(int argc, char** argv) {
  lab::Flags flags({{"remotes", lab::Flags::kValue},
                      {"in-flight", lab::Flags::kValue},
                      {"rounds", lab::Flags::kValue},
                      {"mode", lab::Flags::kValue},
                      {"settle-s", lab::Flags::kValue},
                      {"deadline-s", lab::Flags::kValue},
                      {"bin-dir", lab::Flags::kValue},
                      {"dir", lab::Flags::kValue},
                      {"json", lab::Flags::kSwitch},
                      {"help", lab::Flags::kSwitch}});
  if (auto exit = ParseCommandLine("soak", kUsage, flags, argc, argv)) return *exit;
  auto usage_error = [](const std::string& why) { return UsageError("soak", kUsage, why); };
  const std::string mode = flags.Get("mode").value_or("lab");
  if (mode != "stub" && mode != "lab") return usage_error("--mode must be lab or stub");
  auto int_flag = [&](const char* name, long def, long min, long max) -> std::optional<long> {
    auto v = flags.GetInt(name, min, max);
    if (!v) {
      usage_error(v.error().detail);
      return std::nullopt;
    }
    return v->value_or(def);
  };
  auto remotes = int_flag("remotes", 3, 2, 12);
  auto in_flight = int_flag("in-flight", 1000, 1, 20000);
  auto rounds = int_flag("rounds", 5, 1, 100);
  auto settle_s = int_flag("settle-s", 10, 0, 600);
  auto deadline_s = int_flag("deadline-s", 120, 1, 3600);
  if (!remotes || !in_flight || !rounds || !settle_s || !deadline_s) return 2;
  const bool json = flags.Has("json");
  std::ostream& progress = json ? std::cerr : std::cout;

  // Thousands of held connections, in this process and its children (they inherit the limit).
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  std::string dir;
  bool remove_dir = false;
  if (auto d = flags.Get("dir")) {
    dir = *d;
  } else {
    char tmpl[] = "/tmp/mpic-soak.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      std::cerr << "soak: mkdtemp: " << std::strerror(errno) << "\n";
      return 1;
    }
    dir = tmpl;
    remove_dir = true;
  }
  lab::LocalFleet::Options options;
  options.remotes = static_cast<int>(*remotes);
  options.dir = dir;
  options.bin_dir = flags.Get("bin-dir").value_or(SelfDir() + "/../bin");
  options.start_responder = false;  // the tarpit takes its place
  options.stub_lab_server = mode == "stub" ? "insecure" : "";
  options.effective_date = *remotes == 2   ? "2025-09-15"
                           : *remotes == 3 ? "2026-03-15"
                           : *remotes == 4 ? "2026-06-15"
                                           : "2026-12-15";
  // Everything else (max_concurrent, timeouts, the in-flight bound once it lands) as the
  // fleet launcher configures it: the soak measures the configuration operators start from.
  auto fleet =
      lab::LocalFleet::Start(options, progress, [] { return g_interrupted.load(); });
  if (!fleet) {
    std::cerr << "soak: " << fleet.error().detail << "\n";
    return 1;
  }
  auto& f = **fleet;
  auto tarpit = Tarpit::Start(f.responder().http_address, options.http_port);
  if (!tarpit) {
    std::cerr << "soak: " << tarpit.error().detail << "\n";
    return 1;
  }
  const std::string zone = mode == "stub" ? "insecure.lab." : "secure.lab.";
  const std::string identifier = "slow." + zone.substr(0, zone.size() - 1);
  if (auto st = f.lab().Set(zone, identifier + ".", "A", {f.responder().http_address}); !st) {
    std::cerr << "soak: lab: " << st.error() << "\n";
    return 1;
  }
  auto channel = lab::DialPrimary(f.primary().address, f.client_tls());
  if (!channel) {
    std::cerr << "soak: " << channel.error().detail << "\n";
    return 1;
  }
  auto stub = v1::Primary::NewStub(*channel);
  v1::ValidateRequest request;
  request.set_identifier(identifier);
  request.set_method(v1::HTTP_01);
  request.set_token("soak-token-0123456789abcdefghijklmnopqrstuvw");
  request.set_key_authorization(request.token() + ".soak-account-thumbprint-0123456789abcdefg");
  request.set_skip_caa(true);

  struct Server {
    std::string name;
    pid_t pid;
    Usage start, peak, after;
  };
  std::vector<Server> servers{{"primary", f.primary().process->pid(), {}, {}, {}}};
  for (const auto& r : f.remotes()) {
    servers.push_back({r.identity.name(), r.process->pid(), {}, {}, {}});
  }
  for (Server& s : servers) s.start = ReadUsage(s.pid);

  nlohmann::ordered_json result = {{"mode", mode},
                                   {"remotes", *remotes},
                                   {"in_flight", *in_flight},
                                   {"rounds", *rounds},
                                   {"deadline_s", *deadline_s}};
  nlohmann::ordered_json round_rows = nlohmann::json::array();
  Driver driver(*stub, request, static_cast<int>(*deadline_s));
  bool valid_for_a_silent_server = false;
  for (long round = 1; round <= *rounds && !g_interrupted; ++round) {
    progress << "round " << round << ": " << *in_flight << " validations at once\n";
    for (Server& s : servers) s.peak = Usage{};
    std::atomic<bool> sampling{true};
    std::thread sampler([&] {
      while (sampling) {
        for (Server& s : servers) s.peak = Max(s.peak, ReadUsage(s.pid));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
    RoundStats stats = driver.Run(static_cast<int>(*in_flight));
    sampling = false;
    sampler.join();
    (*tarpit)->Release();
    for (int waited = 0; waited < *settle_s && !g_interrupted; ++waited) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    nlohmann::ordered_json row = {{"round", round}, {"wall_s", stats.wall_s}};
    row["outcomes"] = stats.outcomes;
    if (stats.outcomes.contains("CORROBORATED")) valid_for_a_silent_server = true;
    for (Server& s : servers) {
      s.after = ReadUsage(s.pid);
      row["servers"][s.name] = {{"peak", ToJson(s.peak)}, {"after", ToJson(s.after)}};
    }
    round_rows.push_back(row);
    std::string outcomes;
    for (const auto& [name, n] : stats.outcomes) {
      outcomes += (outcomes.empty() ? "" : ", ") + name + " " + std::to_string(n);
    }
    progress << "  " << stats.wall_s << " s; " << outcomes << "\n";
  }
  for (const Server& s : servers) result["start"][s.name] = ToJson(s.start);
  result["rounds_detail"] = round_rows;
  result["tarpit_connections"] = (*tarpit)->accepted();
  const std::string dead = f.DeadMembers();
  if (!dead.empty()) result["dead_members"] = dead;

  if (json) {
    std::cout << result.dump() << "\n";
  } else {
    std::printf(
        "| server | files start/peak/after | threads start/peak/after | "
        "RSS MiB start/peak/after |\n|---|---:|---:|---:|\n");
    for (const Server& s : servers) {
      std::printf("| %s | %ld / %ld / %ld | %ld / %ld / %ld | %.0f / %.0f / %.0f |\n",
                  s.name.c_str(), s.start.files, s.peak.files, s.after.files, s.start.threads,
                  s.peak.threads, s.after.threads, s.start.rss_kib / 1024.0,
                  s.peak.rss_kib / 1024.0, s.after.rss_kib / 1024.0);
    }
    std::printf("(peak: the last round's; after: %ld s after the last round's last answer)\n",
                *settle_s);
    if (!dead.empty()) std::printf("dead members:\n%s\n", dead.c_str());
  }
  stub.reset();
  tarpit->reset();
  f.Stop(nullptr);
  if (remove_dir && dead.empty()) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  if (valid_for_a_silent_server) {
    std::cerr << "soak: a validation was CORROBORATED against a server that never answered\n";
    return 1;
  }
  return dead.empty() ? 0 : 1;
}

}  // namespace
}  // namespace mpic::bench

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, [](int) { mpic::bench::g_interrupted = true; });
  std::signal(SIGTERM, [](int) { mpic::bench::g_interrupted = true; });
  return mpic::bench::Main(argc, argv);
}
