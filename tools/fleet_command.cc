#include "tools/fleet_command.h"

#include <openssl/rand.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "checks/key_authorization.h"
#include "lab/data_dir.h"
#include "lab/flags.h"
#include "lab/local_fleet.h"
#include "lab/signal_scope.h"
#include "perspective/config.h"
#include "perspective/primary_config.h"
#include "perspective/wire.h"
#include "quorum/phase.h"
#include "quorum/policy.h"
#include "tools/fleet_watch.h"
#include "tools/validate_command.h"

namespace mpic::tools {

using lab::Flags;

namespace {

using nlohmann::ordered_json;
namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: mpic fleet up [--remotes N] [--dir DIR] [--keep-running] [--json]\n"
    "                     [--root-hints FILE --trust-anchor FILE --allow-cidr CIDR...\n"
    "                      [--allow-private-ranges] [--http-port N] [--tls-port N]]\n"
    "  Starts a complete fleet on loopback: the DNS lab, a challenge responder\n"
    "  (pebble-challtestsrv), a fresh PKI, va-primary and N va-remote processes (default 5,\n"
    "  at most 12). Without --keep-running: validates an HTTP-01, a DNS-01 and a TLS-ALPN-01\n"
    "  challenge (each must be CORROBORATED) and a DNS-01 with a wrong key authorization\n"
    "  (NOT_CORROBORATED), stops everything, and exits 0 iff every decision was as expected.\n"
    "  --keep-running: prints how to call `mpic validate` and runs until SIGINT/SIGTERM.\n"
    "  --dir: working directory (configs, PKI, logs, audit log), kept afterwards; default a\n"
    "  fresh /tmp/mpic-fleet.* removed on success. --json: one JSON object on stdout;\n"
    "  progress goes to stderr.\n"
    "  Your own DNS hierarchy and web servers instead of the lab (e.g. for a conformance\n"
    "  suite): --root-hints/--trust-anchor name the root every perspective resolves from\n"
    "  (DNSSEC-validating), --allow-cidr the ranges they may connect to (loopback and\n"
    "  documentation ranges; private ones only with --allow-private-ranges), --http-port/\n"
    "  --tls-port the HTTP-01/TLS-ALPN-01 ports (default 80/443). Then no DNS lab and no\n"
    "  responder are started, and --keep-running is required (the challenges are yours).\n";

// The CAA record at secure.lab.'s apex names this issuer (lab/README.md).
constexpr const char* kIssuer = "ca.example";
constexpr const char* kAccountUri = "https://ca.example/acme/acct/1";
constexpr std::chrono::seconds kValidateTimeout{30};

bool Interrupted() { return lab::CaughtSignal() != 0; }

std::string SelfPath() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "mpic" : self.string();
}

std::string RandomBase64Url(size_t bytes) {
  std::vector<uint8_t> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    for (size_t i = 0; i < bytes; ++i) buf[i] = static_cast<uint8_t>(i * 37 + 11);
  }
  return checks::Base64UrlNoPad(buf);
}

// token "." thumbprint (RFC 8555 §8.1): a 128+ bit token and a SHA-256-sized thumbprint.
std::string NewKeyAuthorization(const std::string& token) {
  return token + "." + RandomBase64Url(32);
}

// Display width of UTF-8 text (for "São Paulo" in aligned columns).
size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Pad(const std::string& s, size_t width) {
  size_t w = Width(s);
  return w >= width ? s + " " : s + std::string(width - w, ' ');
}

struct Challenge {
  std::string method;  // "http-01", ...
  std::string identifier;
  std::string token;
  std::string key_authorization;
};

struct Scenario {
  std::string title;
  v1::ValidateRequest request;
  v1::Decision expected;
  std::string note;  // printed after the decision
};

