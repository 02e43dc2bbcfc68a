#include "lab/local_fleet.h"

#include <google/protobuf/util/json_util.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "checks/key_authorization.h"
#include "lab/http_post.h"
#include "lab/pki.h"
#include "mpic/v1/config.pb.h"

namespace mpic::lab {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

v1::PerspectiveIdentity Identity(const char* name, v1::Rir rir, double lat, double lon,
                                 const char* region) {
  v1::PerspectiveIdentity id;
  id.set_name(name);
  id.set_rir(rir);
  id.mutable_location()->set_latitude(lat);
  id.mutable_location()->set_longitude(lon);
  id.set_region(region);
  return id;
}

// The first five span all five RIRs, so any fleet of five or more meets BR §3.2.2.9's
// two-RIR rule whatever the cohort; all are > 500 km apart from each other and the primary.
const std::vector<v1::PerspectiveIdentity>& Pool() {
  static const auto* pool = new std::vector<v1::PerspectiveIdentity>{
      Identity("eu-fra-1", v1::RIPE_NCC, 50.1109, 8.6821, "Frankfurt, DE"),
      Identity("us-west-pdx-1", v1::ARIN, 45.5152, -122.6784, "Portland, Oregon, US"),
      Identity("ap-sin-1", v1::APNIC, 1.3521, 103.8198, "Singapore, SG"),
      Identity("sa-gru-1", v1::LACNIC, -23.5505, -46.6333, "São Paulo, BR"),
      Identity("af-jnb-1", v1::AFRINIC, -26.2041, 28.0473, "Johannesburg, ZA"),
      Identity("ap-nrt-1", v1::APNIC, 35.6762, 139.6503, "Tokyo, JP"),
      Identity("eu-dub-1", v1::RIPE_NCC, 53.3498, -6.2603, "Dublin, IE"),
      Identity("ap-syd-1", v1::APNIC, -33.8688, 151.2093, "Sydney, AU"),
      Identity("ap-bom-1", v1::APNIC, 19.0760, 72.8777, "Mumbai, IN"),
      Identity("eu-arn-1", v1::RIPE_NCC, 59.3293, 18.0686, "Stockholm, SE"),
      Identity("sa-scl-1", v1::LACNIC, -33.4489, -70.6693, "Santiago, CL"),
      Identity("af-nbo-1", v1::AFRINIC, -1.2921, 36.8219, "Nairobi, KE"),
  };
  return *pool;
}

std::string RandomHex(size_t bytes) {
  std::vector<uint8_t> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    // Never expected; a fixed secret only weakens a lab's perspective selection.
    return std::string(bytes * 2, '0');
  }
  return checks::Hex(buf);
}

Result<std::string> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  auto st = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!st.ok()) return Fail(ProblemType::kServerInternal, "cannot encode a config as JSON");
  return json;
}

Status MakeDirs(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Fail(ProblemType::kServerInternal, "cannot create " + dir + ": " + ec.message());
  return {};
}

std::string HostPort(const std::string& host, uint16_t port) {
  return host + ":" + std::to_string(port);
}

