// va-primary end to end: the real va-primary and va-remote binaries on loopback, mTLS with a
// throwaway PKI, the DNS lab as every perspective's resolver, DNS-01 validations in secure.lab.
// Remotes that fail on purpose: a resolver with a wrong trust anchor (every answer bogus), a
// remote killed mid-request, a hanging remote (accepts, never answers), a remote whose
// certificate comes from another CA, a remote that claims another identity.
#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <iostream>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "checks/key_authorization.h"
#include "lab/dnslab.h"
#include "lab/pki.h"
#include "mpic/v1/perspective.grpc.pb.h"
#include "mpic/v1/primary.grpc.pb.h"
#include "lab/dnslab.h"
#include "perspective/config.h"
#include "tests/integration/child.h"
#include "tests/integration/command.h"
#include "tests/integration/grpc_client.h"
#include "va-primary/primary_server.h"

namespace mpic::testing {
namespace {

using lab::DnsLab;
using TestPki = lab::Pki;  // the lab's PKI, as files in one directory
using lab::CertPair;

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

const std::string kToken = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
const std::string kKeyAuthorization = kToken + ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
constexpr int kRemoteTimeoutMs = 1500;
constexpr int kMaxCheckMs = 1500;

// Where a perspective is (all at least 500 km from each other and from the primary).
struct Site {
  std::string name;
  std::string rir;  // proto enum name
  double lat;
  double lon;
};

const Site kPrimary{"nyc", "ARIN", 40.71, -74.01};
// Healthy remotes.
const Site kFra{"fra", "RIPE_NCC", 50.11, 8.68};
const Site kSyd{"syd", "APNIC", -33.87, 151.21};
const Site kSao{"sao", "LACNIC", -23.55, -46.63};
const Site kMad{"mad", "RIPE_NCC", 40.42, -3.70};
const Site kSin{"sin", "APNIC", 1.35, 103.82};
// Remotes whose resolver has a wrong trust anchor: every DNS answer is bogus, every check fails.
const Site kJnb{"jnb", "AFRINIC", -26.20, 28.05};
const Site kSfo{"sfo", "ARIN", 37.77, -122.42};
const Site kNrt{"nrt", "APNIC", 35.68, 139.69};
// Remotes of single tests.
const Site kScl{"scl", "LACNIC", -33.45, -70.67};  // killed mid-request
const Site kNbo{"nbo", "AFRINIC", -1.29, 36.82};   // certificate from another CA
const Site kLim{"lim", "LACNIC", -12.05, -77.04};  // claims another identity
const Site kBom{"bom", "APNIC", 19.08, 72.88};     // hangs
const Site kMow{"mow", "RIPE_NCC", 55.75, 37.62};  // config refusal; reload (picky remote)

json Identity(const Site& site) {
  return json{{"name", site.name},
              {"rir", site.rir},
              {"location", {{"latitude", site.lat}, {"longitude", site.lon}}}};
}

std::optional<json> WaitReady(const std::string& path, Child* child,
                              std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (fs::exists(path)) {
      auto j = json::parse(ReadAll(path), nullptr, /*allow_exceptions=*/false);
      if (!j.is_discarded()) return j;
    }
    if (child && !child->Running()) return std::nullopt;
    std::this_thread::sleep_for(20ms);
  }
  return std::nullopt;
}

// GET over HTTP/1.0 on loopback; "" on failure; bounded.
std::string HttpGet(const std::string& address, const std::string& path) {
  auto colon = address.rfind(':');
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  if (inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr) != 1) return "";
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
    std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + address + "\r\n\r\n";
    if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      auto end = std::chrono::steady_clock::now() + 5s;
      char buf[4096];
      while (std::chrono::steady_clock::now() < end) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
      }
    }
  }
  close(fd);
  return out;
}

// The value of one metric sample ("name{labels}" exactly as exposed), or -1 when absent.
double Metric(const std::string& page, const std::string& sample) {
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(sample + " ", 0) == 0) return std::stod(line.substr(sample.size() + 1));
  }
  return -1;
}

std::vector<json> AuditLines(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    out.push_back(json::parse(line, nullptr, /*allow_exceptions=*/false));
  }
  return out;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// A perspective that accepts every Check and never answers until cancelled.
class HangingPerspective final : public v1::Perspective::CallbackService {
 public:
  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext*, const v1::CheckRequest*,
                                  v1::CheckResponse*) override {
    class Reactor final : public grpc::ServerUnaryReactor {
     public:
      explicit Reactor(HangingPerspective* owner) : owner_(owner) { ++owner_->started; }
      void OnCancel() override {
        ++owner_->cancelled;
        Finish(grpc::Status::CANCELLED);
      }
      void OnDone() override { delete this; }

     private:
      HangingPerspective* owner_;
    };
    return new Reactor(this);
  }
  std::atomic<int> started{0};
  std::atomic<int> cancelled{0};
};

struct RemoteProcess {
  Site site;  // as configured at the primary
  std::unique_ptr<Child> child;
  std::string address;
};

// One va-primary process.
struct PrimaryProcess {
  std::unique_ptr<Child> child;
  std::string address;
  std::string metrics;
  std::string audit_log;
  std::string config_path;
};

struct PrimaryOptions {
  std::string effective_date = "2026-03-15";
  int remotes_per_validation = 0;
  std::string selection_secret;
  int straggler_grace_ms = 1000;  // every result normally arrives well within it
  bool remotes_after_primary = false;
  std::string audit_log;  // default: a fresh file
  int max_in_flight = 0;
  std::map<std::string, int> remote_timeouts;  // RemoteEndpoint.timeout_ms by name
  json rate_limits;                            // PrimaryConfig.rate_limits; null: none

  PrimaryOptions& RateLimits(json limits) {
    rate_limits = std::move(limits);
    return *this;
  }

  PrimaryOptions& RemoteTimeout(const std::string& name, int ms) {
    remote_timeouts[name] = ms;
    return *this;
  }
  PrimaryOptions& InFlight(int n) {
    max_in_flight = n;
    return *this;
  }
  PrimaryOptions& Date(std::string date) {
    effective_date = std::move(date);
    return *this;
  }
  PrimaryOptions& Count(int n) {
    remotes_per_validation = n;
    return *this;
  }
  PrimaryOptions& Secret(std::string secret) {
    selection_secret = std::move(secret);
    return *this;
  }
  PrimaryOptions& Grace(int ms) {
    straggler_grace_ms = ms;
    return *this;
  }
  PrimaryOptions& AfterPrimary() {
    remotes_after_primary = true;
    return *this;
  }
  PrimaryOptions& Audit(std::string path) {
    audit_log = std::move(path);
    return *this;
  }
};

class VaPrimaryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    signal(SIGPIPE, SIG_IGN);
    auto lab = DnsLab::Start();
    ASSERT_TRUE(lab) << lab.error();
    lab_ = lab->release();
    char tmpl[] = "/tmp/mpic-va-primary-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = new std::string(tmpl);
    auto pki = TestPki::Create(*dir_ + "/pki", "fleet CA");
    ASSERT_TRUE(pki) << pki.error().detail;
    pki_ = new TestPki(*pki);
    auto rogue = TestPki::Create(*dir_ + "/rogue", "rogue CA");
    ASSERT_TRUE(rogue) << rogue.error().detail;
    rogue_pki_ = new TestPki(*rogue);
    auto primary = pki_->Issue("primary", {"primary"}, {"127.0.0.1"});
    auto ca_client = pki_->Issue("ca-client", {"ca-client"}, {});
    auto rogue_client = rogue_pki_->Issue("ca-client", {"ca-client"}, {});
    ASSERT_TRUE(primary && ca_client && rogue_client);
    primary_cert_ = new CertPair(*primary);
    ca_client_cert_ = new CertPair(*ca_client);
    rogue_client_cert_ = new CertPair(*rogue_client);

    // A trust anchor that matches no key of the lab's root: every answer validates bogus.
    std::string anchor = ReadAll(lab_->trust_anchor_file());
    auto last = anchor.find_last_of("0123456789ABCDEFabcdef");
    ASSERT_NE(last, std::string::npos);
    anchor[last] = anchor[last] == '0' ? '1' : '0';
    bad_anchor_ = new std::string(*dir_ + "/bad-root.key");
    std::ofstream(*bad_anchor_) << anchor;

    remotes_ = new std::map<std::string, RemoteProcess>();
    for (const Site& site : {kFra, kSyd, kSao, kMad, kSin}) {
      auto remote = StartRemote(site, site.name, RemoteKind::kHealthy);
      ASSERT_TRUE(remote) << site.name;
      (*remotes_)[site.name] = std::move(*remote);
    }
    for (const Site& site : {kJnb, kSfo, kNrt}) {
      auto remote = StartRemote(site, site.name, RemoteKind::kBogusAnchor);
      ASSERT_TRUE(remote) << site.name;
      (*remotes_)[site.name] = std::move(*remote);
    }
  }

  static void TearDownTestSuite() {
    if (remotes_) {
      for (auto& [name, remote] : *remotes_) remote.child->Signal(SIGTERM);
      for (auto& [name, remote] : *remotes_) {
        EXPECT_EQ(remote.child->Wait(15s), 0) << name << ":\n" << remote.child->Log();
      }
    }
    delete remotes_;
    remotes_ = nullptr;
    delete lab_;
    lab_ = nullptr;
    if (dir_) {
      std::error_code ec;
      fs::remove_all(*dir_, ec);
    }
    delete dir_;
    delete pki_;
    delete rogue_pki_;
    delete primary_cert_;
    delete ca_client_cert_;
    delete rogue_client_cert_;
    delete bad_anchor_;
    dir_ = bad_anchor_ = nullptr;
    pki_ = rogue_pki_ = nullptr;
    primary_cert_ = ca_client_cert_ = rogue_client_cert_ = nullptr;
  }

  static std::string Unique(const std::string& tag) {
    static std::atomic<int> counter{0};
    return *dir_ + "/" + tag + "-" + std::to_string(++counter);
  }

  enum class RemoteKind { kHealthy, kBogusAnchor, kRogueCa };

  // Starts va-remote for `site`, running under identity name `run_as`.
  static std::optional<RemoteProcess> StartRemote(
      const Site& site, const std::string& run_as, RemoteKind kind,
      const std::vector<std::string>& authorized_primaries = {"primary"}) {
    const TestPki& pki = kind == RemoteKind::kRogueCa ? *rogue_pki_ : *pki_;
    auto cert = pki.Issue(site.name, {site.name}, {"127.0.0.1"});
    if (!cert) return std::nullopt;
    const std::string base = Unique("remote-" + site.name);
    Site running = site;
    running.name = run_as;
    json config{
        {"identity", Identity(running)},
        {"listen", "127.0.0.1:0"},
        {"ready_file", base + ".ready"},
        {"tls",
         {{"ca_file", pki.ca_cert}, {"cert_file", cert->cert_file}, {"key_file", cert->key_file}}},
        {"resolver",
         {{"unbound",
           {{"root_hints_file", lab_->root_hints_file()},
            {"trust_anchor_file",
             kind == RemoteKind::kBogusAnchor ? *bad_anchor_ : lab_->trust_anchor_file()}}}}},
        {"lab", {{"allow_cidrs", {"127.0.0.0/8"}}}},
        {"max_check_ms", kMaxCheckMs},
        {"authorized_primaries", authorized_primaries},
    };
    std::ofstream(base + ".json") << config.dump(2);
    RemoteProcess remote;
    remote.site = site;
    remote.child = std::make_unique<Child>(
        std::vector<std::string>{BinDir() + "/va-remote", "--config", base + ".json"},
        base + ".log");
    auto ready = WaitReady(base + ".ready", remote.child.get(), 30s);
    if (!ready) {
      ADD_FAILURE() << "va-remote " << site.name << " not ready:\n" << remote.child->Log();
      return std::nullopt;
    }
    remote.address = (*ready)["address"];
    return remote;
  }

  static json PrimaryConfig(const std::vector<std::pair<Site, std::string>>& remotes,
                            const PrimaryOptions& options, const std::string& base) {
    json remote_list = json::array();
    for (const auto& [site, address] : remotes) {
      remote_list.push_back(
          {{"identity", Identity(site)}, {"address", address}, {"tls_server_name", site.name}});
      if (auto t = options.remote_timeouts.find(site.name); t != options.remote_timeouts.end()) {
        remote_list.back()["timeout_ms"] = t->second;
      }
    }
    json tls{{"ca_file", pki_->ca_cert},
             {"cert_file", primary_cert_->cert_file},
             {"key_file", primary_cert_->key_file}};
    json config{
        {"identity", Identity(kPrimary)},
        {"listen", "127.0.0.1:0"},
        {"ready_file", base + ".ready"},
        {"metrics_listen", "127.0.0.1:0"},
        {"server_tls", tls},
        {"client_tls", tls},
        {"remotes", remote_list},
        {"resolver",
         {{"unbound",
           {{"root_hints_file", lab_->root_hints_file()},
            {"trust_anchor_file", lab_->trust_anchor_file()}}}}},
        {"lab", {{"allow_cidrs", {"127.0.0.0/8"}}}},
        {"policy", {{"effective_date", options.effective_date}}},
        {"remote_timeout_ms", kRemoteTimeoutMs},
        {"straggler_grace_ms", options.straggler_grace_ms},
        {"max_check_ms", kMaxCheckMs},
        {"remotes_after_primary", options.remotes_after_primary},
        {"audit_log", options.audit_log.empty() ? base + ".audit.jsonl" : options.audit_log},
        {"authorized_clients", {"ca-client"}},
    };
    if (options.max_in_flight > 0) config["max_in_flight"] = options.max_in_flight;
    if (!options.rate_limits.is_null()) config["rate_limits"] = options.rate_limits;
    if (options.remotes_per_validation > 0) {
      config["remotes_per_validation"] = options.remotes_per_validation;
    }
    if (!options.selection_secret.empty()) config["selection_secret"] = options.selection_secret;
    return config;
  }

  // Remotes by name from the shared pool.
  static std::vector<std::pair<Site, std::string>> Pool(const std::vector<std::string>& names) {
    std::vector<std::pair<Site, std::string>> out;
    for (const auto& name : names) {
      const RemoteProcess& r = remotes_->at(name);
      out.emplace_back(r.site, r.address);
    }
    return out;
  }

  static std::optional<PrimaryProcess> StartPrimary(
      const std::vector<std::pair<Site, std::string>>& remotes, const PrimaryOptions& options,
      const std::function<void(json&)>& edit = {}) {
    const std::string base = Unique("primary");
    json config = PrimaryConfig(remotes, options, base);
    if (edit) edit(config);
    std::ofstream(base + ".json") << config.dump(2);
    PrimaryProcess p;
    p.config_path = base + ".json";
    p.audit_log = config["audit_log"];
    p.child = std::make_unique<Child>(
        std::vector<std::string>{BinDir() + "/va-primary", "--config", base + ".json"},
        base + ".log");
    auto ready = WaitReady(base + ".ready", p.child.get(), 30s);
    if (!ready) {
      ADD_FAILURE() << "va-primary not ready:\n" << p.child->Log();
      return std::nullopt;
    }
    p.address = (*ready)["address"];
    p.metrics = (*ready)["metrics"];
    EXPECT_EQ((*ready)["pid"], p.child->pid());
    return p;
  }

  static void StopPrimary(PrimaryProcess& p) {
    p.child->Signal(SIGTERM);
    EXPECT_EQ(p.child->Wait(20s), 0) << p.child->Log();
    if (std::getenv("VA_PRIMARY_TEST_VERBOSE")) std::cerr << p.child->Log();
  }

  static std::shared_ptr<grpc::Channel> Channel(const std::string& address,
                                                const CertPair* client_cert) {
    return mpic::testing::MtlsChannel(address, pki_->ca_cert_pem, client_cert, "primary");
  }

  static grpc::Status Validate(const std::string& address, const v1::ValidateRequest& request,
                               v1::ValidateResponse* response,
                               const CertPair* cert = ca_client_cert_) {
    auto stub = v1::Primary::NewStub(Channel(address, cert));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 15s);
    return stub->Validate(&context, request, response);
  }

  // As Validate, with gRPC metadata (e.g. W3C traceparent) on the call.
  static grpc::Status ValidateWith(const std::string& address, const v1::ValidateRequest& request,
                                   const std::multimap<std::string, std::string>& metadata,
                                   v1::ValidateResponse* response) {
    auto stub = v1::Primary::NewStub(Channel(address, ca_client_cert_));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + 15s);
    for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
    return stub->Validate(&context, request, response);
  }

  // DNS-01 (and CAA for ca.example, which secure.lab.'s CAA allows) for label.secure.lab, with
  // the right TXT published.
  static v1::ValidateRequest Dns01(const std::string& label, bool publish = true) {
    if (publish) {
      EXPECT_TRUE(lab_->Set("secure.lab.", "_acme-challenge." + label, "TXT",
                            {"\"" + checks::Dns01TxtValue(kKeyAuthorization) + "\""}));
    }
    v1::ValidateRequest r;
    r.set_identifier(label + ".secure.lab");
    r.set_method(v1::DNS_01);
    r.set_key_authorization(kKeyAuthorization);
    r.add_caa_issuer_domains("ca.example");
    r.set_account_uri("https://ca.example/acct/1");
    return r;
  }

  static std::map<std::string, const v1::PerspectiveResult*> ByName(
      const v1::ValidateResponse& response) {
    std::map<std::string, const v1::PerspectiveResult*> out;
    for (const auto& r : response.remotes()) out[r.perspective().name()] = &r;
    return out;
  }

  // The single audit record of `request_id` (and that there is exactly one).
  static json RecordOf(const std::string& audit_log, const std::string& request_id) {
    json found;
    int count = 0;
    for (const json& line : AuditLines(audit_log)) {
      EXPECT_FALSE(line.is_discarded());
      if (line.value("request_id", "") == request_id) {
        found = line;
        ++count;
      }
    }
    EXPECT_EQ(count, 1) << request_id;
    return found;
  }

  static std::string HealthStatus(const std::string& address) {
    return mpic::testing::HealthStatus(Channel(address, ca_client_cert_));
  }

  // Validates once and returns the response (asserting a successful RPC).
  static v1::ValidateResponse MustValidate(const PrimaryProcess& p,
                                           const v1::ValidateRequest& request) {
    v1::ValidateResponse response;
    grpc::Status status = Validate(p.address, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message() << "\n"
                             << p.child->Log();
    return response;
  }

  static DnsLab* lab_;
  static std::string* dir_;
  static TestPki* pki_;
  static TestPki* rogue_pki_;
  static CertPair* primary_cert_;
  static CertPair* ca_client_cert_;
  static CertPair* rogue_client_cert_;
  static std::string* bad_anchor_;
  static std::map<std::string, RemoteProcess>* remotes_;
};