// Lab DNS and responder content for the three methods; returns what was set up.
Result<std::vector<Challenge>> SetUpChallenges(lab::LocalFleet& fleet) {
  lab::DnsLab& lab = fleet.lab();
  std::vector<Challenge> challenges = {
      {"http-01", "http.secure.lab", RandomBase64Url(24), ""},
      {"dns-01", "dns.secure.lab", RandomBase64Url(24), ""},
      {"tls-alpn-01", "tls.secure.lab", RandomBase64Url(24), ""},
  };
  for (auto& c : challenges) c.key_authorization = NewKeyAuthorization(c.token);
  auto set = [&](const std::string& name, const std::string& type,
                 const std::string& rdata) -> Status {
    auto r = lab.Set("secure.lab.", name, type, {rdata});
    if (!r) {
      return Fail(ProblemType::kServerInternal, "lab: set " + name + " " + type + ": " + r.error());
    }
    return {};
  };
  if (auto st = set("http.secure.lab.", "A", fleet.responder().http_address); !st) {
    return Fail(st.error());
  }
  if (auto st = set("tls.secure.lab.", "A", fleet.responder().tls_address); !st) {
    return Fail(st.error());
  }
  // RFC 8555 §8.4: base64url(SHA-256(key authorization)) at _acme-challenge.<name>.
  if (auto st = set("_acme-challenge.dns.secure.lab.", "TXT",
                    "\"" + checks::Dns01TxtValue(challenges[1].key_authorization) + "\"");
      !st) {
    return Fail(st.error());
  }
  if (auto st = fleet.AddHttp01(challenges[0].token, challenges[0].key_authorization); !st) {
    return Fail(st.error());
  }
  if (auto st = fleet.AddTlsAlpn01(challenges[2].identifier, challenges[2].key_authorization);
      !st) {
    return Fail(st.error());
  }
  return challenges;
}

v1::ValidateRequest MakeRequest(const Challenge& c, const std::string& key_authorization) {
  v1::ValidateRequest r;
  r.set_identifier(c.identifier);
  r.set_method(*ParseDcvMethod(c.method));
  r.set_token(c.token);
  r.set_key_authorization(key_authorization);
  r.add_caa_issuer_domains(kIssuer);
  r.set_account_uri(kAccountUri);
  return r;
}

std::vector<Scenario> MakeScenarios(const std::vector<Challenge>& challenges) {
  std::vector<Scenario> scenarios;
  for (const Challenge& c : challenges) {
    scenarios.push_back({c.method + " for " + c.identifier, MakeRequest(c, c.key_authorization),
                         v1::CORROBORATED, ""});
  }
  scenarios[2].note =
      "   (pebble-challtestsrv signs a fresh certificate per handshake: every perspective sees "
      "another fingerprint, and the divergence is recorded)";
  // Same name, another account's key authorization: the TXT record does not match anywhere.
  const Challenge& dns = challenges[1];
  scenarios.push_back({"dns-01 for " + dns.identifier + " with a WRONG key authorization",
                       MakeRequest(dns, NewKeyAuthorization(dns.token)), v1::NOT_CORROBORATED, ""});
  return scenarios;
}

std::string FleetCommandLine(const lab::LocalFleet& fleet) {
  const ClientTlsFiles& tls = fleet.client_tls();
  return SelfPath() + " validate --primary " + fleet.primary().address + " \\\n      --ca-cert " +
         tls.ca_file + " --cert " + tls.cert_file + " --key " + tls.key_file;
}

ordered_json MemberJson(const lab::LocalFleet::Member& m, bool primary) {
  ordered_json j;
  j["name"] = m.identity.name();
  j["role"] = primary ? "primary" : "remote";
  j["rir"] = std::string(perspective::RirDisplayName(m.identity.rir()));
  j["region"] = m.identity.region();
  j["latitude"] = m.identity.location().latitude();
  j["longitude"] = m.identity.location().longitude();
  j["address"] = m.address;
  j["metrics"] = m.metrics;
  j["config"] = m.config_file;
  return j;
}

