// One fleet member -- a va-remote or the va-primary -- from a description to a running, ready
// process: the config it is given (written as JSON), the process (optionally inside a network
// namespace) and its ready file. The one way every local fleet starts its servers: LocalFleet
// (`mpic fleet`, the benchmarks, the integration tests) and `mpic netsim fleet` (netsim's
// members in network namespaces).
//
//   RemoteSpec remote;
//   remote.member.identity = RemoteIdentities()[0];
//   remote.member.pki_dir = dir + "/pki";            // ca.pem, eu-fra-1.pem, eu-fra-1.key
//   remote.member.resolver = ...;  remote.member.lab = ...;
//   remote.authorized_primaries = {"us-east-iad-1"};
//   auto m = LaunchRemote(remote, "build/bin", FleetDirs::Under(dir));
//   if (!m) return Fail(m.error());
//   if (auto st = AwaitReady({&*m}, 30s, [] { return false; }); !st) return st;
//   ... m->address ...
//
// A member in a network namespace runs as `ip netns exec NS BINARY --config FILE`: `ip` enters
// the namespace and execs the binary in place (no fork), so the child keeps the pid, process
// group and PR_SET_PDEATHSIG that ChildProcess gave it, and `ip`'s per-namespace conventions
// (/etc/netns/NS, a /sys of the namespace) apply as for every other netsim process.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "lab/child_process.h"
#include "mpic/v1/common.pb.h"
#include "mpic/v1/config.pb.h"

namespace mpic::lab {

// Where a fleet keeps its files: DIR/config/FILE.json, DIR/run/FILE.ready, DIR/logs/FILE.log.
struct FleetDirs {
  std::string config, run, logs;
  [[nodiscard]] static FleetDirs Under(const std::string& dir);
  // Creates the three directories.
  [[nodiscard]] Status Create() const;
};

// What a va-remote and the va-primary have in common.
struct MemberSpec {
  v1::PerspectiveIdentity identity;  // name required
  // Base name of its config, ready and log files; "" for identity.name.
  std::string file_name;
  std::string netns;                           // network namespace to run in; "": this one
  std::string listen = "127.0.0.1:0";          // gRPC "host:port" (port 0: any)
  std::string metrics_listen = "127.0.0.1:0";  // Prometheus; "": off
  std::string pki_dir;                         // ca.pem and NAME.pem/NAME.key (lab::Pki)
  v1::ResolverSettings resolver;
  v1::LabSettings lab;
  uint32_t max_check_ms = 10000;

  [[nodiscard]] std::string FileName() const;
};

struct RemoteSpec {
  MemberSpec member;
  uint32_t max_concurrent = 64;
  std::vector<std::string> authorized_primaries;  // certificate names allowed to call Check
};

struct PrimarySpec {
  MemberSpec member;
  std::vector<v1::RemoteEndpoint> remotes;
  v1::PolicySettings policy;
  uint32_t remotes_per_validation = 0;  // 0: every remote in `remotes`
  std::string selection_secret;         // "": a fresh random one
  uint32_t remote_timeout_ms = 10000;
  uint32_t straggler_grace_ms = 2000;
  std::string audit_log;                         // required
  std::vector<std::string> authorized_clients;   // certificate names allowed to call Validate
  std::optional<v1::OpenMpicSettings> openmpic;  // the Open MPIC REST API; off when unset
};

// The configs the servers are given (TLS files from pki_dir by identity name; the primary
// uses one certificate towards the CA and towards the remotes).
[[nodiscard]] v1::RemoteConfig RemoteConfigFor(const RemoteSpec& spec,
                                               const std::string& ready_file);
[[nodiscard]] v1::PrimaryConfig PrimaryConfigFor(const PrimarySpec& spec,
                                                 const std::string& ready_file);

// The command a member runs: BINARY --config FILE, behind `ip netns exec NS` when `netns` is set.
[[nodiscard]] std::vector<std::string> MemberArgv(const std::string& binary,
                                                  const std::string& config_file,
                                                  const std::string& netns);

// A started member; address/metrics/openmpic are filled by AwaitReady from its ready file.
struct FleetMember {
  v1::PerspectiveIdentity identity;
  std::string address;   // gRPC, from the ready file
  std::string metrics;   // Prometheus, from the ready file ("" when off)
  std::string openmpic;  // the primary's Open MPIC REST API "host:port" ("" when off)
  std::string config_file;
  std::string ready_file;
  std::optional<ChildProcess> process;
};

// Writes the member's config, removes a stale ready file and starts BIN_DIR/va-remote or
// BIN_DIR/va-primary (its output to DIRS.logs/FILE.log). Does not wait for it.
[[nodiscard]] Result<FleetMember> LaunchRemote(const RemoteSpec& spec, const std::string& bin_dir,
                                               const FleetDirs& dirs);
[[nodiscard]] Result<FleetMember> LaunchPrimary(const PrimarySpec& spec, const std::string& bin_dir,
                                                const FleetDirs& dirs);

// Waits until each member's ready file names its address (bounded by `timeout`; `interrupted`
// is polled). Fails with the member's name, how it ended and the tail of its log when one exits
// first; with the names of those not ready when the time is up.
[[nodiscard]] Status AwaitReady(std::vector<FleetMember*> members,
                                std::chrono::milliseconds timeout,
                                const std::function<bool()>& interrupted);

// Stops `primary` (if any) first, then all `remotes` at once (SIGTERM, bounded wait, SIGKILL).
void StopMembers(FleetMember* primary, std::vector<FleetMember>& remotes);

}  // namespace mpic::lab
