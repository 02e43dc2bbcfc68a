#include "tools/deploy_command.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>
#include <vector>

#include "checks/address_policy.h"
#include "mpic/v1/config.pb.h"
#include "perspective/config.h"
#include "lab/flags.h"
#include "lab/health_client.h"
#include "lab/pki.h"
#include "perspective/factories.h"
#include "perspective/primary_config.h"

namespace mpic::tools {
namespace {

using lab::Flags;

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kUsage =
    "usage: mpic deploy render [--fleet FILE] [--out DIR]\n"
    "       mpic deploy check  [--fleet FILE] [--out DIR]\n"
    "       mpic deploy probe --role remote|primary --config FILE [--timeout-ms N]\n"
    "render/check: the Kubernetes overlays of the fleet described in FILE (default\n"
    "deploy/k8s/fleet.json; DIR defaults to FILE's folder + /overlays), checked with the rules\n"
    "va-primary enforces at start. probe: grpc.health.v1/Check over mTLS on the server's port\n"
    "and, when the config has health_listen, in plaintext on that port (what the kubelet's\n"
    "native gRPC probe asks); SERVING (exit 0) only when every port says so.\n"
    "See docs/kubernetes.md.\n";

// Where the base manifests mount things (deploy/k8s/base/*/deployment.yaml).
constexpr const char* kConfigDir = "/etc/mpic/config";
constexpr const char* kRemoteTlsDir = "/etc/mpic/tls";
constexpr const char* kServerTlsDir = "/etc/mpic/server-tls";
constexpr const char* kClientTlsDir = "/etc/mpic/client-tls";
constexpr const char* kAuditLog = "/var/lib/mpic/audit/audit.jsonl";
constexpr int kRemotePort = 8443;
constexpr int kPrimaryPort = 4443;
constexpr int kMetricsPort = 9100;
constexpr int kHealthPort = 8081;  // plaintext grpc.health.v1 only: the kubelet's gRPC probes

constexpr const char* kHeader =
    "# Rendered by `mpic deploy render` from the fleet description: edit that file, not this\n"
    "# one (`mpic deploy check` fails CI when they drift).\n";

std::string Quote(const std::string& s) { return json(s).dump(); }  // a YAML "..." scalar

Result<json> ParseObject(const std::string& text, const std::string& origin) {
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return Fail(ProblemType::kMalformed, origin + ": not a JSON object");
  }
  return parsed;
}

// Reports keys of `object` outside `allowed` (a misspelt key must not silently mean "default").
void CheckKeys(const json& object, const std::set<std::string>& allowed, const std::string& where,
               std::vector<std::string>* problems) {
  for (const auto& item : object.items()) {
    if (!allowed.contains(item.key())) {
      problems->push_back(where + ": unknown key " + Quote(item.key()));
    }
  }
}

template <typename Message>
bool ProtoFrom(const json& object, const std::string& where, Message* message,
               std::vector<std::string>* problems) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(object.dump(), message, options);
  if (!status.ok()) {
    problems->push_back(where + ": " + std::string(status.message()));
    return false;
  }
  return true;
}

Result<std::string> ProtoJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options).ok()) {
    return Fail(ProblemType::kServerInternal, "cannot encode a config as JSON");
  }
  return out;
}

std::string StringAt(const json& object, const std::string& key, const std::string& where,
                     std::vector<std::string>* problems, bool required = true) {
  if (!object.contains(key)) {
    if (required) problems->push_back(where + "." + key + " is required");
    return "";
  }
  if (!object[key].is_string() || object[key].get<std::string>().empty()) {
    problems->push_back(where + "." + key + " must be a non-empty string");
    return "";
  }
  return object[key].get<std::string>();
}

uint32_t UintAt(const json& object, const std::string& key, const std::string& where,
                std::vector<std::string>* problems) {
  if (!object.contains(key)) return 0;
  if (!object[key].is_number_unsigned() || object[key].get<uint64_t>() > 1000000) {
    problems->push_back(where + "." + key + " must be an integer 0..1000000");
    return 0;
  }
  return object[key].get<uint32_t>();
}