ordered_json FleetJson(const lab::LocalFleet& fleet, const std::string& dir) {
  ordered_json j;
  j["dir"] = dir;
  const auto& o = fleet.options();
  if (fleet.has_lab()) {
    const lab::DnsLab& lab = fleet.lab();
    j["lab"] = {{"block", lab.block() + ".0/24"},
                {"root", lab.server("root")},
                {"root_hints", lab.root_hints_file()},
                {"trust_anchor", lab.trust_anchor_file()}};
    const auto& r = fleet.responder();
    j["responder"] = {
        {"http01", r.http_address + ":" + std::to_string(o.http_port)},
        {"tlsalpn01", r.tls_address + ":" + std::to_string(o.tls_port)},
        {"management", r.management_address + ":" + std::to_string(o.management_port)}};
  } else {
    // The user's own DNS hierarchy and web servers.
    j["dns"] = {{"root_hints", o.root_hints_file},
                {"trust_anchor", o.trust_anchor_file},
                {"allow_cidrs", o.allow_cidrs},
                {"http_port", o.http_port},
                {"tls_port", o.tls_port}};
  }
  j["pki"] = {{"ca", fleet.client_tls().ca_file},
              {"client_cert", fleet.client_tls().cert_file},
              {"client_key", fleet.client_tls().key_file}};
  j["primary"] = MemberJson(fleet.primary(), true);
  ordered_json remotes = ordered_json::array();
  for (const auto& m : fleet.remotes()) remotes.push_back(MemberJson(m, false));
  j["remotes"] = std::move(remotes);
  j["openmpic"] = fleet.OpenMpicUrl().empty() ? "" : fleet.OpenMpicUrl() + "/mpic";
  j["audit_log"] = fleet.audit_log();
  j["logs"] = fleet.logs_dir();
  return j;
}

void PrintPerspectives(const lab::LocalFleet& fleet, std::ostream& out) {
  out << "\nperspectives:\n";
  out << "  " << Pad("NAME", 15) << Pad("ROLE", 8) << Pad("RIR", 10) << Pad("REGION", 23)
      << Pad("LAT,LON", 18) << "GRPC\n";
  auto row = [&](const lab::LocalFleet::Member& m, const char* role) {
    char where[48];
    std::snprintf(where, sizeof where, "%.2f,%.2f", m.identity.location().latitude(),
                  m.identity.location().longitude());
    out << "  " << Pad(m.identity.name(), 15) << Pad(role, 8)
        << Pad(std::string(perspective::RirDisplayName(m.identity.rir())), 10)
        << Pad(m.identity.region(), 23) << Pad(where, 18) << m.address << "\n";
  };
  row(fleet.primary(), "primary");
  for (const auto& m : fleet.remotes()) row(m, "remote");
  out << "  policy: BR 3.2.2.9 in force today (effective_date \"today\"), every remote in every "
         "validation\n";
}

// Notices remotes that ended since the last Poll and says what it means for the quorum.
class RemoteWatch {
 public:
  explicit RemoteWatch(lab::LocalFleet& fleet) : fleet_(fleet) {
    const auto& o = fleet.options();
    auto date = o.effective_date == "today" ? Result<quorum::Date>(perspective::UtcToday())
                                            : quorum::ParseDate(o.effective_date);
    auto policy = date ? quorum::Policy::BaselineRequirements(*date)
                       : Result<quorum::Policy>(quorum::Policy());
    policy_ = policy ? *policy : quorum::Policy();
    for (const auto& m : fleet.remotes()) {
      auto p = perspective::PerspectiveFromProto(m.identity);
      pool_.push_back(p ? *p : quorum::Perspective{m.identity.name(), quorum::Rir::kArin, {}});
    }
    cohort_ = o.remotes_per_validation > 0 ? o.remotes_per_validation
                                           : static_cast<int>(pool_.size());
    reported_.assign(pool_.size(), false);
  }

  std::vector<std::string> Poll() {
    std::vector<std::string> lines;
    const std::vector<bool> running = fleet_.RemotesRunning();
    for (std::size_t i = 0; i < running.size() && i < reported_.size(); ++i) {
      if (running[i] || reported_[i]) continue;
      reported_[i] = true;
      const auto& m = fleet_.remotes()[i];
      lines.push_back(DescribeRemoteLoss(m.identity.name(),
                                         m.process ? m.process->how_it_ended() : "",
                                         policy_, cohort_, pool_, running) +
                      " (log: " + (m.process ? m.process->log_file() : "") + ")");
    }
    return lines;
  }

 private:
  lab::LocalFleet& fleet_;
  quorum::Policy policy_;
  std::vector<quorum::Perspective> pool_;
  int cohort_ = 0;
  std::vector<bool> reported_;
};

