#include "tools/netsim_fleet.h"

#include <google/protobuf/util/json_util.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "lab/data_dir.h"
#include "lab/flags.h"
#include "lab/signal_scope.h"

namespace mpic::tools {
namespace {

using nlohmann::json;
constexpr const char* kUsage =
    "usage: mpic netsim fleet --spec FILE\n"
    "Starts the va-remote and va-primary processes the spec describes (each in its network\n"
    "namespace), prints one JSON line once all are ready and keeps them running until stdin\n"
    "ends or SIGTERM/SIGINT; then stops them. Spec format: docs/netsim.md.\n";

// A spec names a few dozen members at most; anything this large is not one.
constexpr size_t kMaxSpecBytes = 1 << 20;

Error Bad(const std::string& where, const std::string& what) {
  return Error{ProblemType::kMalformed, where + ": " + what};
}

// Letters, digits, '.', '_', '-': safe as a file name and a namespace name.
bool SafeName(const std::string& s) {
  if (s.empty() || s.size() > 64 || s == "." || s == "..") return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status OnlyKeys(const json& object, const std::string& where, const std::set<std::string>& keys) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string& key = it.key();
    if (keys.count(key) == 0) {
      std::string known;
      for (const std::string& k : keys) known += (known.empty() ? "" : ", ") + k;
      return Fail(
          Bad(where.empty() ? key : where + "." + key, "unknown field (known: " + known + ")"));
    }
  }
  return {};
}

Result<std::string> String(const json& object, const std::string& where, const std::string& key,
                           bool required) {
  const std::string at = where.empty() ? key : where + "." + key;
  if (!object.contains(key)) {
    if (required) return Fail(Bad(at, "required"));
    return std::string();
  }
  if (!object[key].is_string()) return Fail(Bad(at, "must be a string"));
  std::string value = object[key].get<std::string>();
  if (required && value.empty()) return Fail(Bad(at, "must not be empty"));
  return value;
}

Result<uint32_t> Uint32(const json& object, const std::string& where, const std::string& key,
                        uint32_t fallback) {
  const std::string at = where.empty() ? key : where + "." + key;
  if (!object.contains(key)) return fallback;
  const json& v = object[key];
  if (!v.is_number_unsigned() || v.get<uint64_t>() > std::numeric_limits<uint32_t>::max()) {
    return Fail(Bad(at, "must be an integer in 0..4294967295"));
  }
  return static_cast<uint32_t>(v.get<uint64_t>());
}

Result<std::vector<std::string>> Strings(const json& object, const std::string& where,
                                         const std::string& key) {
  const std::string at = where + "." + key;
  if (!object.contains(key)) return Fail(Bad(at, "required"));
  const json& v = object[key];
  if (!v.is_array() || v.empty()) return Fail(Bad(at, "must be a non-empty list of strings"));
  std::vector<std::string> out;
  for (const json& s : v) {
    if (!s.is_string() || s.get<std::string>().empty()) {
      return Fail(Bad(at, "must be a non-empty list of strings"));
    }
    out.push_back(s.get<std::string>());
  }
  return out;
}

// A JSON object in the proto3 JSON mapping (e.g. an identity, a policy).
Status Proto(const json& value, const std::string& at, google::protobuf::Message* message) {
  if (!value.is_object()) return Fail(Bad(at, "must be an object"));
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(value.dump(), message, options);
  if (!st.ok()) return Fail(Bad(at, std::string(st.message())));
  return {};
}

// What the spec's top level gives every member.
struct Shared {
  std::string pki_dir;
  v1::ResolverSettings resolver;
  v1::LabSettings lab;
  uint32_t max_check_ms = 10000;
};

Result<lab::MemberSpec> Member(const json& m, const std::string& at, const Shared& shared) {
  if (!m.is_object()) return Fail(Bad(at, "must be an object"));
  lab::MemberSpec spec;
  if (!m.contains("identity")) return Fail(Bad(at + ".identity", "required"));
  if (auto st = Proto(m["identity"], at + ".identity", &spec.identity); !st)
    return Fail(st.error());
  if (spec.identity.name().empty()) return Fail(Bad(at + ".identity.name", "required"));
  if (!SafeName(spec.identity.name())) {
    return Fail(Bad(at + ".identity.name", "only letters, digits, '.', '_' and '-' (1-64)"));
  }
  auto netns = String(m, at, "netns", false);
  if (!netns) return Fail(netns.error());
  if (!netns->empty() && !SafeName(*netns)) {
    return Fail(Bad(at + ".netns", "not a namespace name: \"" + *netns + "\""));
  }
  spec.netns = *netns;
  auto listen = String(m, at, "listen", true);
  if (!listen) return Fail(listen.error());
  spec.listen = *listen;
  auto metrics = String(m, at, "metrics_listen", false);
  if (!metrics) return Fail(metrics.error());
  spec.metrics_listen = *metrics;  // off unless asked
  auto file_name = String(m, at, "file_name", false);
  if (!file_name) return Fail(file_name.error());
  if (!file_name->empty() && !SafeName(*file_name)) {
    return Fail(Bad(at + ".file_name", "only letters, digits, '.', '_' and '-' (1-64)"));
  }
  spec.file_name = *file_name;
  spec.pki_dir = shared.pki_dir;
  spec.resolver = shared.resolver;
  spec.lab = shared.lab;
  spec.max_check_ms = shared.max_check_ms;
  return spec;
}

Result<lab::RemoteSpec> Remote(const json& m, const std::string& at, const Shared& shared) {
  auto member = Member(m, at, shared);
  if (!member) return Fail(member.error());
  if (auto st = OnlyKeys(m, at,
                         {"identity", "netns", "listen", "metrics_listen", "file_name",
                          "authorized_primaries", "max_concurrent"});
      !st) {
    return Fail(st.error());
  }
  lab::RemoteSpec spec;
  spec.member = std::move(*member);
  auto primaries = Strings(m, at, "authorized_primaries");
  if (!primaries) return Fail(primaries.error());
  spec.authorized_primaries = std::move(*primaries);
  auto max_concurrent = Uint32(m, at, "max_concurrent", 64);
  if (!max_concurrent) return Fail(max_concurrent.error());
  spec.max_concurrent = *max_concurrent;
  return spec;
}

Result<lab::PrimarySpec> Primary(const json& m, const std::string& at, const Shared& shared) {
  auto member = Member(m, at, shared);
  if (!member) return Fail(member.error());
  if (auto st = OnlyKeys(m, at,
                         {"identity", "netns", "listen", "metrics_listen", "file_name", "remotes",
                          "policy", "remotes_per_validation", "remote_timeout_ms",
                          "straggler_grace_ms", "audit_log", "authorized_clients"});
      !st) {
    return Fail(st.error());
  }
  lab::PrimarySpec spec;
  spec.member = std::move(*member);
  if (!m.contains("remotes") || !m["remotes"].is_array() || m["remotes"].empty()) {
    return Fail(Bad(at + ".remotes", "must be a non-empty list of {identity, address, ...}"));
  }
  for (size_t i = 0; i < m["remotes"].size(); ++i) {
    const std::string where = at + ".remotes[" + std::to_string(i) + "]";
    v1::RemoteEndpoint endpoint;
    if (auto st = Proto(m["remotes"][i], where, &endpoint); !st) return Fail(st.error());
    if (endpoint.identity().name().empty()) return Fail(Bad(where + ".identity.name", "required"));
    if (endpoint.address().empty()) return Fail(Bad(where + ".address", "required"));
    spec.remotes.push_back(std::move(endpoint));
  }
  if (m.contains("policy")) {
    if (auto st = Proto(m["policy"], at + ".policy", &spec.policy); !st) return Fail(st.error());
  }
  auto per_validation = Uint32(m, at, "remotes_per_validation", 0);
  auto remote_timeout = Uint32(m, at, "remote_timeout_ms", 10000);
  auto grace = Uint32(m, at, "straggler_grace_ms", 2000);
  for (const auto* r : {&per_validation, &remote_timeout, &grace}) {
    if (!*r) return Fail(r->error());
  }
  spec.remotes_per_validation = *per_validation;
  spec.remote_timeout_ms = *remote_timeout;
  spec.straggler_grace_ms = *grace;
  auto audit = String(m, at, "audit_log", true);
  if (!audit) return Fail(audit.error());
  spec.audit_log = *audit;
  auto clients = Strings(m, at, "authorized_clients");
  if (!clients) return Fail(clients.error());
  spec.authorized_clients = std::move(*clients);
  return spec;
}

}  // namespace

