#include "perspective/primary_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <sstream>

#include "perspective/config.h"
#include "quorum/fleet.h"
#include "quorum/selection.h"

namespace mpic::perspective {
namespace {

// Used for ranking when the whole pool is asked every time (no secret needed then): the
// selection is the full pool, only its order depends on the key, and retries find it exhausted.
constexpr std::string_view kWholePoolSecret = "mpic-whole-pool-no-selection";

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// The audit log must be appendable: an existing file writable, or a new one creatable in an
// existing writable directory. Nothing is created here (--check-config has no side effects).
void CheckAuditLog(const std::string& path, std::vector<std::string>* problems) {
  if (path.empty()) {
    problems->push_back("audit_log is required (BR 5.4.1: one record per decision)");
    return;
  }
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      problems->push_back("audit_log " + Quoted(path) + " is a directory");
    } else if (access(path.c_str(), W_OK) != 0) {
      problems->push_back("audit_log " + Quoted(path) +
                          " is not writable: " + std::strerror(errno));
    }
    return;
  }
  const std::size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  if (access(dir.c_str(), W_OK | X_OK) != 0) {
    problems->push_back("audit_log " + Quoted(path) + ": directory " + Quoted(dir) +
                        " is not writable: " + std::strerror(errno));
  }
}

// "host:port" or "[v6]:port", port 1..65535.
bool IsHostPort(std::string_view address) {
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == address.size()) return false;
  std::string_view host = address.substr(0, colon);
  std::string_view port = address.substr(colon + 1);
  if (port.size() > 5) return false;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return false;
  if (host.front() == '[') return host.size() > 2 && host.back() == ']';
  return host.find(':') == std::string_view::npos;
}

Result<quorum::Policy> PolicyFrom(const v1::PolicySettings& settings, const quorum::Date& today,
                                  std::vector<std::string>* warnings) {
  const bool research = settings.research_k() != 0 || settings.research_n() != 0 ||
                        settings.research_min_rirs() != 0 || settings.research_primary_optional();
  if (research || settings.research_not_br_compliant()) {
    if (!settings.research_not_br_compliant()) {
      return Fail(ProblemType::kMalformed,
                  "policy: research k-of-n settings need research_not_br_compliant: true "
                  "(a research policy is NOT BR 3.2.2.9 compliant)");
    }
    if (!settings.effective_date().empty()) {
      return Fail(ProblemType::kMalformed,
                  "policy: effective_date and research k-of-n settings are mutually exclusive");
    }
    if (settings.research_k() == 0 || settings.research_n() == 0) {
      return Fail(ProblemType::kMalformed,
                  "policy: research_not_br_compliant needs research_k and research_n");
    }
    auto policy = quorum::Policy::KOfN(
        static_cast<int>(settings.research_k()), static_cast<int>(settings.research_n()),
        static_cast<int>(settings.research_min_rirs()), !settings.research_primary_optional());
    if (!policy) return Fail(ProblemType::kMalformed, "policy: " + policy.error().detail);
    warnings->push_back("research policy in use: " + policy->Describe() +
                        " -- this primary is NOT BR 3.2.2.9 compliant and must not serve a "
                        "publicly-trusted CA");
    return policy;
  }
  if (settings.effective_date().empty()) {
    return Fail(ProblemType::kMalformed,
                "policy.effective_date is required (\"YYYY-MM-DD\" or \"today\")");
  }
  quorum::Date date = today;
  if (settings.effective_date() != "today") {
    auto parsed = quorum::ParseDate(settings.effective_date());
    if (!parsed) {
      return Fail(ProblemType::kMalformed, "policy.effective_date " +
                                               Quoted(settings.effective_date()) +
                                               ": expected \"YYYY-MM-DD\" or \"today\"");
    }
    date = *parsed;
  }
  auto policy = quorum::Policy::BaselineRequirements(date);
  if (!policy) return Fail(ProblemType::kMalformed, "policy: " + policy.error().detail);
  if (!policy->enforced()) {
    warnings->push_back("MPIC quorum not enforced: " + policy->Describe() +
                        " -- decisions follow the primary; the quorum is only logged");
  }
  return policy;
}