DnsLab* VaPrimaryTest::lab_ = nullptr;
std::string* VaPrimaryTest::dir_ = nullptr;
TestPki* VaPrimaryTest::pki_ = nullptr;
TestPki* VaPrimaryTest::rogue_pki_ = nullptr;
CertPair* VaPrimaryTest::primary_cert_ = nullptr;
CertPair* VaPrimaryTest::ca_client_cert_ = nullptr;
CertPair* VaPrimaryTest::rogue_client_cert_ = nullptr;
std::string* VaPrimaryTest::bad_anchor_ = nullptr;
std::map<std::string, RemoteProcess>* VaPrimaryTest::remotes_ = nullptr;

TEST_F(VaPrimaryTest, AllAgreeIsCorroboratedWithOneAuditRecord) {
  auto p = StartPrimary(Pool({"fra", "syd", "sao"}), PrimaryOptions().Date("2026-03-15"));
  ASSERT_TRUE(p);
  EXPECT_EQ(HealthStatus(p->address), "SERVING");
  v1::ValidateResponse r = MustValidate(*p, Dns01("agree"));
  EXPECT_EQ(r.decision(), v1::CORROBORATED) << r.problem().detail();
  EXPECT_EQ(r.quorum(), "3/3");
  EXPECT_EQ(r.request_id().size(), 32u);
  EXPECT_EQ(r.phase(), "2026-03-15");
  EXPECT_TRUE(r.enforced());
  EXPECT_NE(r.policy().find("2026-03-15"), std::string::npos) << r.policy();
  EXPECT_FALSE(r.has_problem());
  EXPECT_EQ(r.divergences_size(), 0);
  EXPECT_EQ(r.primary().perspective().name(), "nyc");
  EXPECT_EQ(r.primary().status(), v1::ANSWERED);
  EXPECT_TRUE(r.primary().corroborates());
  EXPECT_TRUE(r.primary().dcv().valid());
  EXPECT_TRUE(r.primary().caa().valid());
  ASSERT_EQ(r.remotes_size(), 3);
  for (const auto& remote : r.remotes()) {
    EXPECT_EQ(remote.status(), v1::ANSWERED) << remote.perspective().name();
    EXPECT_TRUE(remote.corroborates()) << remote.perspective().name();
    ASSERT_EQ(remote.dcv().evidence().txt_values_size(), 1);
    EXPECT_EQ(remote.dcv().evidence().txt_values(0), checks::Dns01TxtValue(kKeyAuthorization));
    EXPECT_EQ(remote.caa().evidence().caa_name(), "secure.lab.");
    EXPECT_GT(remote.latency_ms(), 0);
  }

  json record = RecordOf(p->audit_log, r.request_id());
  EXPECT_EQ(record["decision"], "CORROBORATED");
  EXPECT_EQ(record["quorum"], "3/3");
  EXPECT_EQ(record["identifier"], "agree.secure.lab");
  EXPECT_EQ(record["method"], "dns-01");
  EXPECT_EQ(record["phase"], "2026-03-15");
  EXPECT_EQ(record["enforced"], true);
  EXPECT_EQ(record["response"]["remotes"].size(), 3u);
  EXPECT_EQ(record["response"]["primary"]["status"], "ANSWERED");

  std::string page = HttpGet(p->metrics, "/metrics");
  EXPECT_EQ(Metric(page, "mpic_primary_decisions_total{decision=\"corroborated\"}"), 1) << page;
  EXPECT_EQ(Metric(page,
                   "mpic_primary_perspective_results_total{perspective=\"fra\",status="
                   "\"corroborated\"}"),
            1)
      << page;
  EXPECT_EQ(Metric(page, "mpic_primary_perspective_latency_seconds_count{perspective=\"syd\"}"), 1)
      << page;
  StopPrimary(*p);
}