// A site becomes a folder and a label value: a DNS label.
bool IsDnsLabel(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

struct ImageRef {
  std::string name;
  std::string tag;     // or
  std::string digest;  // "sha256:..."
};

Result<ImageRef> ParseImage(const std::string& ref) {
  for (char c : ref) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '/' || c == ':' || c == '@' || c == '-' || c == '_';
    if (!ok) return Fail(ProblemType::kMalformed, "image " + Quote(ref) + ": bad character");
  }
  ImageRef out;
  if (const size_t at = ref.find('@'); at != std::string::npos) {
    out.name = ref.substr(0, at);
    out.digest = ref.substr(at + 1);
    if (!out.digest.starts_with("sha256:") || out.digest.size() != 7 + 64) {
      return Fail(ProblemType::kMalformed, "image " + Quote(ref) + ": bad digest");
    }
  } else {
    const size_t colon = ref.rfind(':');
    const size_t slash = ref.rfind('/');
    if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) {
      return Fail(ProblemType::kMalformed,
                  "image " + Quote(ref) + ": needs an explicit tag or digest (no implicit latest)");
    }
    out.name = ref.substr(0, colon);
    out.tag = ref.substr(colon + 1);
    if (out.tag.empty() || out.tag == "latest") {
      return Fail(ProblemType::kMalformed,
                  "image " + Quote(ref) + ": pin a version or digest, not \"latest\"");
    }
  }
  if (out.name.empty()) return Fail(ProblemType::kMalformed, "image " + Quote(ref) + ": no name");
  return out;
}

v1::TlsFiles TlsIn(const std::string& dir) {
  v1::TlsFiles tls;
  tls.set_ca_file(dir + "/ca.crt");
  tls.set_cert_file(dir + "/tls.crt");
  tls.set_key_file(dir + "/tls.key");
  return tls;
}

struct Site {
  std::string site;
  v1::PerspectiveIdentity identity;
  std::string endpoint;         // remotes: "host:port" the primary dials
  std::string tls_server_name;  // remotes: optional
  uint32_t replicas = 0;        // 0: the base's
};

struct Fleet {
  ImageRef image;
  std::string namespace_name;
  std::string base;  // relative to an overlay folder
  std::vector<std::string> components;
  Site primary;
  std::vector<std::string> primary_egress_cidrs;
  std::vector<Site> remotes;
  v1::PrimaryConfig primary_config;
  std::vector<v1::RemoteConfig> remote_configs;
};