int KeepRunning(lab::LocalFleet& fleet, const std::vector<Challenge>& challenges,
                const std::string& dir, bool json, std::ostream& out, std::ostream& err) {
  if (json) {
    ordered_json j = FleetJson(fleet, dir);
    ordered_json list = ordered_json::array();
    for (const auto& c : challenges) {
      list.push_back({{"method", c.method},
                      {"identifier", c.identifier},
                      {"token", c.token},
                      {"key_authorization", c.key_authorization}});
    }
    j["challenges"] = std::move(list);
    out << j.dump() << std::endl;
  } else {
    PrintPerspectives(fleet, out);
    out << "\nThe fleet is up; SIGINT (Ctrl-C) or SIGTERM stops it. Challenges ready to "
           "validate:\n";
    for (const auto& c : challenges) {
      out << "\n  " << FleetCommandLine(fleet) << " \\\n      --method " << c.method
          << " --identifier " << c.identifier << " --key-authorization " << c.key_authorization
          << " --caa-issuer " << kIssuer << "\n";
    }
    if (!fleet.has_lab()) {
      out << "\n  " << FleetCommandLine(fleet)
          << " \\\n      --method dns-01 --identifier NAME --key-authorization KA --caa-issuer "
          << kIssuer << "\n  (names resolve from your root " << fleet.options().root_hints_file
          << "; addresses allowed:";
      for (const std::string& cidr : fleet.options().allow_cidrs) out << " " << cidr;
      out << ")\n";
      if (!fleet.OpenMpicUrl().empty()) {
        out << "Open MPIC API (POST /mpic, mutual TLS with the CA-side certificate): "
            << fleet.OpenMpicUrl() << "/mpic\n";
      }
      out << "Metrics: primary http://" << fleet.primary().metrics << "/metrics\n"
          << "Logs: " << fleet.logs_dir() << "; audit log: " << fleet.audit_log() << "\n"
          << std::flush;
    }
    const auto& r = fleet.responder();
    if (fleet.has_lab() && !fleet.OpenMpicUrl().empty() && challenges.size() > 1) {
      // The same DNS-01 challenge through the Open MPIC REST API (docs/openmpic.md).
      const Challenge& dns = challenges[1];
      const std::string body =
          R"({"check_type":"dcv","domain_or_ip_target":")" + dns.identifier +
          R"(","dcv_check_parameters":{"validation_method":"acme-dns-01","key_authorization":")" +
          dns.key_authorization + R"("}})";
      out << "\nOpen MPIC API (POST /mpic, mutual TLS with the CA-side certificate): "
          << fleet.OpenMpicUrl() << "/mpic\n  " << fleet.OpenMpicCurl(body) << "\n  "
          << SelfPath() << " validate --api openmpic --openmpic-url " << fleet.OpenMpicUrl()
          << " \\\n      --ca-cert " << fleet.client_tls().ca_file << " --cert "
          << fleet.client_tls().cert_file << " --key " << fleet.client_tls().key_file
          << " \\\n      --method dns-01 --identifier " << dns.identifier
          << " --key-authorization " << dns.key_authorization << "\n";
    }
    if (fleet.has_lab()) {
    out << "\nMore HTTP-01 / TLS-ALPN-01 content (pebble-challtestsrv management API):\n"
        << "  curl -X POST -d '{\"token\":\"T\",\"content\":\"T.THUMBPRINT\"}' http://"
        << r.management_address << ":" << fleet.options().management_port << "/add-http01\n"
        << "  (names must resolve in the lab: http.secure.lab -> " << r.http_address
        << ", tls.secure.lab -> " << r.tls_address << ")\n"
        << "Metrics: primary http://" << fleet.primary().metrics << "/metrics\n"
        << "Logs: " << fleet.logs_dir() << "; audit log: " << fleet.audit_log() << "\n"
        << std::flush;
    }
  }
  // A remote that dies is reported once, with what it means for the quorum, and the fleet
  // keeps serving; without the primary or the responder it cannot, and stops.
  RemoteWatch watch(fleet);
  while (!Interrupted()) {
    std::string dead = fleet.DeadCore();
    if (!dead.empty()) {
      err << "mpic fleet: a fleet process ended:\n" << dead;
      fleet.Stop(&err);
      return 1;
    }
    for (const std::string& line : watch.Poll()) err << "mpic fleet: " << line << std::endl;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  err << "mpic fleet: signal " << lab::CaughtSignal() << ", stopping\n";
  fleet.Stop(&err);
  return 0;
}