TEST_F(VaPrimaryTest, TwoToFiveRemotesTolerateOneFailure) {
  {  // 2 remotes, one failing: 1/2 is enough (BR table: 1 allowed).
    auto p = StartPrimary(Pool({"fra", "jnb"}), PrimaryOptions().Date("2025-09-15"));
    ASSERT_TRUE(p);
    v1::ValidateResponse r = MustValidate(*p, Dns01("two"));
    EXPECT_EQ(r.decision(), v1::CORROBORATED) << r.problem().detail();
    EXPECT_EQ(r.quorum(), "1/2");
    StopPrimary(*p);
  }
  {  // 4 remotes, one failing: corroborated, and the failing one's evidence diverges.
    auto p = StartPrimary(Pool({"fra", "syd", "sao", "jnb"}), PrimaryOptions().Date("2026-06-15"));
    ASSERT_TRUE(p);
    v1::ValidateResponse r = MustValidate(*p, Dns01("four"));
    EXPECT_EQ(r.decision(), v1::CORROBORATED) << r.problem().detail();
    EXPECT_EQ(r.quorum(), "3/4");
    auto remotes = ByName(r);
    ASSERT_TRUE(remotes.count("jnb"));
    EXPECT_EQ(remotes["jnb"]->status(), v1::ANSWERED);
    EXPECT_FALSE(remotes["jnb"]->corroborates());
    EXPECT_EQ(remotes["jnb"]->dcv().problem().type(), "urn:ietf:params:acme:error:dns");
    bool txt_divergence = false;
    for (const auto& d : r.divergences()) {
      if (d.field() != "dcv.txt_values") continue;
      txt_divergence = true;
      ASSERT_EQ(d.values_size(), 2);
      EXPECT_EQ(d.values(0).value(), checks::Dns01TxtValue(kKeyAuthorization));
      EXPECT_EQ(d.values(0).perspectives_size(), 4);  // the primary and three remotes
      ASSERT_EQ(d.values(1).perspectives_size(), 1);
      EXPECT_EQ(d.values(1).perspectives(0), "jnb");
    }
    EXPECT_TRUE(txt_divergence);
    json record = RecordOf(p->audit_log, r.request_id());
    EXPECT_FALSE(record["response"]["divergences"].empty());
    StopPrimary(*p);
  }
  {  // 4 remotes, two failing: not corroborated, with a quorum problem.
    auto p = StartPrimary(Pool({"fra", "syd", "jnb", "sfo"}), PrimaryOptions().Date("2026-06-15"));
    ASSERT_TRUE(p);
    v1::ValidateResponse r = MustValidate(*p, Dns01("fourbad"));
    EXPECT_EQ(r.decision(), v1::NOT_CORROBORATED);
    EXPECT_EQ(r.quorum(), "2/4");
    EXPECT_EQ(r.problem().type(), "urn:ietf:params:acme:error:unauthorized");
    EXPECT_NE(r.problem().detail().find("2/4"), std::string::npos) << r.problem().detail();
    EXPECT_TRUE(r.primary().corroborates());
    json record = RecordOf(p->audit_log, r.request_id());
    EXPECT_EQ(record["decision"], "NOT_CORROBORATED");
    std::string page = HttpGet(p->metrics, "/metrics");
    EXPECT_EQ(Metric(page, "mpic_primary_decisions_total{decision=\"not_corroborated\"}"), 1);
    StopPrimary(*p);
  }
}

TEST_F(VaPrimaryTest, RetriesUseDisjointCohorts) {
  auto p = StartPrimary(
      Pool({"fra", "syd", "sao", "mad", "sin"}),
      PrimaryOptions().Date("2025-09-15").Count(2).Secret("0123456789abcdef0123456789abcdef"));
  ASSERT_TRUE(p);
  v1::ValidateRequest request = Dns01("retry");
  std::set<std::string> seen;
  for (uint32_t attempt : {0u, 1u}) {
    request.set_attempt(attempt);
    v1::ValidateResponse r = MustValidate(*p, request);
    EXPECT_EQ(r.decision(), v1::CORROBORATED) << r.problem().detail();
    ASSERT_EQ(r.remotes_size(), 2);
    for (const auto& remote : r.remotes()) {
      EXPECT_TRUE(seen.insert(remote.perspective().name()).second)
          << remote.perspective().name() << " reused by attempt " << attempt;
    }
    EXPECT_EQ(RecordOf(p->audit_log, r.request_id())["attempt"], attempt);
  }
  // A third attempt would need two unused remotes of a pool of five: refused, fail closed.
  request.set_attempt(2);
  v1::ValidateResponse r = MustValidate(*p, request);
  EXPECT_EQ(r.decision(), v1::NOT_CORROBORATED);
  EXPECT_NE(r.problem().detail().find("exhausted"), std::string::npos) << r.problem().detail();
  RecordOf(p->audit_log, r.request_id());
  StopPrimary(*p);
}

// Tolerance with six remotes, the not-enforced phase and remotes_after_primary are
// orchestration only: va-primary/validation_test.cc covers them with in-memory remotes.