// An HTTP header name (RFC 9110 token), e.g. "x-api-key".
bool IsHeaderName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// "name value" lines; blank lines and '#' comments skipped.
void ReadApiKeys(const std::string& path, std::vector<OpenMpicApiKey>* keys,
                 std::vector<std::string>* problems) {
  const std::string where = "openmpic.api_keys_file " + Quoted(path);
  std::ifstream in(path);
  if (!in) {
    problems->push_back(where + " cannot be read: " + std::strerror(errno));
    return;
  }
  std::set<std::string> names, values;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::istringstream fields(line);
    std::string name, value, extra;
    if (!(fields >> name) || name.front() == '#') continue;
    const std::string at = where + " line " + std::to_string(number);
    if (!(fields >> value) || (fields >> extra)) {
      problems->push_back(at + ": expected \"name value\"");
      continue;
    }
    if (value.size() < kMinOpenMpicApiKeyLength) {
      problems->push_back(at + " (" + Quoted(name) + "): key shorter than " +
                          std::to_string(kMinOpenMpicApiKeyLength) + " characters");
      continue;
    }
    if (!names.insert(name).second) {
      problems->push_back(at + ": name " + Quoted(name) + " is used more than once");
      continue;
    }
    if (!values.insert(value).second) {
      problems->push_back(at + " (" + Quoted(name) + "): the same key is given twice");
      continue;
    }
    keys->push_back({name, value});
  }
  if (keys->empty() && problems->empty()) problems->push_back(where + " holds no key");
}

// PrimaryConfig.openmpic: served only when listen is set; TLS with client certificates unless
// plaintext in lab mode; API keys from a file, never inline.
OpenMpicOptions CheckOpenMpic(const v1::PrimaryConfig& config, std::vector<std::string>* problems) {
  OpenMpicOptions out;
  const v1::OpenMpicSettings& c = config.openmpic();
  if (c.listen().empty()) {
    if (c.ByteSizeLong() != 0) {
      problems->push_back("openmpic: settings given but openmpic.listen is empty");
    }
    return out;
  }
  out.enabled = true;
  out.listen = c.listen();
  if (Status ok = ValidateListenAddress(c.listen(), "openmpic.listen"); !ok) {
    problems->push_back(ok.error().detail);
  } else if (c.listen() == config.listen() &&
             config.listen().substr(config.listen().rfind(':')) != ":0") {
    problems->push_back("openmpic.listen " + Quoted(c.listen()) + " is the gRPC listen address");
  }
  out.plaintext = c.plaintext_lab_only();
  const bool tls_given = c.has_tls() && c.tls().ByteSizeLong() != 0;
  if (out.plaintext) {
    if (config.lab().allow_cidrs_size() == 0) {
      problems->push_back(
          "openmpic.plaintext_lab_only: plaintext is refused outside lab mode (lab.allow_cidrs)");
    }
    if (tls_given) problems->push_back("openmpic: both plaintext_lab_only and tls are set");
  } else if (tls_given) {
    if (Status ok = ValidateTlsFiles(c.tls(), "openmpic.tls"); !ok) {
      problems->push_back(ok.error().detail);
    }
    out.tls = c.tls();
  } else {
    out.tls = config.server_tls();  // checked as server_tls
  }
  if (!c.api_key_header().empty()) {
    if (!IsHeaderName(c.api_key_header())) {
      problems->push_back("openmpic.api_key_header " + Quoted(c.api_key_header()) +
                          " is not a header name");
    }
    out.api_key_header = c.api_key_header();
  }
  if (!c.api_keys_file().empty()) ReadApiKeys(c.api_keys_file(), &out.api_keys, problems);
  out.allow_monitoring = c.allow_monitoring();

  auto bounded = [&](const char* name, uint32_t value, uint32_t fallback, uint32_t min,
                     uint32_t max) -> uint32_t {
    if (value == 0) return fallback;
    if (value < min || value > max) {
      problems->push_back(std::string("openmpic.") + name + " " + std::to_string(value) +
                          " is outside " + std::to_string(min) + ".." + std::to_string(max));
    }
    return value;
  };
  out.max_attempts =
      static_cast<int>(bounded("max_attempts", c.max_attempts(), 1, 1, kMaxOpenMpicAttempts));
  out.max_body_bytes = bounded("max_body_bytes", c.max_body_bytes(), kDefaultOpenMpicMaxBodyBytes,
                               1024, kMaxOpenMpicMaxBodyBytes);
  out.read_timeout = std::chrono::milliseconds(bounded(
      "read_timeout_ms", c.read_timeout_ms(), kDefaultOpenMpicReadTimeoutMs, 100, kMaxTimeoutMs));
  out.backend_timeout = std::chrono::milliseconds(
      bounded("backend_timeout_ms", c.backend_timeout_ms(), 0, 100, kMaxOpenMpicBackendTimeoutMs));
  for (const std::string& domain : c.default_caa_domains()) {
    if (domain.empty() || domain.size() > 253 || domain.find_first_of(" /@") != std::string::npos) {
      problems->push_back("openmpic.default_caa_domains: " + Quoted(domain) +
                          " is not a domain name");
    }
    out.default_caa_domains.push_back(domain);
  }
  out.max_connections = bounded("max_connections", c.max_connections(),
                                kDefaultOpenMpicMaxConnections, 1, kMaxOpenMpicMaxConnections);
  return out;
}