Result<NetsimFleetSpec> ParseNetsimFleetSpec(const std::string& text) {
  json top = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (top.is_discarded()) return Fail(Bad("spec", "not valid JSON"));
  if (!top.is_object()) return Fail(Bad("spec", "must be a JSON object"));
  if (auto st = OnlyKeys(top, "",
                         {"dir", "bin_dir", "pki_dir", "root_hints", "trust_anchor", "lab",
                          "max_check_ms", "ready_timeout_ms", "remotes", "primary"});
      !st) {
    return Fail(st.error());
  }
  NetsimFleetSpec spec;
  Shared shared;
  auto dir = String(top, "", "dir", true);
  auto bin_dir = String(top, "", "bin_dir", false);
  auto pki_dir = String(top, "", "pki_dir", true);
  auto root_hints = String(top, "", "root_hints", true);
  auto trust_anchor = String(top, "", "trust_anchor", true);
  for (const auto* r : {&dir, &bin_dir, &pki_dir, &root_hints, &trust_anchor}) {
    if (!*r) return Fail(r->error());
  }
  spec.dir = *dir;
  spec.bin_dir = *bin_dir;
  shared.pki_dir = *pki_dir;
  shared.resolver.mutable_unbound()->set_root_hints_file(*root_hints);
  shared.resolver.mutable_unbound()->set_trust_anchor_file(*trust_anchor);
  if (!top.contains("lab")) return Fail(Bad("lab", "required (allow_cidrs, ...)"));
  if (auto st = Proto(top["lab"], "lab", &shared.lab); !st) return Fail(st.error());
  if (shared.lab.allow_cidrs().empty()) return Fail(Bad("lab.allow_cidrs", "required"));
  auto max_check = Uint32(top, "", "max_check_ms", 10000);
  if (!max_check) return Fail(max_check.error());
  shared.max_check_ms = *max_check;
  auto ready = Uint32(top, "", "ready_timeout_ms", 30000);
  if (!ready) return Fail(ready.error());
  if (*ready == 0) return Fail(Bad("ready_timeout_ms", "must be positive"));
  spec.ready_timeout = std::chrono::milliseconds(*ready);

  if (top.contains("remotes")) {
    if (!top["remotes"].is_array()) return Fail(Bad("remotes", "must be a list"));
    for (size_t i = 0; i < top["remotes"].size(); ++i) {
      auto remote = Remote(top["remotes"][i], "remotes[" + std::to_string(i) + "]", shared);
      if (!remote) return Fail(remote.error());
      spec.remotes.push_back(std::move(*remote));
    }
  }
  if (top.contains("primary")) {
    auto primary = Primary(top["primary"], "primary", shared);
    if (!primary) return Fail(primary.error());
    spec.primary = std::move(*primary);
  }
  if (spec.remotes.empty() && !spec.primary) {
    return Fail(Bad("spec", "no members: give remotes, a primary or both"));
  }
  // Every member's files are named after it: no two may share a name.
  std::set<std::string> names;
  std::vector<const lab::MemberSpec*> members;
  for (const lab::RemoteSpec& r : spec.remotes) members.push_back(&r.member);
  if (spec.primary) members.push_back(&spec.primary->member);
  for (const lab::MemberSpec* m : members) {
    if (!names.insert(m->FileName()).second) {
      return Fail(Bad("spec", "two members named \"" + m->FileName() + "\""));
    }
  }
  return spec;
}