// The primary's and every remote's config as the pods will read them.
Result<Fleet> ParseFleet(const std::string& text) {
  auto root = ParseObject(text, "fleet");
  if (!root) return Fail(root.error());
  std::vector<std::string> problems;
  Fleet fleet;
  CheckKeys(*root,
            {"comment", "image", "namespace", "base", "components", "resolver", "lab", "primary",
             "remotes", "remote_defaults"},
            "fleet", &problems);

  if (auto image = ParseImage(StringAt(*root, "image", "fleet", &problems)); image) {
    fleet.image = *image;
  } else if (root->contains("image")) {
    problems.push_back(image.error().detail);
  }
  fleet.namespace_name = StringAt(*root, "namespace", "fleet", &problems);
  if (!fleet.namespace_name.empty() && !IsDnsLabel(fleet.namespace_name)) {
    problems.push_back("fleet.namespace " + Quote(fleet.namespace_name) + " is not a DNS label");
  }
  fleet.base = root->contains("base") ? StringAt(*root, "base", "fleet", &problems) : "../../base";
  if (root->contains("components")) {
    if (!(*root)["components"].is_array()) {
      problems.push_back("fleet.components must be an array of names");
    } else {
      for (const auto& c : (*root)["components"]) {
        if (!c.is_string() || (c != "cert-manager" && c != "servicemonitor")) {
          problems.push_back("fleet.components: " + c.dump() +
                             " is not one of \"cert-manager\", \"servicemonitor\"");
        } else {
          fleet.components.push_back(c.get<std::string>());
        }
      }
    }
  }

  v1::ResolverSettings resolver;
  if (root->contains("resolver"))
    ProtoFrom((*root)["resolver"], "fleet.resolver", &resolver, &problems);
  v1::LabSettings lab;
  if (root->contains("lab")) ProtoFrom((*root)["lab"], "fleet.lab", &lab, &problems);
  v1::RemoteConfig remote_defaults;
  if (root->contains("remote_defaults")) {
    const json& d = (*root)["remote_defaults"];
    if (!d.is_object()) {
      problems.push_back("fleet.remote_defaults must be an object");
    } else {
      CheckKeys(d, {"max_check_ms", "max_concurrent"}, "fleet.remote_defaults", &problems);
      remote_defaults.set_max_check_ms(
          UintAt(d, "max_check_ms", "fleet.remote_defaults", &problems));
      remote_defaults.set_max_concurrent(
          UintAt(d, "max_concurrent", "fleet.remote_defaults", &problems));
    }
  }

  auto parse_site = [&problems](const json& object, const std::string& where, Site* site) {
    site->site = StringAt(object, "site", where, &problems);
    if (!site->site.empty() && !IsDnsLabel(site->site)) {
      problems.push_back(where + ".site " + Quote(site->site) + " is not a DNS label");
    }
    if (!object.contains("identity") || !object["identity"].is_object()) {
      problems.push_back(where + ".identity is required (name, rir, location, region)");
    } else {
      ProtoFrom(object["identity"], where + ".identity", &site->identity, &problems);
    }
    site->replicas = UintAt(object, "replicas", where, &problems);
  };

  // The primary.
  v1::PrimaryConfig& primary = fleet.primary_config;
  if (!root->contains("primary") || !(*root)["primary"].is_object()) {
    problems.push_back("fleet.primary is required");
  } else {
    const json& p = (*root)["primary"];
    CheckKeys(p,
              {"site", "identity", "policy", "remotes_per_validation", "remote_timeout_ms",
               "straggler_grace_ms", "max_check_ms", "remotes_after_primary", "egress_cidrs",
               "replicas", "authorized_clients", "max_in_flight"},
              "fleet.primary", &problems);
    parse_site(p, "fleet.primary", &fleet.primary);
    if (fleet.primary.replicas > 1) {
      problems.push_back(
          "fleet.primary.replicas: one primary per region (it is the only "
          "writer of its audit log volume)");
    }
    *primary.mutable_identity() = fleet.primary.identity;
    primary.set_listen("0.0.0.0:" + std::to_string(kPrimaryPort));
    primary.set_metrics_listen("0.0.0.0:" + std::to_string(kMetricsPort));
    primary.set_health_listen("0.0.0.0:" + std::to_string(kHealthPort));
    *primary.mutable_server_tls() = TlsIn(kServerTlsDir);
    *primary.mutable_client_tls() = TlsIn(kClientTlsDir);
    *primary.mutable_resolver() = resolver;
    *primary.mutable_lab() = lab;
    if (p.contains("policy")) {
      ProtoFrom(p["policy"], "fleet.primary.policy", primary.mutable_policy(), &problems);
    }
    primary.set_remotes_per_validation(
        UintAt(p, "remotes_per_validation", "fleet.primary", &problems));
    primary.set_remote_timeout_ms(UintAt(p, "remote_timeout_ms", "fleet.primary", &problems));
    primary.set_straggler_grace_ms(UintAt(p, "straggler_grace_ms", "fleet.primary", &problems));
    primary.set_max_check_ms(UintAt(p, "max_check_ms", "fleet.primary", &problems));
    if (p.contains("remotes_after_primary")) {
      if (!p["remotes_after_primary"].is_boolean()) {
        problems.push_back("fleet.primary.remotes_after_primary must be true or false");
      } else {
        primary.set_remotes_after_primary(p["remotes_after_primary"].get<bool>());
      }
    }
    primary.set_audit_log(kAuditLog);
    primary.set_max_in_flight(UintAt(p, "max_in_flight", "fleet.primary", &problems));
    // The CA clients allowed to call Validate (their certificates' CN or DNS names).
    if (p.contains("authorized_clients")) {
      if (!p["authorized_clients"].is_array()) {
        problems.push_back("fleet.primary.authorized_clients must be an array of names");
      } else {
        for (const auto& name : p["authorized_clients"]) {
          if (!name.is_string()) {
            problems.push_back("fleet.primary.authorized_clients: " + name.dump() +
                               " is not a string");
          } else {
            primary.add_authorized_clients(name.get<std::string>());
          }
        }
      }
    }
    if (!p.contains("egress_cidrs") || !p["egress_cidrs"].is_array() || p["egress_cidrs"].empty()) {
      problems.push_back(
          "fleet.primary.egress_cidrs is required: the addresses the primary's "
          "calls leave its cluster from (the remotes admit only those)");
    } else {
      for (const auto& c : p["egress_cidrs"]) {
        if (!c.is_string() || !checks::Cidr::Parse(c.get<std::string>())) {
          problems.push_back("fleet.primary.egress_cidrs: " + c.dump() + " is not a CIDR");
        } else {
          fleet.primary_egress_cidrs.push_back(c.get<std::string>());
        }
      }
    }
  }

  // The remotes, each with its own config, and the primary's endpoint for it.
  if (!root->contains("remotes") || !(*root)["remotes"].is_array()) {
    problems.push_back("fleet.remotes is required (an array)");
  } else {
    for (size_t i = 0; i < (*root)["remotes"].size(); ++i) {
      const json& r = (*root)["remotes"][i];
      const std::string where = "fleet.remotes[" + std::to_string(i) + "]";
      if (!r.is_object()) {
        problems.push_back(where + " must be an object");
        continue;
      }
      CheckKeys(r, {"site", "identity", "endpoint", "tls_server_name", "replicas"}, where,
                &problems);
      Site site;
      parse_site(r, where, &site);
      site.endpoint = StringAt(r, "endpoint", where, &problems);
      site.tls_server_name = StringAt(r, "tls_server_name", where, &problems, false);
      v1::RemoteEndpoint* endpoint = primary.add_remotes();
      *endpoint->mutable_identity() = site.identity;
      endpoint->set_address(site.endpoint);
      endpoint->set_tls_server_name(site.tls_server_name);

      v1::RemoteConfig config = remote_defaults;
      *config.mutable_identity() = site.identity;
      config.set_listen("0.0.0.0:" + std::to_string(kRemotePort));
      config.set_metrics_listen("0.0.0.0:" + std::to_string(kMetricsPort));
      config.set_health_listen("0.0.0.0:" + std::to_string(kHealthPort));
      *config.mutable_tls() = TlsIn(kRemoteTlsDir);
      *config.mutable_resolver() = resolver;
      *config.mutable_lab() = lab;
      // Only the primary's client certificate (commonName: its identity) may call Check.
      if (!primary.identity().name().empty()) {
        config.add_authorized_primaries(primary.identity().name());
      }
      fleet.remote_configs.push_back(std::move(config));
      fleet.remotes.push_back(std::move(site));
    }
  }

  // Every remote is asked by default: a smaller cohort needs selection_secret, which the config
  // file carries inline and a ConfigMap must not (ValidatePrimaryConfig refuses it missing).
  if (primary.remotes_per_validation() == 0) {
    primary.set_remotes_per_validation(static_cast<uint32_t>(primary.remotes_size()));
  }
  std::set<std::string> sites{fleet.primary.site};
  for (const Site& s : fleet.remotes) {
    if (!s.site.empty() && !sites.insert(s.site).second) {
      problems.push_back("site " + Quote(s.site) + " is used more than once");
    }
  }
  if (problems.empty()) return fleet;
  std::string detail = "invalid fleet: ";
  for (size_t i = 0; i < problems.size(); ++i) detail += (i ? "; " : "") + problems[i];
  return Fail(ProblemType::kMalformed, std::move(detail));
}