int RunScenarios(lab::LocalFleet& fleet, const std::vector<Challenge>& challenges,
                 const std::string& dir, bool json, std::ostream& out, std::ostream& err) {
  std::ostream& log = json ? err : out;
  if (!json) PrintPerspectives(fleet, out);
  auto channel = DialPrimary(fleet.primary().address, fleet.client_tls());
  if (!channel) {
    err << "mpic fleet: " << channel.error().detail << "\n";
    return 1;
  }
  std::vector<Scenario> scenarios = MakeScenarios(challenges);
  ordered_json results = ordered_json::array();
  int matched = 0;
  for (size_t i = 0; i < scenarios.size(); ++i) {
    if (Interrupted()) break;
    const Scenario& s = scenarios[i];
    const std::string expected = v1::Decision_Name(s.expected);
    if (!json) {
      out << "\n== [" << i + 1 << "/" << scenarios.size() << "] " << s.title << ", expect "
          << expected << "\n";
    }
    ValidateCall call = CallValidate(**channel, s.request, kValidateTimeout);
    ordered_json r;
    r["title"] = s.title;
    r["method"] = DcvMethodName(s.request.method());
    r["identifier"] = s.request.identifier();
    r["expected"] = expected;
    bool ok = false;
    if (!call.status.ok()) {
      r["error"] = DescribeStatus(call.status);
      log << "  RPC failed: " << DescribeStatus(call.status) << "\n";
      if (std::string dead = fleet.DeadMembers(); !dead.empty()) log << dead;
    } else {
      const std::string got = v1::Decision_Name(call.response.decision());
      ok = call.response.decision() == s.expected;
      r["decision"] = got;
      r["response"] = ordered_json::parse(ResponseJson(call.response), nullptr, false);
      if (!json) {
        PrintDecision(call.response, out);
        char ms[32];
        std::snprintf(ms, sizeof ms, "%.1f", call.elapsed_ms);
        out << (ok ? "=> as expected" : "=> UNEXPECTED: got " + got + ", expected " + expected)
            << " (" << ms << " ms)\n";
        if (!s.note.empty()) out << s.note << "\n";
      }
    }
    r["ok"] = ok;
    matched += ok;
    results.push_back(std::move(r));
  }
  const bool all_ok = matched == static_cast<int>(scenarios.size());
  if (json) {
    ordered_json j;
    j["ok"] = all_ok;
    j["fleet"] = FleetJson(fleet, dir);
    j["validations"] = std::move(results);
    out << j.dump() << "\n";
  } else {
    out << "\n"
        << (all_ok ? "fleet: " : "fleet: FAILED: ") << matched << "/" << scenarios.size()
        << " decisions as expected\n";
  }
  fleet.Stop(&log);
  if (Interrupted()) {
    err << "mpic fleet: interrupted by signal " << lab::CaughtSignal() << "\n";
    return 1;
  }
  return all_ok ? 0 : 1;
}

}  // namespace