// Sleeps `d` in small steps; false when interrupted.
bool SleepUnlessInterrupted(std::chrono::milliseconds d, const std::function<bool()>& interrupted) {
  auto until = Clock::now() + d;
  while (Clock::now() < until) {
    if (interrupted()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return !interrupted();
}

v1::ResolverSettings LabResolver(const DnsLab& lab, const std::string& stub_server) {
  v1::ResolverSettings r;
  if (!stub_server.empty()) {
    r.mutable_stub()->set_server(lab.server(stub_server));
    r.mutable_stub()->set_require_ad(false);
    return r;
  }
  r.mutable_unbound()->set_root_hints_file(lab.root_hints_file());
  r.mutable_unbound()->set_trust_anchor_file(lab.trust_anchor_file());
  return r;
}

}  // namespace

v1::PerspectiveIdentity PrimaryIdentity() {
  return Identity("us-east-iad-1", v1::ARIN, 39.0438, -77.4874, "Ashburn, Virginia, US");
}

const std::vector<v1::PerspectiveIdentity>& RemoteIdentities() { return Pool(); }

Result<std::unique_ptr<LocalFleet>> LocalFleet::Start(const Options& options,
                                                      std::ostream& progress,
                                                      const std::function<bool()>& interrupted) {
  if (options.remotes < 1 || options.remotes > static_cast<int>(Pool().size())) {
    return Fail(ProblemType::kMalformed,
                "--remotes must be in 1.." + std::to_string(Pool().size()));
  }
  if (options.dir.empty()) return Fail(ProblemType::kMalformed, "no fleet directory");
  for (const char* binary : {"va-primary", "va-remote"}) {
    std::string path = options.bin_dir + "/" + binary;
    if (access(path.c_str(), X_OK) != 0) {
      return Fail(
          ProblemType::kServerInternal,
          path + " not found: build it next to mpic (cmake --build BUILD --target " + binary + ")");
    }
  }

  std::unique_ptr<LocalFleet> fleet(new LocalFleet());
  fleet->options_ = options;
  fleet->pki_dir_ = options.dir + "/pki";
  fleet->config_dir_ = options.dir + "/config";
  fleet->logs_dir_ = options.dir + "/logs";
  fleet->run_dir_ = options.dir + "/run";
  fleet->audit_log_ = options.dir + "/audit.jsonl";
  for (const auto* dir :
       {&fleet->pki_dir_, &fleet->config_dir_, &fleet->logs_dir_, &fleet->run_dir_}) {
    if (auto st = MakeDirs(*dir); !st) return Fail(st.error());
  }

  // From here on, failing returns destroy `fleet`, which stops whatever was started.
  if (options.root_hints_file.empty()) {
    auto lab = DnsLab::Start();
    if (!lab) return Fail(ProblemType::kServerInternal, "DNS lab: " + lab.error());
    fleet->lab_ = std::move(*lab);
    progress << "DNS lab: " << fleet->lab_->block() << ".0/24, root "
             << fleet->lab_->server("root") << " (real NSD, DNSSEC-signed: . lab. secure.lab. ...)\n";
    if (interrupted()) return Fail(ProblemType::kServerInternal, "interrupted");
    if (auto st = fleet->StartResponder(progress, interrupted); !st) return Fail(st.error());
  } else {
    // The user's own DNS and web servers: nothing of the lab is started.
    if (options.trust_anchor_file.empty() || options.allow_cidrs.empty()) {
      return Fail(ProblemType::kMalformed,
                  "own DNS: a trust anchor and at least one allowed range are required");
    }
    progress << "DNS: your root (" << options.root_hints_file << ", trust anchor "
             << options.trust_anchor_file << "); allowed ranges";
    for (const std::string& cidr : options.allow_cidrs) progress << " " << cidr;
    progress << "; HTTP-01 port " << options.http_port << ", TLS-ALPN-01 port "
             << options.tls_port << "\n";
  }
  if (auto st = fleet->WritePki(); !st) return Fail(st.error());
  progress << "PKI: fleet CA and " << options.remotes + 2 << " certificates (EC P-256) in "
           << fleet->pki_dir_ << "\n";
  if (auto st = fleet->StartRemotes(progress, interrupted); !st) return Fail(st.error());
  if (auto st = fleet->StartPrimary(progress, interrupted); !st) return Fail(st.error());
  return fleet;
}

LocalFleet::~LocalFleet() { Stop(); }

v1::ResolverSettings LocalFleet::ResolverConfig() const {
  if (lab_) return LabResolver(*lab_, options_.stub_lab_server);
  v1::ResolverSettings r;
  r.mutable_unbound()->set_root_hints_file(options_.root_hints_file);
  r.mutable_unbound()->set_trust_anchor_file(options_.trust_anchor_file);
  return r;
}

v1::LabSettings LocalFleet::LabConfig() const {
  v1::LabSettings lab;
  if (lab_) {
    lab.add_allow_cidrs(lab_->block() + ".0/24");
  } else {
    for (const std::string& cidr : options_.allow_cidrs) lab.add_allow_cidrs(cidr);
    lab.set_allow_private_ranges(options_.allow_private_ranges);
  }
  lab.set_http_port(options_.http_port);
  lab.set_tls_port(options_.tls_port);
  return lab;
}

Status LocalFleet::StartResponder(std::ostream& progress,
                                  const std::function<bool()>& interrupted) {
  if (lab_->free_address_count() < 3) {
    return Fail(ProblemType::kServerInternal, "the lab has too few free addresses");
  }
  responder_.http_address = lab_->free_address(0);
  responder_.tls_address = lab_->free_address(1);
  responder_.management_address = lab_->free_address(2);
  const std::string http = HostPort(responder_.http_address, options_.http_port);
  const std::string tls = HostPort(responder_.tls_address, options_.tls_port);
  const std::string management = HostPort(responder_.management_address, options_.management_port);
  if (!options_.start_responder) return {};
  // Only lab addresses; its DNS and HTTPS-01 listeners are off.
  auto child = ChildProcess::Start({options_.responder, "-http01", http, "-tlsalpn01", tls,
                                    "-management", management, "-dns01", "", "-https01", ""},
                                   logs_dir_ + "/pebble-challtestsrv.log");
  if (!child) return Fail(child.error());
  responder_.process.emplace(std::move(*child));
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  for (;;) {
    if (!responder_.process->Running()) {
      return Fail(ProblemType::kServerInternal, "pebble-challtestsrv " +
                                                    responder_.process->how_it_ended() + ":\n" +
                                                    TailOfFile(responder_.process->log_file()));
    }
    if (TcpReachable(responder_.management_address, options_.management_port) &&
        TcpReachable(responder_.http_address, options_.http_port) &&
        TcpReachable(responder_.tls_address, options_.tls_port)) {
      break;
    }
    if (Clock::now() > deadline) {
      return Fail(ProblemType::kServerInternal, "pebble-challtestsrv not listening in 15 s");
    }
    if (!SleepUnlessInterrupted(std::chrono::milliseconds(50), interrupted)) {
      return Fail(ProblemType::kServerInternal, "interrupted");
    }
  }
  progress << "challenge responder (pebble-challtestsrv): http-01 " << http << ", tls-alpn-01 "
           << tls << ", management " << management << "\n";
  return {};
}

Status LocalFleet::WritePki() {
  auto pki = Pki::Create(pki_dir_, "mpic local fleet CA");
  if (!pki) return Fail(pki.error());
  // Each process gets a certificate for its perspective name and 127.0.0.1 (where it listens).
  auto issue = [&](const std::string& name, bool server, bool client) -> Status {
    LeafSpec spec;
    spec.common_name = name;
    spec.dns_names = {name, "localhost"};
    spec.ip_addresses = {"127.0.0.1"};
    spec.server = server;
    spec.client = client;
    auto leaf = pki->Issue(spec);
    if (!leaf) return Fail(leaf.error());
    return {};
  };
  // The primary serves the CA and is a client of the remotes.
  if (auto st = issue(PrimaryIdentity().name(), true, true); !st) return st;
  for (int i = 0; i < options_.remotes; ++i) {
    if (auto st = issue(Pool()[static_cast<size_t>(i)].name(), true, false); !st) return st;
  }
  // The CA side: what `mpic validate` presents to the primary.
  if (auto st = issue("mpic-ca-client", false, true); !st) return st;
  client_tls_.ca_file = pki->ca_cert;
  client_tls_.cert_file = pki_dir_ + "/mpic-ca-client.pem";
  client_tls_.key_file = pki_dir_ + "/mpic-ca-client.key";
  return {};
}

Status LocalFleet::StartRemotes(std::ostream& progress, const std::function<bool()>& interrupted) {
  remotes_.resize(static_cast<size_t>(options_.remotes));
  std::vector<Member*> waiting;
  for (size_t i = 0; i < remotes_.size(); ++i) {
    Member& m = remotes_[i];
    m.identity = Pool()[i];
    const std::string& name = m.identity.name();
    m.config_file = config_dir_ + "/" + name + ".json";
    m.ready_file = run_dir_ + "/" + name + ".ready";
    v1::RemoteConfig config;
    *config.mutable_identity() = m.identity;
    config.set_listen("127.0.0.1:0");
    config.set_ready_file(m.ready_file);
    config.set_metrics_listen("127.0.0.1:0");
    config.mutable_tls()->set_ca_file(pki_dir_ + "/ca.pem");
    config.mutable_tls()->set_cert_file(pki_dir_ + "/" + name + ".pem");
    config.mutable_tls()->set_key_file(pki_dir_ + "/" + name + ".key");
    *config.mutable_resolver() = ResolverConfig();
    *config.mutable_lab() = LabConfig();
    config.set_max_check_ms(10000);
    config.set_max_concurrent(options_.max_concurrent);
    // Only the primary may call Check (its certificate names it), not the CA client.
    config.add_authorized_primaries(PrimaryIdentity().name());
    auto json = ToJson(config);
    if (!json) return Fail(json.error());
    if (auto st = WriteFile(m.config_file, *json, 0644); !st) return st;
    std::error_code ec;
    fs::remove(m.ready_file, ec);
    auto child = ChildProcess::Start({options_.bin_dir + "/va-remote", "--config", m.config_file},
                                     logs_dir_ + "/" + name + ".log");
    if (!child) return Fail(child.error());
    m.process.emplace(std::move(*child));
    waiting.push_back(&m);
  }
  if (auto st = AwaitReady(waiting, interrupted); !st) return st;
  progress << "remote perspectives: " << remotes_.size() << " va-remote processes ready\n";
  return {};
}

Status LocalFleet::StartPrimary(std::ostream& progress, const std::function<bool()>& interrupted) {
  primary_.identity = PrimaryIdentity();
  const std::string& name = primary_.identity.name();
  primary_.config_file = config_dir_ + "/va-primary.json";
  primary_.ready_file = run_dir_ + "/va-primary.ready";
  v1::PrimaryConfig config;
  *config.mutable_identity() = primary_.identity;
  config.set_listen("127.0.0.1:0");
  config.set_ready_file(primary_.ready_file);
  config.set_metrics_listen("127.0.0.1:0");
  for (auto* tls : {config.mutable_server_tls(), config.mutable_client_tls()}) {
    tls->set_ca_file(pki_dir_ + "/ca.pem");
    tls->set_cert_file(pki_dir_ + "/" + name + ".pem");
    tls->set_key_file(pki_dir_ + "/" + name + ".key");
  }
  for (const Member& remote : remotes_) {
    v1::RemoteEndpoint* endpoint = config.add_remotes();
    *endpoint->mutable_identity() = remote.identity;
    endpoint->set_address(remote.address);
    endpoint->set_tls_server_name(remote.identity.name());
  }
  *config.mutable_resolver() = ResolverConfig();
  *config.mutable_lab() = LabConfig();
  // BR §3.2.2.9 as in force today; every remote takes part in every validation.
  config.mutable_policy()->set_effective_date(options_.effective_date);
  config.set_remotes_per_validation(static_cast<uint32_t>(
      options_.remotes_per_validation > 0 ? options_.remotes_per_validation : remotes_.size()));
  config.set_selection_secret(RandomHex(32));
  config.set_remote_timeout_ms(10000);
  config.set_straggler_grace_ms(options_.straggler_grace_ms);
  config.set_audit_log(audit_log_);
  config.set_max_check_ms(10000);
  // Only the CA side's certificate may call Validate.
  config.add_authorized_clients("mpic-ca-client");
  if (options_.openmpic) {
    v1::OpenMpicSettings* openmpic = config.mutable_openmpic();
    openmpic->set_listen("127.0.0.1:0");
    openmpic->set_plaintext_lab_only(options_.openmpic_plaintext);
    openmpic->set_max_attempts(options_.openmpic_max_attempts);
    openmpic->set_allow_monitoring(options_.openmpic_allow_monitoring);
    openmpic->set_api_keys_file(options_.openmpic_api_keys_file);
  }
  auto json = ToJson(config);
  if (!json) return Fail(json.error());
  if (auto st = WriteFile(primary_.config_file, *json, 0644); !st) return st;
  std::error_code ec;
  fs::remove(primary_.ready_file, ec);
  auto child =
      ChildProcess::Start({options_.bin_dir + "/va-primary", "--config", primary_.config_file},
                          logs_dir_ + "/va-primary.log");
  if (!child) return Fail(child.error());
  primary_.process.emplace(std::move(*child));
  if (auto st = AwaitReady({&primary_}, interrupted); !st) return st;
  progress << "primary: va-primary ready on " << primary_.address << " (audit log " << audit_log_
           << ")\n";
  if (options_.openmpic) {
    if (primary_.openmpic.empty()) {
      return Fail(ProblemType::kServerInternal,
                  "va-primary did not report its Open MPIC address (log " + logs_dir_ +
                      "/va-primary.log)");
    }
    progress << "primary: Open MPIC API on " << OpenMpicUrl() << "/mpic\n";
  }
  return {};
}

std::string LocalFleet::OpenMpicUrl() const {
  if (primary_.openmpic.empty()) return "";
  return (options_.openmpic_plaintext ? "http://" : "https://") + primary_.openmpic;
}

std::string LocalFleet::OpenMpicCurl(const std::string& body) const {
  std::string tls;
  if (!options_.openmpic_plaintext) {
    tls = "--cacert " + client_tls_.ca_file + " --cert " + client_tls_.cert_file + " --key " +
          client_tls_.key_file + " ";
  }
  return "curl -sS " + tls + "-H 'Content-Type: application/json' -d '" + body + "' " +
         OpenMpicUrl() + "/mpic";
}

Status LocalFleet::AwaitReady(std::vector<Member*> members,
                              const std::function<bool()>& interrupted) {
  const auto deadline = Clock::now() + options_.ready_timeout;
  std::vector<Member*> pending = std::move(members);
  while (!pending.empty()) {
    std::vector<Member*> still;
    for (Member* m : pending) {
      if (!m->process->Running()) {
        return Fail(ProblemType::kServerInternal,
                    m->identity.name() + " " + m->process->how_it_ended() +
                        " before it was ready; its log (" + m->process->log_file() + "):\n" +
                        TailOfFile(m->process->log_file()));
      }
      std::ifstream in(m->ready_file);
      std::stringstream body;
      body << in.rdbuf();
      // The writer may be mid-write: unparsable or incomplete means "not yet".
      auto ready = nlohmann::json::parse(body.str(), nullptr, /*allow_exceptions=*/false);
      if (ready.is_object() && ready.contains("address") && ready["address"].is_string() &&
          !ready["address"].get<std::string>().empty()) {
        m->address = ready["address"].get<std::string>();
        if (ready.contains("metrics") && ready["metrics"].is_string()) {
          m->metrics = ready["metrics"].get<std::string>();
        }
        if (ready.contains("openmpic") && ready["openmpic"].is_string()) {
          m->openmpic = ready["openmpic"].get<std::string>();
        }
      } else {
        still.push_back(m);
      }
    }
    pending = std::move(still);
    if (pending.empty()) break;
    if (Clock::now() > deadline) {
      std::string names;
      for (Member* m : pending) names += (names.empty() ? "" : ", ") + m->identity.name();
      return Fail(ProblemType::kServerInternal,
                  "not ready in " + std::to_string(options_.ready_timeout.count()) +
                      " ms: " + names + " (logs in " + logs_dir_ + ")");
    }
    if (!SleepUnlessInterrupted(std::chrono::milliseconds(50), interrupted)) {
      return Fail(ProblemType::kServerInternal, "interrupted");
    }
  }
  return {};
}

Status LocalFleet::AddHttp01(const std::string& token, const std::string& content) {
  nlohmann::json body = {{"token", token}, {"content", content}};
  auto reply = HttpPost(responder_.management_address, options_.management_port, "/add-http01",
                        body.dump(), std::chrono::seconds(5));
  if (!reply) return Fail(reply.error());
  if (reply->status != 200) {
    return Fail(ProblemType::kServerInternal,
                "add-http01: HTTP " + std::to_string(reply->status) + " " + reply->body);
  }
  return {};
}

Status LocalFleet::AddTlsAlpn01(const std::string& host, const std::string& key_authorization) {
  nlohmann::json body = {{"host", host}, {"content", key_authorization}};
  auto reply = HttpPost(responder_.management_address, options_.management_port, "/add-tlsalpn01",
                        body.dump(), std::chrono::seconds(5));
  if (!reply) return Fail(reply.error());
  if (reply->status != 200) {
    return Fail(ProblemType::kServerInternal,
                "add-tlsalpn01: HTTP " + std::to_string(reply->status) + " " + reply->body);
  }
  return {};
}

std::string LocalFleet::DeadMembers() {
  std::string out;
  auto check = [&](const std::string& name, std::optional<ChildProcess>& p) {
    if (!p || p->Running()) return;
    out += "  " + name + " " + p->how_it_ended() + "; end of " + p->log_file() + ":\n" +
           TailOfFile(p->log_file(), 8);
  };
  check("va-primary", primary_.process);
  for (Member& m : remotes_) check(m.identity.name(), m.process);
  check("pebble-challtestsrv", responder_.process);
  return out;
}

void LocalFleet::Stop(std::ostream* progress) {
  bool any = lab_ != nullptr || responder_.process || primary_.process;
  const bool had_lab = lab_ != nullptr;
  // The primary first (no new fan-out), then all remotes at once, then what they depend on.
  if (primary_.process) {
    primary_.process->Stop();
    primary_.process.reset();
  }
  for (Member& m : remotes_) {
    if (m.process) m.process->Terminate();
  }
  for (Member& m : remotes_) {
    if (m.process) {
      m.process->Stop();
      m.process.reset();
    }
  }
  if (responder_.process) {
    responder_.process->Stop();
    responder_.process.reset();
  }
  lab_.reset();  // bounded: "stop", then SIGKILL after ~10 s
  if (any && progress != nullptr) {
    *progress << "stopped: va-primary, " << remotes_.size() << " va-remote"
              << (had_lab ? ", pebble-challtestsrv, DNS lab\n" : "\n");
  }
}

}  // namespace mpic::lab