// File locations are the pod's: point them at stand-ins (a throwaway PKI whose leaf carries both
// server and client usage, a temporary audit log, the resolver's default root data) so that the
// servers' own checks can run here on everything else, unchanged.
class StandIns {
 public:
  static Result<StandIns> Make() {
    char pattern[] = "/tmp/mpic-deploy-check.XXXXXX";
    if (mkdtemp(pattern) == nullptr) {
      return Fail(ProblemType::kServerInternal, "cannot make a temporary folder");
    }
    StandIns out(pattern);
    auto ca = lab::CertificateAuthority::Create("mpic deploy check stand-in CA");
    if (!ca) return Fail(ca.error());
    lab::LeafSpec spec;
    spec.common_name = "stand-in";
    spec.dns_names = {"stand-in"};
    spec.client = true;
    auto leaf = ca->Issue(spec);
    if (!leaf) return Fail(leaf.error());
    for (const auto& [name, body, mode] :
         {std::tuple<std::string, std::string, unsigned>{"ca.crt", ca->cert_pem(), 0644},
          {"tls.crt", leaf->cert_pem, 0644},
          {"tls.key", leaf->key_pem, 0600}}) {
      if (auto st = lab::WriteFile(out.dir_ + "/" + name, body, mode); !st) return Fail(st.error());
    }
    return out;
  }
  StandIns(StandIns&& other) noexcept : dir_(std::move(other.dir_)) { other.dir_.clear(); }
  StandIns& operator=(StandIns&&) = delete;
  ~StandIns() {
    if (dir_.empty()) return;
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void Apply(v1::TlsFiles* tls) const { *tls = TlsIn(dir_); }
  void Apply(v1::ResolverSettings* resolver) const {
    if (resolver->has_unbound()) resolver->clear_backend();  // the image's dns-root-data
  }
  std::string audit_log() const { return dir_ + "/audit.jsonl"; }

 private:
  explicit StandIns(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
};

Status CheckFleet(const Fleet& fleet) {
  auto stand_ins = StandIns::Make();
  if (!stand_ins) return Fail(stand_ins.error());
  std::vector<std::string> problems;

  v1::PrimaryConfig primary = fleet.primary_config;
  stand_ins->Apply(primary.mutable_server_tls());
  stand_ins->Apply(primary.mutable_client_tls());
  stand_ins->Apply(primary.mutable_resolver());
  primary.set_audit_log(stand_ins->audit_log());
  if (auto settings = perspective::ValidatePrimaryConfig(primary, perspective::UtcToday());
      !settings) {
    problems.push_back(settings.error().detail);
  }
  for (size_t i = 0; i < fleet.remote_configs.size(); ++i) {
    v1::RemoteConfig remote = fleet.remote_configs[i];
    stand_ins->Apply(remote.mutable_tls());
    stand_ins->Apply(remote.mutable_resolver());
    if (auto st = perspective::ValidateRemoteConfig(remote); !st) {
      problems.push_back("remote " + Quote(fleet.remotes[i].site) + ": " + st.error().detail);
    }
  }
  if (problems.empty()) return {};
  std::string detail;
  for (size_t i = 0; i < problems.size(); ++i) detail += (i ? "; " : "") + problems[i];
  return Fail(ProblemType::kMalformed, std::move(detail));
}

// deploy/k8s/components beside deploy/k8s/base.
std::string ComponentsRoot(const std::string& base) {
  if (base == "base") return "components";
  if (base.ends_with("/base")) return base.substr(0, base.size() - 4) + "components";
  return base + "/../components";
}

std::string KustomizationFor(const Fleet& fleet, const Site& site, const std::string& role,
                             bool has_patch) {
  std::ostringstream y;
  y << kHeader;
  y << "apiVersion: kustomize.config.k8s.io/v1beta1\n"
       "kind: Kustomization\n";
  y << "namespace: " << fleet.namespace_name << "\n";
  y << "resources:\n  - " << fleet.base << "/" << role << "\n";
  if (!fleet.components.empty()) {
    y << "components:\n";
    for (const auto& c : fleet.components) {
      y << "  - " << ComponentsRoot(fleet.base) << "/" << c << "/" << role << "\n";
    }
  }
  y << "labels:\n"
       "  - pairs:\n";
  y << "      mpic.dev/site: " << Quote(site.site) << "\n";
  y << "      mpic.dev/perspective: " << Quote(site.identity.name()) << "\n";
  y << "      mpic.dev/rir: " << Quote(v1::Rir_Name(site.identity.rir())) << "\n";
  y << "    includeSelectors: false\n"
       "    includeTemplates: true\n";
  y << "configMapGenerator:\n"
       "  - name: "
    << role << "-config\n    files:\n      - " << role << ".json\n";
  y << "images:\n  - name: mpic\n    newName: " << fleet.image.name << "\n";
  if (!fleet.image.digest.empty()) {
    y << "    digest: " << fleet.image.digest << "\n";
  } else {
    y << "    newTag: " << Quote(fleet.image.tag) << "\n";
  }
  if (site.replicas > 0) {
    y << "replicas:\n  - name: " << role << "\n    count: " << site.replicas << "\n";
  }
  if (has_patch || !fleet.components.empty()) {
    y << "patches:\n";
    if (has_patch) y << "  - path: networkpolicy-patch.yaml\n";
    if (std::find(fleet.components.begin(), fleet.components.end(), "cert-manager") !=
        fleet.components.end()) {
      y << "  - path: certificates-patch.yaml\n";
    }
  }
  return y.str();
}

std::string HostOf(const std::string& address) {
  const size_t colon = address.rfind(':');
  std::string host = colon == std::string::npos ? address : address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return host;
}

// The names a perspective's certificate must carry: the identity (what the primary checks by
// default, and what the probe asks for) and the name the primary dials, when it is a name.
std::vector<std::string> CertificateNames(const Site& site) {
  std::vector<std::string> names{site.identity.name()};
  if (!site.tls_server_name.empty() && site.tls_server_name != names[0]) {
    names.push_back(site.tls_server_name);
  }
  if (!site.endpoint.empty()) {
    const std::string host = HostOf(site.endpoint);
    const bool literal = host.find_first_not_of("0123456789.") == std::string::npos ||
                         host.find(':') != std::string::npos;
    if (!literal && std::find(names.begin(), names.end(), host) == names.end()) {
      names.push_back(host);
    }
  }
  return names;
}

std::string CertificatesPatch(const Site& site, bool primary) {
  std::ostringstream y;
  y << kHeader;
  auto one = [&y](const std::string& name, const std::vector<std::string>& dns) {
    y << "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: " << name
      << "\nspec:\n  commonName: " << Quote(dns[0]) << "\n  dnsNames:\n";
    for (const auto& d : dns) y << "    - " << Quote(d) << "\n";
  };
  if (primary) {
    one("va-primary-server-tls", {site.identity.name(), "va-primary"});
    y << "---\n";
    one("va-primary-client-tls", {site.identity.name()});
  } else {
    one("va-remote-tls", CertificateNames(site));
  }
  return y.str();
}

std::string RemoteNetworkPolicyPatch(const Fleet& fleet) {
  std::ostringstream y;
  y << kHeader;
  y << "# gRPC only from the primary's egress addresses; /metrics from monitoring.\n"
       "apiVersion: networking.k8s.io/v1\n"
       "kind: NetworkPolicy\n"
       "metadata:\n"
       "  name: va-remote\n"
       "spec:\n"
       "  ingress:\n"
       "    - from:\n";
  for (const auto& cidr : fleet.primary_egress_cidrs) {
    y << "        - ipBlock:\n            cidr: " << cidr << "\n";
  }
  y << "      ports:\n"
       "        - port: grpc\n"
       "          protocol: TCP\n"
       "    - from:\n"
       "        - namespaceSelector:\n"
       "            matchLabels:\n"
       "              mpic.dev/monitoring: \"true\"\n"
       "      ports:\n"
       "        - port: metrics\n"
       "          protocol: TCP\n";
  return y.str();
}

Result<std::string> ConfigFile(const google::protobuf::Message& config) {
  auto text = ProtoJson(config);
  if (!text) return text;
  return *text + "\n";
}

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(ProblemType::kMalformed, "cannot read " + path);
  std::ostringstream body;
  body << in.rdbuf();
  return body.str();
}

// --- probe ---------------------------------------------------------------------------------

std::string LoopbackFor(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  const std::string host = listen.substr(0, colon);
  const std::string port = listen.substr(colon + 1);
  if (host == "0.0.0.0" || host.empty()) return "127.0.0.1:" + port;
  if (host == "[::]") return "[::1]:" + port;
  return listen;
}

// grpc.health.v1.Health/Check("") on `address`: "SERVING", "NOT_SERVING", or why not. With
// `tls` null the call is plaintext (the health-only port), else mTLS with the pod's own files.
std::string HealthCheck(const std::string& address, const v1::TlsFiles* tls,
                        const std::string& server_name, std::chrono::milliseconds timeout) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  grpc::ChannelArguments args;
  if (tls != nullptr) {
    grpc::SslCredentialsOptions options;
    auto ca = ReadText(tls->ca_file());
    auto cert = ReadText(tls->cert_file());
    auto key = ReadText(tls->key_file());
    if (!ca || !cert || !key) return "cannot read the TLS files";
    options.pem_root_certs = *ca;
    options.pem_cert_chain = *cert;
    options.pem_private_key = *key;
    credentials = grpc::SslCredentials(options);
    args.SetSslTargetNameOverride(server_name);
  }
  return lab::HealthStatus(grpc::CreateCustomChannel(address, credentials, args), "", timeout);
}