int RunFleet(int argc, char** argv, int first, std::ostream& out, std::ostream& err) {
  Flags flags({{"remotes", Flags::kValue},
               {"dir", Flags::kValue},
               {"keep-running", Flags::kSwitch},
               {"json", Flags::kSwitch},
               {"root-hints", Flags::kValue},
               {"trust-anchor", Flags::kValue},
               {"allow-cidr", Flags::kRepeated},
               {"allow-private-ranges", Flags::kSwitch},
               {"http-port", Flags::kValue},
               {"tls-port", Flags::kValue},
               {"help", Flags::kSwitch}});
  auto usage_error = [&](const std::string& why) {
    err << "mpic fleet: " << why << "\n" << kUsage;
    return 2;
  };
  if (auto st = flags.Parse(argc, argv, first); !st) return usage_error(st.error().detail);
  if (flags.Has("help")) {
    out << kUsage;
    return 0;
  }
  if (flags.positionals().size() != 1 || flags.positionals()[0] != "up") {
    return usage_error("expected the subcommand \"up\"");
  }
  const long max_remotes = static_cast<long>(lab::RemoteIdentities().size());
  // BR §3.2.2.9 asks for up to five remotes (from 2026-12-15); fewer cannot corroborate.
  auto remotes = flags.GetInt("remotes", 5, max_remotes);
  if (!remotes) return usage_error(remotes.error().detail);
  const bool json = flags.Has("json");
  const bool keep_running = flags.Has("keep-running");
  std::ostream& log = json ? err : out;

  // Your own DNS hierarchy and web servers (the lab's rules still apply: checked here as the
  // perspectives' configuration checks them, so a bad range is a usage error, not a failed
  // start).
  lab::LocalFleet::Options options;
  const bool own_dns = flags.Has("root-hints") || flags.Has("trust-anchor") ||
                       flags.Has("allow-cidr") || flags.Has("allow-private-ranges") ||
                       flags.Has("http-port") || flags.Has("tls-port");
  if (own_dns) {
    if (!flags.Has("root-hints") || !flags.Has("trust-anchor") || !flags.Has("allow-cidr")) {
      return usage_error("your own DNS needs --root-hints, --trust-anchor and --allow-cidr");
    }
    if (!keep_running) {
      return usage_error("with your own DNS (--root-hints) use --keep-running: the built-in "
                         "challenges live in the lab");
    }
    auto http_port = flags.GetInt("http-port", 1, 65535);
    if (!http_port) return usage_error(http_port.error().detail);
    auto tls_port = flags.GetInt("tls-port", 1, 65535);
    if (!tls_port) return usage_error(tls_port.error().detail);
    std::error_code ec;
    options.root_hints_file = fs::absolute(*flags.Get("root-hints"), ec).string();
    options.trust_anchor_file = fs::absolute(*flags.Get("trust-anchor"), ec).string();
    options.allow_cidrs = flags.GetAll("allow-cidr");
    options.allow_private_ranges = flags.Has("allow-private-ranges");
    options.http_port = static_cast<uint16_t>(http_port->value_or(80));
    options.tls_port = static_cast<uint16_t>(tls_port->value_or(443));
    v1::LabSettings lab;
    for (const std::string& cidr : options.allow_cidrs) lab.add_allow_cidrs(cidr);
    lab.set_allow_private_ranges(options.allow_private_ranges);
    lab.set_http_port(options.http_port);
    lab.set_tls_port(options.tls_port);
    if (auto st = perspective::ValidateLabSettings(lab, "--allow-cidr"); !st) {
      return usage_error(st.error().detail);
    }
    v1::ResolverSettings resolver;
    resolver.mutable_unbound()->set_root_hints_file(options.root_hints_file);
    resolver.mutable_unbound()->set_trust_anchor_file(options.trust_anchor_file);
    if (auto st = perspective::ValidateResolverSettings(resolver, lab, "--root-hints"); !st) {
      return usage_error(st.error().detail);
    }
  }

  std::string dir;
  bool temporary_dir = false;
  if (auto d = flags.Get("dir")) {
    std::error_code ec;
    fs::create_directories(*d, ec);
    if (ec) return usage_error("--dir " + *d + ": " + ec.message());
    dir = fs::absolute(*d).string();
  } else {
    char tmpl[] = "/tmp/mpic-fleet.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      err << "mpic fleet: cannot create a directory in /tmp\n";
      return 1;
    }
    dir = tmpl;
    temporary_dir = true;
  }

  lab::SignalScope signals;
  log << "mpic fleet: starting " << remotes->value_or(5) << " remotes + primary in " << dir << "\n";
  options.remotes = static_cast<int>(remotes->value_or(5));
  options.dir = dir;
  options.bin_dir = lab::ExecutableDir();
  int rc = 1;
  {
    auto fleet = lab::LocalFleet::Start(options, log, Interrupted);
    if (!fleet) {
      err << "mpic fleet: " << fleet.error().detail << "\n";
    } else {
      // With your own DNS there is nothing to publish: the challenges are yours.
      auto challenges = own_dns ? Result<std::vector<Challenge>>(std::vector<Challenge>{})
                                : SetUpChallenges(**fleet);
      if (!challenges) {
        err << "mpic fleet: " << challenges.error().detail << "\n";
        (*fleet)->Stop(&log);
      } else if (keep_running) {
        rc = KeepRunning(**fleet, *challenges, dir, json, out, err);
      } else {
        rc = RunScenarios(**fleet, *challenges, dir, json, out, err);
      }
    }
  }  // the fleet's destructor stops anything still running
  if (temporary_dir) {
    if (rc == 0) {
      std::error_code ec;
      fs::remove_all(dir, ec);
    } else {
      err << "mpic fleet: logs, configs and the audit log are kept in " << dir << "\n";
    }
  }
  return rc;
}

}  // namespace mpic::tools