// PrimaryConfig.method_timeouts: a known DCV method at most once, the same bounds and margin
// rules as the global values; fills out->method_deadlines and lengthens the longest bounds.
void CheckMethodTimeouts(const v1::PrimaryConfig& config, PrimarySettings* out,
                         std::vector<std::string>* problems) {
  for (int i = 0; i < config.method_timeouts_size(); ++i) {
    const v1::MethodTimeout& entry = config.method_timeouts(i);
    const std::string where = "method_timeouts[" + std::to_string(i) + "]";
    v1::Method method = v1::METHOD_UNSPECIFIED;
    if (!v1::Method_Parse(entry.method(), &method) || method == v1::METHOD_UNSPECIFIED ||
        method == v1::CAA) {
      std::string known;
      for (int m = v1::Method_MIN; m <= v1::Method_MAX; ++m) {
        if (!v1::Method_IsValid(m) || m == v1::METHOD_UNSPECIFIED || m == v1::CAA) continue;
        known += (known.empty() ? "" : ", ") + v1::Method_Name(static_cast<v1::Method>(m));
      }
      problems->push_back(where + ".method " + Quoted(entry.method()) +
                          " is not a DCV method (one of " + known + ")");
      continue;
    }
    const std::string name = where + " (" + entry.method() + ")";
    if (out->method_deadlines.count(method) != 0) {
      problems->push_back(name + ": method given more than once");
      continue;
    }
    if (entry.max_check_ms() == 0 && entry.remote_timeout_ms() == 0) {
      problems->push_back(name + ": sets neither max_check_ms nor remote_timeout_ms");
      continue;
    }
    MethodDeadlines deadlines{out->max_check, out->default_remote_timeout};
    if (entry.max_check_ms() != 0) {
      if (entry.max_check_ms() > kMaxTimeoutMs) {
        problems->push_back(name + ".max_check_ms " + std::to_string(entry.max_check_ms()) +
                            " exceeds " + std::to_string(kMaxTimeoutMs));
      }
      deadlines.max_check = std::chrono::milliseconds(entry.max_check_ms());
    }
    if (entry.remote_timeout_ms() != 0) {
      const uint32_t value = entry.remote_timeout_ms();
      if (value < kMinRemoteTimeoutMs) {
        problems->push_back(name + ".remote_timeout_ms " + std::to_string(value) + " is below " +
                            std::to_string(kMinRemoteTimeoutMs) +
                            ": a remote keeps up to 100 ms of the deadline to send its answer and "
                            "needs the rest to check");
      } else if (value > kMaxTimeoutMs) {
        problems->push_back(name + ".remote_timeout_ms " + std::to_string(value) + " exceeds " +
                            std::to_string(kMaxTimeoutMs));
      }
      deadlines.remote_timeout = std::chrono::milliseconds(value);
    }
    if (out->straggler_grace.count() > 0 && out->straggler_grace >= deadlines.remote_timeout) {
      problems->push_back("straggler_grace_ms " + std::to_string(out->straggler_grace.count()) +
                          " is not below " + name + "'s remote timeout " +
                          std::to_string(deadlines.remote_timeout.count()) +
                          ": every straggler reaches its RPC deadline before the grace ends");
    }
    out->remote_timeout = std::max(out->remote_timeout, deadlines.remote_timeout);
    out->longest_max_check = std::max(out->longest_max_check, deadlines.max_check);
    out->method_deadlines[method] = deadlines;
  }
}

}  // namespace