class HangingRemote {
 public:
  explicit HangingRemote(const CertPair& cert, const std::string& ca_pem) {
    grpc::SslServerCredentialsOptions options(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    options.pem_root_certs = ca_pem;
    options.pem_key_cert_pairs.push_back({cert.key_pem, cert.cert_pem});
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(options), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  ~HangingRemote() { server_->Shutdown(std::chrono::system_clock::now() + 2s); }
  const std::string& address() const { return address_; }
  HangingPerspective& service() { return service_; }

 private:
  HangingPerspective service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

TEST_F(VaPrimaryTest, HangingRemoteIsAStragglerCancelledAfterTheGrace) {
  auto cert = pki_->Issue(kBom.name, {kBom.name}, {"127.0.0.1"});
  ASSERT_TRUE(cert);
  HangingRemote hanging(*cert, pki_->ca_cert_pem);
  auto remotes = Pool({"fra", "syd"});
  remotes.emplace_back(kBom, hanging.address());
  auto p = StartPrimary(remotes, PrimaryOptions().Date("2025-09-15").Count(3).Grace(200));
  ASSERT_TRUE(p);
  v1::ValidateResponse r = MustValidate(*p, Dns01("hang"));
  // Decided by fra and syd (2 of 3, one may fail); bom is cancelled after the grace, not
  // waited for until its deadline (then it would be TIMED_OUT).
  EXPECT_EQ(r.decision(), v1::CORROBORATED) << r.problem().detail();
  EXPECT_EQ(r.quorum(), "2/3");
  auto by_name = ByName(r);
  ASSERT_TRUE(by_name.count("bom"));
  EXPECT_EQ(by_name["bom"]->status(), v1::CANCELLED) << by_name["bom"]->error();
  json record = RecordOf(p->audit_log, r.request_id());
  bool found = false;
  for (const json& remote : record["response"]["remotes"]) {
    if (remote["perspective"]["name"] == "bom") {
      found = true;
      EXPECT_EQ(remote["status"], "CANCELLED");
    }
  }
  EXPECT_TRUE(found);
  // The hanging server saw the cancellation.
  for (int i = 0; i < 250 && hanging.service().cancelled.load() < 1; ++i) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(hanging.service().cancelled.load(), 1);
  std::string page = HttpGet(p->metrics, "/metrics");
  EXPECT_EQ(Metric(page, "mpic_primary_stragglers_cancelled_total"), 1) << page;

  // When the hanging remote is needed for the decision, it times out.
  StopPrimary(*p);
  remotes = Pool({"fra", "jnb"});
  remotes.emplace_back(kBom, hanging.address());
  p = StartPrimary(remotes, PrimaryOptions().Date("2025-09-15").Count(3).Grace(200));
  ASSERT_TRUE(p);
  r = MustValidate(*p, Dns01("hang2"));
  EXPECT_EQ(r.decision(), v1::NOT_CORROBORATED);
  EXPECT_EQ(r.quorum(), "1/3");
  by_name = ByName(r);
  EXPECT_EQ(by_name["bom"]->status(), v1::TIMED_OUT) << by_name["bom"]->error();
  record = RecordOf(p->audit_log, r.request_id());
  EXPECT_EQ(record["response"]["remotes"].size(), 3u);
  page = HttpGet(p->metrics, "/metrics");
  EXPECT_EQ(Metric(page, "mpic_primary_remote_rpc_errors_total{code=\"DEADLINE_EXCEEDED\"}"), 1)
      << page;
  StopPrimary(*p);
}

// A remote's own deadline (RemoteEndpoint.timeout_ms) applies to its RPC: the hanging remote
// with 600 ms ends TIMED_OUT long before the 1,400 ms grace after the decision would cancel it.
TEST_F(VaPrimaryTest, PerRemoteTimeoutIsThatRemotesDeadline) {
  auto cert = pki_->Issue(kBom.name, {kBom.name}, {"127.0.0.1"});
  ASSERT_TRUE(cert);
  HangingRemote hanging(*cert, pki_->ca_cert_pem);
  auto remotes = Pool({"fra", "syd"});
  remotes.emplace_back(kBom, hanging.address());
  auto p = StartPrimary(
      remotes, PrimaryOptions().Date("2025-09-15").Count(3).Grace(1400).RemoteTimeout("bom", 600));
  ASSERT_TRUE(p);
  v1::ValidateResponse r = MustValidate(*p, Dns01("owntimeout"));
  EXPECT_EQ(r.decision(), v1::CORROBORATED) << r.problem().detail();
  auto by_name = ByName(r);
  ASSERT_TRUE(by_name.count("bom"));
  EXPECT_EQ(by_name["bom"]->status(), v1::TIMED_OUT) << by_name["bom"]->error();
  StopPrimary(*p);
}

// Reload (SIGHUP, docs/operations.md): a broken or restart-only config is refused and the old
// one keeps serving; a good one changes the remote list for new validations; the rotated client
// certificate is presented to the remotes (a remote that authorizes only its new name answers).
TEST_F(VaPrimaryTest, SighupReloadsConfigAndClientCertificate) {
  // A remote that accepts only the certificate the primary will rotate to.
  auto picky = StartRemote(kMow, kMow.name, RemoteKind::kHealthy, {"primary-rotated"});
  ASSERT_TRUE(picky);
  auto rotated = pki_->Issue("primary-rotated", {"primary"}, {});  // the others know "primary"
  ASSERT_TRUE(rotated) << rotated.error().detail;
  const std::string client_cert = Unique("client") + ".pem";
  const std::string client_key = Unique("client") + ".key";
  fs::copy_file(primary_cert_->cert_file, client_cert);
  fs::copy_file(primary_cert_->key_file, client_key);

  std::vector<std::pair<Site, std::string>> remotes = Pool({"fra", "syd"});
  remotes.emplace_back(picky->site, picky->address);
  json config;
  auto p = StartPrimary(remotes, PrimaryOptions{}, [&](json& c) {
    c["client_tls"]["cert_file"] = client_cert;
    c["client_tls"]["key_file"] = client_key;
    config = c;
  });
  ASSERT_TRUE(p);
  auto reloads = [&](const std::string& result) {
    return Metric(HttpGet(p->metrics, "/metrics"),
                  "mpic_config_reloads_total{result=\"" + result + "\",role=\"primary\"}");
  };
  // SIGHUP, then wait (bounded) until the reload was counted.
  auto sighup = [&](const std::string& result) {
    const double before = reloads(result);
    p->child->Signal(SIGHUP);
    for (int i = 0; i < 200 && reloads(result) == before; ++i) std::this_thread::sleep_for(25ms);
    return reloads(result) == before + 1;
  };
  EXPECT_EQ(reloads("applied"), 0);
  EXPECT_EQ(reloads("refused"), 0);

  v1::ValidateResponse first = MustValidate(*p, Dns01("reload-1"));
  EXPECT_EQ(first.decision(), v1::CORROBORATED);
  ASSERT_EQ(first.remotes_size(), 3);
  EXPECT_EQ(ByName(first)["mow"]->status(), v1::RPC_ERROR);  // "primary" is not authorized there
  EXPECT_NE(ByName(first)["mow"]->error().find("PERMISSION_DENIED"), std::string::npos)
      << ByName(first)["mow"]->error();

  // A syntax error: refused, logged with the reason, still serving on the old configuration.
  std::ofstream(p->config_path) << config.dump(2).substr(0, 40);
  ASSERT_TRUE(sighup("refused")) << p->child->Log();
  EXPECT_NE(p->child->Log().find("configuration reload refused"), std::string::npos);
  // A restart-only change: refused, naming the field.
  json moved = config;
  moved["listen"] = "127.0.0.1:1";
  std::ofstream(p->config_path) << moved.dump(2);
  ASSERT_TRUE(sighup("refused")) << p->child->Log();
  EXPECT_NE(p->child->Log().find("restart to change listen"), std::string::npos);
  EXPECT_TRUE(p->child->Running());
  EXPECT_EQ(MustValidate(*p, Dns01("reload-2")).remotes_size(), 3);

  // Rotate the client certificate (each file replaced atomically, as cert-manager does) and add
  // a remote: applied at once, the next validation asks four remotes with the new certificate.
  fs::copy_file(rotated->cert_file, client_cert + ".new");
  fs::copy_file(rotated->key_file, client_key + ".new");
  fs::rename(client_key + ".new", client_key);
  fs::rename(client_cert + ".new", client_cert);
  json grown = config;
  grown["remotes"].push_back({{"identity", Identity(kSao)},
                              {"address", remotes_->at("sao").address},
                              {"tls_server_name", "sao"}});
  grown["remotes_per_validation"] = 4;  // the whole pool (no selection secret needed)
  std::ofstream(p->config_path) << grown.dump(2);
  ASSERT_TRUE(sighup("applied")) << p->child->Log();
  EXPECT_NE(p->child->Log().find("configuration reloaded"), std::string::npos);
  v1::ValidateResponse after = MustValidate(*p, Dns01("reload-3"));
  EXPECT_EQ(after.decision(), v1::CORROBORATED);
  ASSERT_EQ(after.remotes_size(), 4);
  EXPECT_EQ(ByName(after)["mow"]->status(), v1::ANSWERED) << ByName(after)["mow"]->error();
  EXPECT_TRUE(ByName(after)["mow"]->corroborates());
  EXPECT_EQ(ByName(after)["sao"]->status(), v1::ANSWERED);
  StopPrimary(*p);
  picky->child->Signal(SIGTERM);
  EXPECT_EQ(picky->child->Wait(15s), 0) << picky->child->Log();
}

TEST_F(VaPrimaryTest, RemoteKilledMidRequestIsAnRpcError) {
  auto victim = StartRemote(kScl, kScl.name, RemoteKind::kHealthy);
  ASSERT_TRUE(victim);
  auto remotes = Pool({"fra", "syd"});
  remotes.emplace_back(kScl, victim->address);
  auto p = StartPrimary(remotes, PrimaryOptions().Date("2025-09-15").Count(3));
  ASSERT_TRUE(p);
  // dead.lab never answers: every perspective is still resolving when the victim dies.
  v1::ValidateRequest request = Dns01("x", /*publish=*/false);
  request.set_identifier("www.dead.lab");
  request.set_skip_caa(true);
  auto reply = std::async(std::launch::async, [&] {
    v1::ValidateResponse r;
    grpc::Status s = Validate(p->address, request, &r);
    return std::make_pair(s, r);
  });
  std::this_thread::sleep_for(400ms);
  victim->child->Signal(SIGKILL);
  ASSERT_EQ(reply.wait_for(20s), std::future_status::ready);
  auto [status, r] = reply.get();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(r.decision(), v1::NOT_CORROBORATED);
  auto by_name = ByName(r);
  ASSERT_TRUE(by_name.count("scl"));
  EXPECT_EQ(by_name["scl"]->status(), v1::RPC_ERROR) << by_name["scl"]->error();
  EXPECT_NE(by_name["scl"]->error().find("UNAVAILABLE"), std::string::npos)
      << by_name["scl"]->error();
  json record = RecordOf(p->audit_log, r.request_id());
  EXPECT_EQ(record["response"]["remotes"].size(), 3u);
  StopPrimary(*p);
}

TEST_F(VaPrimaryTest, RemoteWithACertificateFromAnotherCaIsAnRpcError) {
  auto rogue = StartRemote(kNbo, kNbo.name, RemoteKind::kRogueCa);
  ASSERT_TRUE(rogue);
  auto remotes = Pool({"fra", "syd"});
  remotes.emplace_back(kNbo, rogue->address);
  auto p = StartPrimary(remotes, PrimaryOptions().Date("2025-09-15").Count(3));
  ASSERT_TRUE(p);
  v1::ValidateResponse r = MustValidate(*p, Dns01("rogue"));
  EXPECT_EQ(r.decision(), v1::CORROBORATED) << r.problem().detail();
  EXPECT_EQ(r.quorum(), "2/3");
  auto by_name = ByName(r);
  EXPECT_EQ(by_name["nbo"]->status(), v1::RPC_ERROR) << by_name["nbo"]->error();
  EXPECT_FALSE(by_name["nbo"]->corroborates());
  StopPrimary(*p);
  rogue->child->Signal(SIGTERM);
  EXPECT_EQ(rogue->child->Wait(15s), 0);
}

TEST_F(VaPrimaryTest, RemoteWithTheWrongIdentityDoesNotCount) {
  // Configured at the primary as "lim" (LACNIC); the process says it is "imposter".
  auto imposter = StartRemote(kLim, "imposter", RemoteKind::kHealthy);
  ASSERT_TRUE(imposter);
  auto remotes = Pool({"fra", "syd"});
  remotes.emplace_back(kLim, imposter->address);
  auto p = StartPrimary(remotes, PrimaryOptions().Date("2025-09-15").Count(3));
  ASSERT_TRUE(p);
  v1::ValidateResponse r = MustValidate(*p, Dns01("imposter"));
  EXPECT_EQ(r.decision(), v1::CORROBORATED) << r.problem().detail();
  EXPECT_EQ(r.quorum(), "2/3");
  auto by_name = ByName(r);
  EXPECT_EQ(by_name["lim"]->status(), v1::IDENTITY_MISMATCH);
  EXPECT_NE(by_name["lim"]->error().find("imposter"), std::string::npos);
  EXPECT_FALSE(by_name["lim"]->corroborates());
  std::string page = HttpGet(p->metrics, "/metrics");
  EXPECT_EQ(Metric(page,
                   "mpic_primary_perspective_results_total{perspective=\"lim\",status="
                   "\"identity_mismatch\"}"),
            1)
      << page;
  StopPrimary(*p);
  imposter->child->Signal(SIGTERM);
  EXPECT_EQ(imposter->child->Wait(15s), 0);
}

TEST_F(VaPrimaryTest, CallersNeedAFleetCertificate) {
  auto p = StartPrimary(Pool({"fra", "syd"}), PrimaryOptions().Date("2025-09-15"));
  ASSERT_TRUE(p);
  v1::ValidateRequest request = Dns01("caller");
  v1::ValidateResponse r;
  grpc::Status none = Validate(p->address, request, &r, /*cert=*/nullptr);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAVAILABLE) << none.error_message();
  grpc::Status rogue = Validate(p->address, request, &r, rogue_client_cert_);
  EXPECT_EQ(rogue.error_code(), grpc::StatusCode::UNAVAILABLE) << rogue.error_message();
  // Issue 15, defect 5: a fleet certificate that is not a named CA client (here the primary's
  // own) is refused by identity.
  grpc::Status stranger = Validate(p->address, request, &r, primary_cert_);
  EXPECT_EQ(stranger.error_code(), grpc::StatusCode::PERMISSION_DENIED) << stranger.error_message();
  EXPECT_NE(stranger.error_message().find("authorized_clients"), std::string::npos)
      << stranger.error_message();
  r = MustValidate(*p, request);
  EXPECT_EQ(r.decision(), v1::CORROBORATED);
  EXPECT_EQ(AuditLines(p->audit_log).size(), 1u);  // rejected callers left no record
  StopPrimary(*p);
}

// Issue 15, defect 4: validations in flight are bounded; beyond the limit and its short queue a
// caller gets RESOURCE_EXHAUSTED at once instead of another resolver context and thread.
TEST_F(VaPrimaryTest, ValidationsInFlightAreBounded) {
  auto p = StartPrimary(Pool({"fra", "syd"}), PrimaryOptions().Date("2025-09-15").InFlight(1));
  ASSERT_TRUE(p);
  // dead.lab never answers: each validation holds its slot until its deadlines.
  v1::ValidateRequest slow = Dns01("x", /*publish=*/false);
  slow.set_identifier("www.dead.lab");
  slow.set_skip_caa(true);
  std::vector<std::future<grpc::Status>> calls;
  for (int i = 0; i < 4; ++i) {
    calls.push_back(std::async(std::launch::async, [&] {
      v1::ValidateResponse r;
      return Validate(p->address, slow, &r);
    }));
  }
  int ok = 0;
  int exhausted = 0;
  for (auto& call : calls) {
    ASSERT_EQ(call.wait_for(30s), std::future_status::ready);
    grpc::Status s = call.get();
    if (s.ok()) ++ok;
    if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++exhausted;
      EXPECT_NE(s.error_message().find("max_in_flight"), std::string::npos) << s.error_message();
    }
  }
  // One runs, one may wait for it; four at once cannot all be served.
  EXPECT_GE(ok, 1);
  EXPECT_GE(exhausted, 2);
  EXPECT_EQ(ok + exhausted, 4);
  EXPECT_EQ(AuditLines(p->audit_log).size(), static_cast<size_t>(ok));  // refusals: no record
  std::string page = HttpGet(p->metrics, "/metrics");
  EXPECT_EQ(Metric(page, "mpic_primary_in_flight"), 0) << page;
  EXPECT_GE(Metric(page, "mpic_primary_refused_total{reason=\"queue_full\"}"), 1) << page;
  // Issue 15, defect 6: the lab configuration shows in metrics and in every record.
  EXPECT_EQ(Metric(page, "mpic_non_production{role=\"primary\"}"), 1) << page;
  for (const json& line : AuditLines(p->audit_log)) {
    EXPECT_EQ(line.value("non_production", false), true) << line.dump();
  }
  // And the primary serves again.
  v1::ValidateResponse r = MustValidate(*p, Dns01("afterbusy"));
  EXPECT_EQ(r.decision(), v1::CORROBORATED);
  StopPrimary(*p);
}

// Issue 15: the caller's W3C traceparent is carried to every remote (a new parent-id per call)
// and shows in their log lines and in the audit record; an invalid one starts a new trace. The
// per-identifier rate limit refuses the next request RESOURCE_EXHAUSTED, before admission and
// without a record, and counts it.
TEST_F(VaPrimaryTest, TraceContextReachesRemotesAndRateLimitsRefuse) {
  auto p = StartPrimary(Pool({"fra", "syd"}),
                        PrimaryOptions().Date("2025-09-15").RateLimits(
                            {{"per_identifier", {{"per_minute", 1}, {"burst", 1}}}}));
  ASSERT_TRUE(p);
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string caller_span = "00f067aa0ba902b7";
  v1::ValidateResponse r;
  grpc::Status s = ValidateWith(p->address, Dns01("traced"),
                                {{"traceparent", "00-" + trace_id + "-" + caller_span + "-01"},
                                 {"tracestate", "rojo=00f067aa0ba902b7"}},
                                &r);
  ASSERT_TRUE(s.ok()) << s.error_message() << "\n" << p->child->Log();
  EXPECT_EQ(r.decision(), v1::CORROBORATED) << r.problem().detail();
  EXPECT_EQ(RecordOf(p->audit_log, r.request_id())["trace_id"], trace_id);
  std::set<std::string> spans;
  for (const std::string name : {"fra", "syd"}) {
    json line;
    for (const std::string& text : Lines(remotes_->at(name).child->Log())) {
      json j = json::parse(text, nullptr, false);
      if (j.is_object() && j.value("request_id", "") == r.request_id()) line = j;
    }
    ASSERT_TRUE(line.is_object()) << name << " logged no line for " << r.request_id();
    EXPECT_EQ(line.value("trace_id", ""), trace_id) << line.dump();
    const std::string span = line.value("parent_id", "");
    EXPECT_EQ(span.size(), 16u) << line.dump();
    EXPECT_NE(span, caller_span) << "each remote call is a new span";
    spans.insert(span);
  }
  EXPECT_EQ(spans.size(), 2u);

  // The same identifier again within the minute: refused, named, counted, not recorded.
  s = ValidateWith(p->address, Dns01("traced"), {}, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();
  EXPECT_NE(s.error_message().find("per-identifier limit"), std::string::npos)
      << s.error_message();
  EXPECT_EQ(AuditLines(p->audit_log).size(), 1u);
  std::string page = HttpGet(p->metrics, "/metrics");
  EXPECT_EQ(Metric(page, "mpic_primary_rate_limited_total{key=\"identifier\"}"), 1) << page;
  EXPECT_EQ(Metric(page, "mpic_primary_rate_limited_total{key=\"account\"}"), 0) << page;

  // Another identifier, with an invalid traceparent (upper-case hex): served, in a new trace.
  s = ValidateWith(p->address, Dns01("untraced"),
                   {{"traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + caller_span + "-01"}},
                   &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const std::string fresh = RecordOf(p->audit_log, r.request_id()).value("trace_id", "");
  EXPECT_EQ(fresh.size(), 32u);
  EXPECT_NE(fresh, trace_id);
  StopPrimary(*p);
}

TEST_F(VaPrimaryTest, GarbageAndOversizedRequestsAreRefused) {
  auto p = StartPrimary(Pool({"fra", "syd"}), PrimaryOptions().Date("2025-09-15"));
  ASSERT_TRUE(p);
  v1::ValidateResponse r;
  v1::ValidateRequest bad = Dns01("garbage", /*publish=*/false);
  bad.set_identifier("not a name!");
  grpc::Status s = Validate(p->address, bad, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  bad = Dns01("garbage", false);
  bad.set_key_authorization("nope");
  s = Validate(p->address, bad, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  bad = Dns01("garbage", false);
  bad.set_method(v1::CAA);
  s = Validate(p->address, bad, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();

  v1::ValidateRequest huge = Dns01("garbage", false);
  huge.set_identifier(std::string(100 * 1024, 'a'));
  s = Validate(p->address, huge, &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << s.error_message();

  // Bytes that are not a ValidateRequest at all.
  grpc::GenericStub generic(Channel(p->address, ca_client_cert_));
  grpc::Slice slice(std::string("\xff\xff\xff\xff\x0f garbage", 13));
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 10s);
  std::promise<grpc::Status> done;
  generic.UnaryCall(&context, "/mpic.v1.Primary/Validate", grpc::StubOptions(), &request, &response,
                    [&done](grpc::Status st) { done.set_value(std::move(st)); });
  auto future = done.get_future();
  ASSERT_EQ(future.wait_for(15s), std::future_status::ready);
  // Issue 15, defect 8: INVALID_ARGUMENT with a reason, not a bare UNIMPLEMENTED.
  const grpc::Status garbage = future.get();
  EXPECT_EQ(garbage.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << garbage.error_message();
  EXPECT_NE(garbage.error_message().find("ValidateRequest"), std::string::npos)
      << garbage.error_message();

  EXPECT_TRUE(p->child->Running());
  r = MustValidate(*p, Dns01("garbage"));
  EXPECT_EQ(r.decision(), v1::CORROBORATED);
  EXPECT_EQ(AuditLines(p->audit_log).size(), 1u);
  StopPrimary(*p);
}

TEST_F(VaPrimaryTest, NoAnswerWithoutAnAuditRecord) {
  auto p =
      StartPrimary(Pool({"fra", "syd"}), PrimaryOptions().Date("2025-09-15").Audit("/dev/full"));
  ASSERT_TRUE(p);
  v1::ValidateResponse r;
  grpc::Status s = Validate(p->address, Dns01("nowrite"), &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INTERNAL) << s.error_message();
  EXPECT_NE(s.error_message().find("audit"), std::string::npos) << s.error_message();
  std::string page = HttpGet(p->metrics, "/metrics");
  EXPECT_EQ(Metric(page, "mpic_primary_audit_write_failures_total"), 1) << page;
  EXPECT_EQ(Metric(page, "mpic_primary_decisions_total{decision=\"corroborated\"}"), -1) << page;
  StopPrimary(*p);
}

TEST_F(VaPrimaryTest, FleetsThatCannotMeetThePhaseAreRefused) {
  const std::vector<std::pair<Site, std::string>> ripe_only = {
      {kFra, "127.0.0.1:1"}, {kMad, "127.0.0.1:2"}, {kMow, "127.0.0.1:3"}};
  const Site ams{"ams", "RIPE_NCC", 52.37, 4.90};  // 365 km from Frankfurt
  const std::vector<std::pair<Site, std::string>> too_close = {
      {kFra, "127.0.0.1:1"}, {ams, "127.0.0.1:2"}, {kSyd, "127.0.0.1:3"}};
  const std::vector<std::pair<Site, std::string>> too_few = {{kFra, "127.0.0.1:1"},
                                                             {kSyd, "127.0.0.1:2"}};
  struct Case {
    std::vector<std::pair<Site, std::string>> remotes;
    std::string expect;
  };
  for (const Case& c :
       {Case{ripe_only, "RIR"}, Case{too_close, "apart"}, Case{too_few, "needs at least 3"}}) {
    const std::string base = Unique("refused");
    std::ofstream(base + ".json")
        << PrimaryConfig(c.remotes, PrimaryOptions().Date("2026-03-15"), base).dump(2);
    CommandResult check =
        RunCommand({BinDir() + "/va-primary", "--config", base + ".json", "--check-config"}, 20s);
    EXPECT_EQ(check.exit_code, 2) << check.out << check.err;
    EXPECT_NE(check.err.find(c.expect), std::string::npos) << check.err;
    CommandResult start = RunCommand({BinDir() + "/va-primary", "--config", base + ".json"}, 20s);
    EXPECT_EQ(start.exit_code, 2) << start.err;
    EXPECT_NE(start.err.find(c.expect), std::string::npos) << start.err;
  }
  // An unknown field is refused too.
  const std::string base = Unique("unknown");
  json config = PrimaryConfig(Pool({"fra", "syd", "sao"}), {}, base);
  config["straggler_grace"] = 5;
  std::ofstream(base + ".json") << config.dump(2);
  CommandResult r =
      RunCommand({BinDir() + "/va-primary", "--config", base + ".json", "--check-config"}, 20s);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // An unknown method in method_timeouts is refused, naming it.
  config.erase("straggler_grace");
  config["method_timeouts"] = {{{"method", "DNS-01"}, {"max_check_ms", 1000}}};
  std::ofstream(base + ".json") << config.dump(2);
  r = RunCommand({BinDir() + "/va-primary", "--config", base + ".json", "--check-config"}, 20s);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("method_timeouts[0].method \"DNS-01\" is not a DCV method"),
            std::string::npos)
      << r.err;
  // And a good one passes, printing the per-method deadlines.
  config["method_timeouts"] = {{{"method", "DNS_01"}, {"max_check_ms", 1000}}};
  std::ofstream(base + ".json") << config.dump(2);
  r = RunCommand({BinDir() + "/va-primary", "--config", base + ".json", "--check-config"}, 20s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("method DNS_01: max_check_ms 1000, remote_timeout_ms " +
                       std::to_string(kRemoteTimeoutMs)),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("rate limits: off"), std::string::npos) << r.out;
  // Rate limits are shown when set, and a burst without a rate is refused.
  config["rate_limits"] = {{"per_identifier", {{"per_minute", 10}, {"burst", 3}}}};
  std::ofstream(base + ".json") << config.dump(2);
  r = RunCommand({BinDir() + "/va-primary", "--config", base + ".json", "--check-config"}, 20s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("rate limits: per account off, per identifier 10/min burst 3"),
            std::string::npos)
      << r.out;
  config["rate_limits"] = {{"per_account", {{"burst", 3}}}};
  std::ofstream(base + ".json") << config.dump(2);
  r = RunCommand({BinDir() + "/va-primary", "--config", base + ".json", "--check-config"}, 20s);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.err.find("rate_limits.per_account.burst is set but per_minute is 0"),
            std::string::npos)
      << r.err;
}

TEST_F(VaPrimaryTest, InProcessLibrary) {
  const std::string base = Unique("inprocess");
  json j = PrimaryConfig(Pool({"fra", "syd", "sao"}), PrimaryOptions().Date("today"), base);
  auto config = perspective::ParsePrimaryConfig(j.dump(), "in-process config");
  ASSERT_TRUE(config) << config.error().detail;
  // "today" is an input: pin it to the 2026-03-15 phase.
  auto server = va_primary::PrimaryServer::Start(*config, quorum::Date{2026, 4, 1});
  ASSERT_TRUE(server) << server.error().detail;
  v1::ValidateResponse r;
  grpc::Status s = Validate((*server)->address(), Dns01("inprocess"), &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.decision(), v1::CORROBORATED) << r.problem().detail();
  EXPECT_EQ(r.phase(), "2026-03-15");
  EXPECT_EQ(r.quorum(), "3/3");
  EXPECT_FALSE((*server)->metrics_address().empty());
  (*server)->Shutdown();
  (*server)->Shutdown();  // idempotent
  RecordOf(base + ".audit.jsonl", r.request_id());

  // A fleet that cannot meet its phase does not start.
  j["policy"]["effective_date"] = "2026-12-15";
  config = perspective::ParsePrimaryConfig(j.dump(), "in-process config");
  ASSERT_TRUE(config);
  auto refused = va_primary::PrimaryServer::Start(*config);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().type, ProblemType::kMalformed);
  EXPECT_NE(refused.error().detail.find("needs at least 5"), std::string::npos)
      << refused.error().detail;
}

TEST_F(VaPrimaryTest, SigtermUnderLoadLeavesExactlyOneRecordPerAnswer) {
  auto p = StartPrimary(Pool({"fra", "syd", "sao"}), PrimaryOptions().Date("2026-03-15"));
  ASSERT_TRUE(p);
  v1::ValidateRequest request = Dns01("load");
  std::mutex mutex;
  std::vector<std::string> answered;  // request ids of successful replies
  std::atomic<bool> terminated{false};
  std::atomic<int> failures_after_term{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      auto stub = v1::Primary::NewStub(Channel(p->address, ca_client_cert_));
      const auto end = std::chrono::steady_clock::now() + 15s;
      while (std::chrono::steady_clock::now() < end) {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + 15s);
        v1::ValidateResponse r;
        grpc::Status s = stub->Validate(&context, request, &r);
        if (s.ok()) {
          EXPECT_EQ(r.decision(), v1::CORROBORATED);
          std::lock_guard<std::mutex> lock(mutex);
          answered.push_back(r.request_id());
        } else if (terminated.load()) {
          ++failures_after_term;
          return;  // the primary stopped accepting
        } else {
          ADD_FAILURE() << "before SIGTERM: " << s.error_code() << " " << s.error_message();
          return;
        }
      }
    });
  }
  // Let the load run, then stop the primary while calls are in flight.
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (answered.size() >= 20) break;
    }
    std::this_thread::sleep_for(20ms);
  }
  terminated = true;
  p->child->Signal(SIGTERM);
  for (auto& c : clients) c.join();
  EXPECT_EQ(p->child->Wait(20s), 0) << p->child->Log();

  std::vector<json> lines = AuditLines(p->audit_log);
  std::multiset<std::string> recorded;
  for (const json& line : lines) {
    ASSERT_FALSE(line.is_discarded());
    recorded.insert(line.value("request_id", ""));
  }
  std::multiset<std::string> replied(answered.begin(), answered.end());
  EXPECT_GT(replied.size(), 0u);
  EXPECT_EQ(recorded, replied) << lines.size() << " records, " << answered.size() << " answers";
}

}  // namespace
}  // namespace mpic::testing