int RunProbe(const Flags& flags, std::ostream& out, std::ostream& err) {
  const std::string role = flags.Get("role").value_or("");
  const auto config_path = flags.Get("config");
  auto timeout_ms = flags.GetInt("timeout-ms", 100, 60000);
  if ((role != "remote" && role != "primary") || !config_path || !timeout_ms) {
    err << (timeout_ms ? "" : timeout_ms.error().detail + "\n") << kUsage;
    return 2;
  }
  const std::chrono::milliseconds timeout(timeout_ms->value_or(4000));
  std::string address, name, health;
  v1::TlsFiles tls;
  if (role == "remote") {
    auto config = perspective::LoadRemoteConfig(*config_path);
    if (!config) {
      err << "mpic deploy probe: " << config.error().detail << "\n";
      return 1;
    }
    address = LoopbackFor(config->listen());
    tls = config->tls();
    name = config->identity().name();
    if (!config->health_listen().empty()) health = LoopbackFor(config->health_listen());
  } else {
    auto config = perspective::LoadPrimaryConfig(*config_path);
    if (!config) {
      err << "mpic deploy probe: " << config.error().detail << "\n";
      return 1;
    }
    address = LoopbackFor(config->listen());
    tls = config->server_tls();
    name = config->identity().name();
    if (!config->health_listen().empty()) health = LoopbackFor(config->health_listen());
  }
  const std::string status = HealthCheck(address, &tls, name, timeout);
  out << role << " " << name << " at " << address << " (mTLS): " << status << "\n";
  bool serving = status == "SERVING";
  if (!health.empty()) {
    const std::string plain = HealthCheck(health, nullptr, name, timeout);
    out << role << " " << name << " at " << health << " (plaintext health): " << plain << "\n";
    serving = serving && plain == "SERVING";
  }
  return serving ? 0 : 1;
}

}  // namespace