int RunNetsimFleet(int argc, char** argv, int first, std::ostream& out, std::ostream& err) {
  lab::Flags flags({{"spec", lab::Flags::kValue}});
  if (auto st = flags.Parse(argc, argv, first); !st || !flags.positionals().empty()) {
    err << "mpic netsim fleet: " << (st ? "unexpected argument" : st.error().detail) << "\n"
        << kUsage;
    return 2;
  }
  const auto spec_file = flags.Get("spec");
  if (!spec_file) {
    err << "mpic netsim fleet: --spec is required\n" << kUsage;
    return 2;
  }
  std::ifstream in(*spec_file);
  if (!in) {
    err << "mpic netsim fleet: cannot read " << *spec_file << "\n";
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxSpecBytes) {
    err << "mpic netsim fleet: " << *spec_file << ": larger than " << kMaxSpecBytes << " bytes\n";
    return 2;
  }
  auto spec = ParseNetsimFleetSpec(text.str());
  if (!spec) {
    err << "mpic netsim fleet: " << *spec_file << ": " << spec.error().detail << "\n";
    return 2;
  }
  bool namespaces = spec->primary && !spec->primary->member.netns.empty();
  for (const lab::RemoteSpec& r : spec->remotes) namespaces |= !r.member.netns.empty();
  if (namespaces && geteuid() != 0) {
    err << "mpic netsim fleet: needs root (its members run in network namespaces)\n";
    return 3;
  }
  const std::string bin_dir = spec->bin_dir.empty() ? lab::ExecutableDir() : spec->bin_dir;
  for (const char* binary : {"va-remote", "va-primary"}) {
    const std::string path = bin_dir + "/" + binary;
    if (access(path.c_str(), X_OK) != 0) {
      err << "mpic netsim fleet: " << path << " not found\n";
      return 1;
    }
  }
  const lab::FleetDirs dirs = lab::FleetDirs::Under(spec->dir);
  if (auto st = dirs.Create(); !st) {
    err << "mpic netsim fleet: " << st.error().detail << "\n";
    return 1;
  }

  lab::SignalScope signals;
  const auto interrupted = [] { return lab::CaughtSignal() != 0; };
  std::vector<lab::FleetMember> remotes;
  std::optional<lab::FleetMember> primary;
  // Stops whatever was started, the primary first (also on every failure below).
  const auto stop = [&] { lab::StopMembers(primary ? &*primary : nullptr, remotes); };
  const auto fail = [&](const std::string& what) {
    err << "mpic netsim fleet: " << what << "\n";
    stop();
    return 1;
  };
  for (const lab::RemoteSpec& r : spec->remotes) {
    auto m = lab::LaunchRemote(r, bin_dir, dirs);
    if (!m) return fail(r.member.identity.name() + ": " + m.error().detail);
    remotes.push_back(std::move(*m));
  }
  std::vector<lab::FleetMember*> waiting;
  for (lab::FleetMember& m : remotes) waiting.push_back(&m);
  if (auto st = lab::AwaitReady(waiting, spec->ready_timeout, interrupted); !st) {
    return fail(st.error().detail);
  }
  if (spec->primary) {
    auto m = lab::LaunchPrimary(*spec->primary, bin_dir, dirs);
    if (!m) return fail(spec->primary->member.identity.name() + ": " + m.error().detail);
    primary.emplace(std::move(*m));
    if (auto st = lab::AwaitReady({&*primary}, spec->ready_timeout, interrupted); !st) {
      return fail(st.error().detail);
    }
  }

  json ready = json::array();
  const auto row = [&](const lab::FleetMember& m, const char* role) {
    ready.push_back({{"role", role},
                     {"name", m.identity.name()},
                     {"address", m.address},
                     {"pid", m.process->pid()},
                     {"log", m.process->log_file()}});
  };
  for (const lab::FleetMember& m : remotes) row(m, "remote");
  if (primary) row(*primary, "primary");
  out << json{{"ready", ready}}.dump() << std::endl;

  // Until stdin ends (the harness closed it or died) or a signal; a member that dies meanwhile
  // is reported once (the harness sees its checks fail).
  std::set<std::string> reported;
  for (;;) {
    if (lab::CaughtSignal() != 0) break;
    pollfd fd{STDIN_FILENO, POLLIN, 0};
    const int n = poll(&fd, 1, 200);
    if (n < 0 && errno != EINTR) break;
    if (n > 0) {
      if ((fd.revents & POLLNVAL) != 0) break;
      char buf[512];
      const ssize_t got = read(STDIN_FILENO, buf, sizeof buf);
      if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) break;
    }
    const auto check = [&](lab::FleetMember& m) {
      if (m.process && !m.process->Running() && reported.insert(m.identity.name()).second) {
        err << "mpic netsim fleet: " << m.identity.name() << " " << m.process->how_it_ended()
            << "; end of " << m.process->log_file() << ":\n"
            << lab::TailOfFile(m.process->log_file(), 8);
      }
    };
    if (primary) check(*primary);
    for (lab::FleetMember& m : remotes) check(m);
  }
  stop();
  err << "mpic netsim fleet: stopped " << (primary ? 1 : 0) + remotes.size() << " member(s)\n";
  return 0;
}

}  // namespace mpic::tools