MethodDeadlines PrimarySettings::DeadlinesFor(v1::Method method) const {
  if (auto it = method_deadlines.find(method); it != method_deadlines.end()) return it->second;
  return MethodDeadlines{max_check, default_remote_timeout};
}

std::chrono::milliseconds PrimarySettings::RemoteTimeoutFor(const v1::RemoteEndpoint& remote,
                                                            v1::Method method) const {
  if (remote.timeout_ms() != 0) return std::chrono::milliseconds(remote.timeout_ms());
  return DeadlinesFor(method).remote_timeout;
}

Result<quorum::Rir> RirFromProto(v1::Rir rir) {
  switch (rir) {
    case v1::ARIN:
      return quorum::Rir::kArin;
    case v1::RIPE_NCC:
      return quorum::Rir::kRipeNcc;
    case v1::APNIC:
      return quorum::Rir::kApnic;
    case v1::LACNIC:
      return quorum::Rir::kLacnic;
    case v1::AFRINIC:
      return quorum::Rir::kAfrinic;
    default:
      break;
  }
  return Fail(ProblemType::kMalformed, "RIR is unspecified or unknown");
}

Result<quorum::Perspective> PerspectiveFromProto(const v1::PerspectiveIdentity& identity) {
  if (identity.name().empty()) return Fail(ProblemType::kMalformed, "identity.name is empty");
  auto rir = RirFromProto(identity.rir());
  if (!rir) {
    return Fail(ProblemType::kMalformed,
                "identity " + Quoted(identity.name()) + ": " + rir.error().detail);
  }
  if (!identity.has_location()) {
    return Fail(ProblemType::kMalformed,
                "identity " + Quoted(identity.name()) + ": location is required");
  }
  quorum::Perspective p{
      identity.name(), *rir,
      quorum::Location{identity.location().latitude(), identity.location().longitude()}};
  if (Status ok = quorum::ValidateLocation(p.location); !ok) {
    return Fail(ProblemType::kMalformed,
                "identity " + Quoted(identity.name()) + ": " + ok.error().detail);
  }
  return p;
}

std::string RateLimits::Describe() const {
  if (!enabled()) return "off";
  auto one = [](const RateLimitRule& r) {
    return r.enabled() ? std::to_string(r.per_minute) + "/min burst " + std::to_string(r.burst)
                       : std::string("off");
  };
  return "per account " + one(per_account) + ", per identifier " + one(per_identifier) +
         ", at most " + std::to_string(max_keys) + " keys each";
}

quorum::Date UtcToday() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  return quorum::Date{utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday};
}