namespace deploy {

Result<FileSet> RenderFleet(const std::string& fleet_json) {
  auto fleet = ParseFleet(fleet_json);
  if (!fleet) return Fail(fleet.error());
  if (auto st = CheckFleet(*fleet); !st) return Fail(st.error());

  FileSet files;
  const bool cert_manager = std::find(fleet->components.begin(), fleet->components.end(),
                                      "cert-manager") != fleet->components.end();
  const Site& p = fleet->primary;
  files[p.site + "/kustomization.yaml"] = KustomizationFor(*fleet, p, "va-primary", false);
  auto primary_json = ConfigFile(fleet->primary_config);
  if (!primary_json) return Fail(primary_json.error());
  files[p.site + "/va-primary.json"] = *primary_json;
  if (cert_manager) files[p.site + "/certificates-patch.yaml"] = CertificatesPatch(p, true);

  for (size_t i = 0; i < fleet->remotes.size(); ++i) {
    const Site& r = fleet->remotes[i];
    files[r.site + "/kustomization.yaml"] = KustomizationFor(*fleet, r, "va-remote", true);
    auto remote_json = ConfigFile(fleet->remote_configs[i]);
    if (!remote_json) return Fail(remote_json.error());
    files[r.site + "/va-remote.json"] = *remote_json;
    files[r.site + "/networkpolicy-patch.yaml"] = RemoteNetworkPolicyPatch(*fleet);
    if (cert_manager) files[r.site + "/certificates-patch.yaml"] = CertificatesPatch(r, false);
  }
  return files;
}

}  // namespace deploy

