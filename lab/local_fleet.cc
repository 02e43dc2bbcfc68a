#include "lab/local_fleet.h"

#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

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

Status MakeDirs(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Fail(ProblemType::kServerInternal, "cannot create " + dir + ": " + ec.message());
  return {};
}

std::string HostPort(const std::string& host, uint16_t port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
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
    for (const std::string& cidr : options_.lab_extra_cidrs) lab.add_allow_cidrs(cidr);
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
  std::string http = HostPort(responder_.http_address, options_.http_port);
  std::string tls = HostPort(responder_.tls_address, options_.tls_port);
  for (const std::string& extra : options_.responder_extra_addresses) {
    http += "," + HostPort(extra, options_.http_port);
    tls += "," + HostPort(extra, options_.tls_port);
  }
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

MemberSpec LocalFleet::MemberFor(const v1::PerspectiveIdentity& identity) const {
  MemberSpec m;
  m.identity = identity;
  m.listen = "127.0.0.1:0";
  m.metrics_listen = "127.0.0.1:0";
  m.pki_dir = pki_dir_;
  m.resolver = ResolverConfig();
  m.lab = LabConfig();
  m.max_check_ms = 10000;
  return m;
}

Status LocalFleet::StartRemotes(std::ostream& progress, const std::function<bool()>& interrupted) {
  const FleetDirs dirs{config_dir_, run_dir_, logs_dir_};
  std::vector<Member*> waiting;
  remotes_.reserve(static_cast<size_t>(options_.remotes));
  for (size_t i = 0; i < static_cast<size_t>(options_.remotes); ++i) {
    RemoteSpec spec;
    spec.member = MemberFor(Pool()[i]);
    spec.max_concurrent = options_.max_concurrent;
    // Only the primary may call Check (its certificate names it), not the CA client.
    spec.authorized_primaries = {PrimaryIdentity().name()};
    auto member = LaunchRemote(spec, options_.bin_dir, dirs);
    if (!member) return Fail(member.error());
    remotes_.push_back(std::move(*member));
  }
  for (Member& m : remotes_) waiting.push_back(&m);
  if (auto st = AwaitReady(waiting, options_.ready_timeout, interrupted); !st) return st;
  progress << "remote perspectives: " << remotes_.size() << " va-remote processes ready\n";
  return {};
}

Status LocalFleet::StartPrimary(std::ostream& progress, const std::function<bool()>& interrupted) {
  PrimarySpec spec;
  spec.member = MemberFor(PrimaryIdentity());
  spec.member.file_name = "va-primary";
  for (const Member& remote : remotes_) {
    v1::RemoteEndpoint endpoint;
    *endpoint.mutable_identity() = remote.identity;
    endpoint.set_address(remote.address);
    endpoint.set_tls_server_name(remote.identity.name());
    spec.remotes.push_back(std::move(endpoint));
  }
  // BR §3.2.2.9 as in force on effective_date; by default every remote takes part in every
  // validation.
  spec.policy.set_effective_date(options_.effective_date);
  spec.remotes_per_validation = static_cast<uint32_t>(
      options_.remotes_per_validation > 0 ? options_.remotes_per_validation : remotes_.size());
  spec.remote_timeout_ms = 10000;
  spec.straggler_grace_ms = options_.straggler_grace_ms;
  spec.audit_log = audit_log_;
  // Only the CA side's certificate may call Validate.
  spec.authorized_clients = {"mpic-ca-client"};
  if (options_.openmpic) {
    v1::OpenMpicSettings openmpic;
    openmpic.set_listen("127.0.0.1:0");
    openmpic.set_plaintext_lab_only(options_.openmpic_plaintext);
    openmpic.set_max_attempts(options_.openmpic_max_attempts);
    openmpic.set_allow_monitoring(options_.openmpic_allow_monitoring);
    openmpic.set_api_keys_file(options_.openmpic_api_keys_file);
    spec.openmpic = std::move(openmpic);
  }
  auto member = LaunchPrimary(spec, options_.bin_dir, FleetDirs{config_dir_, run_dir_, logs_dir_});
  if (!member) return Fail(member.error());
  primary_ = std::move(*member);
  if (auto st = AwaitReady({&primary_}, options_.ready_timeout, interrupted); !st) return st;
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

namespace {

void DescribeIfDead(const std::string& name, std::optional<ChildProcess>& p, std::string* out) {
  if (!p || p->Running()) return;
  *out += "  " + name + " " + p->how_it_ended() + "; end of " + p->log_file() + ":\n" +
          TailOfFile(p->log_file(), 8);
}

}  // namespace

std::string LocalFleet::DeadMembers() {
  std::string out;
  DescribeIfDead("va-primary", primary_.process, &out);
  for (Member& m : remotes_) DescribeIfDead(m.identity.name(), m.process, &out);
  DescribeIfDead("pebble-challtestsrv", responder_.process, &out);
  return out;
}

std::string LocalFleet::DeadCore() {
  std::string out;
  DescribeIfDead("va-primary", primary_.process, &out);
  DescribeIfDead("pebble-challtestsrv", responder_.process, &out);
  return out;
}

std::vector<bool> LocalFleet::RemotesRunning() {
  std::vector<bool> out;
  for (Member& m : remotes_) out.push_back(m.process && m.process->Running());
  return out;
}

void LocalFleet::Stop(std::ostream* progress) {
  bool any = lab_ != nullptr || responder_.process || primary_.process;
  const bool had_lab = lab_ != nullptr;
  // The primary first (no new fan-out), then all remotes at once, then what they depend on.
  StopMembers(&primary_, remotes_);
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