Result<PrimarySettings> ValidatePrimaryConfig(const v1::PrimaryConfig& config,
                                              const quorum::Date& today) {
  std::vector<std::string> problems;
  PrimarySettings out;
  out.config = config;

  // Identity of the primary.
  bool primary_ok = false;
  if (Status ok = perspective::ValidateIdentity(config.identity(), "identity"); !ok) {
    problems.push_back("primary " + ok.error().detail);
  } else if (auto p = PerspectiveFromProto(config.identity()); p) {
    out.primary = *p;
    primary_ok = true;
  } else {
    problems.push_back("primary " + p.error().detail);
  }

  auto add = [&problems](const Status& status) {
    if (!status) problems.push_back(status.error().detail);
  };
  add(perspective::ValidateListenAddress(config.listen(), "listen"));
  if (!config.metrics_listen().empty()) {
    add(perspective::ValidateListenAddress(config.metrics_listen(), "metrics_listen"));
  }
  if (!config.health_listen().empty()) {
    add(perspective::ValidateListenAddress(config.health_listen(), "health_listen"));
  }

  // Mutual TLS both ways: towards the CA and towards the remotes (BR 3.2.2.9).
  add(perspective::ValidateTlsFiles(config.server_tls(), "server_tls"));
  add(perspective::ValidateTlsFiles(config.client_tls(), "client_tls"));
  CheckAuditLog(config.audit_log(), &problems);

  // Remotes: identities, unique names and addresses.
  std::set<std::string> names{config.identity().name()};
  std::set<std::string> addresses;
  bool remotes_ok = true;
  for (int i = 0; i < config.remotes_size(); ++i) {
    const v1::RemoteEndpoint& remote = config.remotes(i);
    const std::string where = "remotes[" + std::to_string(i) + "]";
    if (Status ok = perspective::ValidateIdentity(remote.identity(), where + ".identity"); !ok) {
      problems.push_back(ok.error().detail);
      remotes_ok = false;
      continue;
    }
    auto p = PerspectiveFromProto(remote.identity());
    if (!p) {
      problems.push_back(where + " " + p.error().detail);
      remotes_ok = false;
      continue;
    }
    if (!names.insert(p->name).second) {
      problems.push_back(where + ": perspective name " + Quoted(p->name) +
                         " is used more than once");
      remotes_ok = false;
    }
    if (!IsHostPort(remote.address())) {
      problems.push_back(where + " (" + Quoted(p->name) + "): address " + Quoted(remote.address()) +
                         " is not host:port");
    } else if (!addresses.insert(remote.address()).second) {
      problems.push_back(where + " (" + Quoted(p->name) + "): address " + Quoted(remote.address()) +
                         " is used by another remote (one process would count twice)");
    }
    out.remotes.push_back(*p);
  }

  add(perspective::ValidateLabSettings(config.lab(), "lab"));
  out.openmpic = CheckOpenMpic(config, &problems);
  add(perspective::ValidateResolverSettings(config.resolver(), config.lab(), "resolver"));
  add(perspective::ValidateAuthorizedPeers(config.authorized_clients(), config.lab(),
                                           "authorized_clients"));
  out.non_production = NonProductionReasons(config.lab());
  if (config.authorized_clients().empty() && IsLabMode(config.lab())) {
    out.non_production.push_back(
        "authorized_clients empty: any certificate signed by server_tls's CA may call Validate");
  }
  for (std::string& warning : ResolverWarnings(config.resolver())) {
    out.warnings.push_back(std::move(warning));
  }

  // Timeouts.
  auto ms = [&](const char* name, uint32_t value, uint32_t fallback, uint32_t max) {
    if (value > max) {
      problems.push_back(std::string(name) + " " + std::to_string(value) + " exceeds " +
                         std::to_string(max));
    }
    return std::chrono::milliseconds(value == 0 ? fallback : value);
  };
  out.remote_timeout =
      ms("remote_timeout_ms", config.remote_timeout_ms(), kDefaultRemoteTimeoutMs, kMaxTimeoutMs);
  out.max_check = ms("max_check_ms", config.max_check_ms(), kDefaultPrimaryMaxCheckMs, kMaxTimeoutMs);
  out.straggler_grace =
      ms("straggler_grace_ms", config.straggler_grace_ms(), 0, kMaxStragglerGraceMs);
  // Per-remote deadlines (RemoteEndpoint.timeout_ms): the same bounds; the longest bounds the
  // validation.
  const std::chrono::milliseconds default_remote_timeout = out.remote_timeout;
  for (int i = 0; i < config.remotes_size(); ++i) {
    const uint32_t own = config.remotes(i).timeout_ms();
    if (own == 0) continue;
    const std::string where =
        "remotes[" + std::to_string(i) + "].timeout_ms " + std::to_string(own);
    if (own < kMinRemoteTimeoutMs) {
      problems.push_back(where + " is below " + std::to_string(kMinRemoteTimeoutMs) +
                         " (no reply margin)");
    } else if (own > kMaxTimeoutMs) {
      problems.push_back(where + " exceeds " + std::to_string(kMaxTimeoutMs));
    }
    out.remote_timeout = std::max(out.remote_timeout, std::chrono::milliseconds(own));
  }
  // The remote keeps back min(100 ms, a tenth) of the deadline to reply in; a grace period that
  // outlasts the RPC deadline can never let a straggler in.
  if (config.remote_timeout_ms() != 0 && config.remote_timeout_ms() < kMinRemoteTimeoutMs) {
    problems.push_back("remote_timeout_ms " + std::to_string(config.remote_timeout_ms()) +
                       " is below " + std::to_string(kMinRemoteTimeoutMs) +
                       ": a remote keeps up to 100 ms of the deadline to send its answer and "
                       "needs the rest to check");
  }
  if (out.straggler_grace.count() > 0 && out.straggler_grace >= default_remote_timeout) {
    problems.push_back("straggler_grace_ms " + std::to_string(out.straggler_grace.count()) +
                       " is not below remote_timeout_ms " +
                       std::to_string(default_remote_timeout.count()) +
                       ": every straggler reaches its RPC deadline before the grace ends");
  }
  out.default_remote_timeout = default_remote_timeout;
  out.longest_max_check = out.max_check;
  CheckMethodTimeouts(config, &out, &problems);
  if (config.max_in_flight() > kMaxMaxInFlight) {
    problems.push_back("max_in_flight " + std::to_string(config.max_in_flight()) + " exceeds " +
                       std::to_string(kMaxMaxInFlight));
  }
  out.max_in_flight =
      static_cast<int>(config.max_in_flight() == 0 ? kDefaultMaxInFlight : config.max_in_flight());

  // Rate limits: each rule's numbers bounded; a burst without a rate is a mistake.
  auto rule = [&](const char* name, const v1::RateLimit& in) {
    RateLimitRule r;
    const std::string where = std::string("rate_limits.") + name;
    if (in.per_minute() > kMaxRateLimitPerMinute) {
      problems.push_back(where + ".per_minute " + std::to_string(in.per_minute()) + " exceeds " +
                         std::to_string(kMaxRateLimitPerMinute));
    }
    if (in.burst() > kMaxRateLimitBurst) {
      problems.push_back(where + ".burst " + std::to_string(in.burst()) + " exceeds " +
                         std::to_string(kMaxRateLimitBurst));
    }
    if (in.burst() != 0 && in.per_minute() == 0) {
      problems.push_back(where + ".burst is set but per_minute is 0 (the limit would be off): "
                         "set per_minute, or remove burst");
    }
    r.per_minute = in.per_minute();
    r.burst = in.burst() != 0 ? in.burst() : in.per_minute();
    return r;
  };
  out.rate_limits.per_account = rule("per_account", config.rate_limits().per_account());
  out.rate_limits.per_identifier = rule("per_identifier", config.rate_limits().per_identifier());
  if (config.rate_limits().max_keys() > kMaxRateLimitMaxKeys) {
    problems.push_back("rate_limits.max_keys " + std::to_string(config.rate_limits().max_keys()) +
                       " exceeds " + std::to_string(kMaxRateLimitMaxKeys));
  }
  if (config.rate_limits().max_keys() != 0) {
    out.rate_limits.max_keys = config.rate_limits().max_keys();
  }

  // Policy, cohort size, secret, and whether the fleet can meet the policy.
  auto policy = PolicyFrom(config.policy(), today, &out.warnings);
  if (!policy) {
    problems.push_back(policy.error().detail);
  } else {
    out.policy = *policy;
    if (auto phase = policy->phase(); phase && phase->mpic_required) {
      out.phase = quorum::FormatDate(phase->effective);
    }
    const int pool = config.remotes_size();
    int count = static_cast<int>(config.remotes_per_validation());
    if (count == 0) count = policy->min_remotes() > 0 ? policy->min_remotes() : pool;
    out.remotes_per_validation = count;
    if (count > pool) {
      problems.push_back("remotes_per_validation " + std::to_string(count) + " exceeds the " +
                         std::to_string(pool) + " remote(s) configured");
    }
    if (count < policy->min_remotes()) {
      problems.push_back("remotes_per_validation " + std::to_string(count) + " is below the " +
                         std::to_string(policy->min_remotes()) + " remote perspectives " +
                         policy->Describe() + " needs");
    }
    const std::string& secret = config.selection_secret();
    if (count < pool && secret.size() < quorum::kMinSelectionSecretBytes) {
      problems.push_back("selection_secret must be at least " +
                         std::to_string(quorum::kMinSelectionSecretBytes) +
                         " bytes when remotes_per_validation (" + std::to_string(count) +
                         ") is smaller than the pool (" + std::to_string(pool) + ")");
    } else if (!secret.empty() && secret.size() < quorum::kMinSelectionSecretBytes) {
      problems.push_back("selection_secret is " + std::to_string(secret.size()) +
                         " bytes; at least " + std::to_string(quorum::kMinSelectionSecretBytes) +
                         " required");
    }
    out.selection_secret = secret.empty() ? std::string(kWholePoolSecret) : secret;
    if (primary_ok && remotes_ok) {
      if (Status ok = quorum::ValidateFleet(*policy, out.primary, out.remotes); !ok) {
        problems.push_back(ok.error().detail);
      }
    }
  }

  if (problems.empty()) return out;
  std::string detail = "invalid primary configuration: ";
  for (std::size_t i = 0; i < problems.size(); ++i) {
    if (i > 0) detail += "; ";
    detail += problems[i];
  }
  return Fail(ProblemType::kMalformed, std::move(detail));
}

const std::vector<std::string>& PrimaryLiveFields() {
  static const std::vector<std::string> live = {
      "remotes",          "policy",         "remotes_per_validation", "selection_secret",
      "remote_timeout_ms", "straggler_grace_ms", "remotes_after_primary", "max_check_ms",
      "method_timeouts",  "authorized_clients", "max_in_flight",       "client_tls"};
  return live;
}

Result<PrimarySettings> CheckPrimaryReload(const v1::PrimaryConfig& running,
                                           const v1::PrimaryConfig& next,
                                           const quorum::Date& today) {
  auto settings = ValidatePrimaryConfig(next, today);
  if (!settings) return settings;
  const std::vector<std::string> restart = RestartOnlyChanges(running, next, PrimaryLiveFields());
  if (restart.empty()) return settings;
  std::string fields;
  for (const std::string& field : restart) fields += (fields.empty() ? "" : ", ") + field;
  return Fail(ProblemType::kMalformed,
              "restart to change " + fields + " (a reload applies only " + [] {
                std::string live;
                for (const std::string& f : PrimaryLiveFields()) {
                  live += (live.empty() ? "" : ", ") + f;
                }
                return live;
              }() + ")");
}

}  // namespace mpic::perspective