int RunDeploy(int argc, char** argv, int first, std::ostream& out, std::ostream& err) {
  if (argc <= first) {
    err << kUsage;
    return 2;
  }
  const std::string sub = argv[first];
  Flags flags({{"fleet", Flags::kValue},
               {"out", Flags::kValue},
               {"role", Flags::kValue},
               {"config", Flags::kValue},
               {"timeout-ms", Flags::kValue}});
  if (auto st = flags.Parse(argc, argv, first + 1); !st || !flags.positionals().empty()) {
    err << (st ? "mpic deploy: unexpected argument\n" : st.error().detail + "\n") << kUsage;
    return 2;
  }
  if (sub == "probe") return RunProbe(flags, out, err);
  if (sub != "render" && sub != "check") {
    err << "mpic deploy: unknown subcommand \"" << sub << "\"\n" << kUsage;
    return 2;
  }
  if (flags.Has("role") || flags.Has("config") || flags.Has("timeout-ms")) {
    err << kUsage;
    return 2;
  }
  const std::string fleet_path = flags.Get("fleet").value_or("deploy/k8s/fleet.json");
  const fs::path out_dir =
      flags.Get("out").value_or((fs::path(fleet_path).parent_path() / "overlays").string());
  auto text = ReadText(fleet_path);
  if (!text) {
    err << "mpic deploy: " << text.error().detail << "\n";
    return 2;
  }
  auto files = deploy::RenderFleet(*text);
  if (!files) {
    err << "mpic deploy: " << fleet_path << " refused: " << files.error().detail << "\n";
    return 1;
  }

  std::set<std::string> sites;
  for (const auto& [path, body] : *files) sites.insert(path.substr(0, path.find('/')));
  if (sub == "render") {
    for (const auto& [path, body] : *files) {
      const fs::path target = out_dir / path;
      std::error_code ec;
      fs::create_directories(target.parent_path(), ec);
      if (auto st = lab::WriteFile(target.string(), body, 0644); !st) {
        err << "mpic deploy: " << st.error().detail << "\n";
        return 1;
      }
    }
    out << "rendered " << sites.size() << " overlay(s) into " << out_dir.string() << "\n";
    return 0;
  }

  // check: every expected file identical, no file or folder nobody renders.
  int drift = 0;
  for (const auto& [path, body] : *files) {
    auto have = ReadText((out_dir / path).string());
    if (!have) {
      err << "drift: " << (out_dir / path).string() << " is missing\n";
      ++drift;
    } else if (*have != body) {
      err << "drift: " << (out_dir / path).string() << " differs from the fleet description\n";
      ++drift;
    }
  }
  std::error_code ec;
  for (fs::recursive_directory_iterator it(out_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string rel = fs::relative(it->path(), out_dir, ec).string();
    if (it->is_directory() ? !sites.contains(rel) : !files->contains(rel)) {
      err << "drift: " << it->path().string() << " is not rendered from the fleet description\n";
      ++drift;
      if (it->is_directory()) it.disable_recursion_pending();
    }
  }
  if (drift > 0) {
    err << "mpic deploy check: " << drift << " difference(s); run `mpic deploy render --fleet "
        << fleet_path << "`\n";
    return 1;
  }
  out << "fleet OK and " << sites.size() << " overlay(s) in " << out_dir.string()
      << " up to date\n";
  return 0;
}

}  // namespace mpic::tools
