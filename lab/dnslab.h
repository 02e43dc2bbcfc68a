#pragma once
// DnsLab: a private DNSSEC-signed DNS hierarchy (root ".", TLD "lab.", and the zones
// secure/insecure/bogus/expired/dead.lab.) served by real NSD processes on a loopback
// block 127.A.B.0/24 that no other lab uses at the same time. Each DnsLab is a child
// process (lab/dnslab.py, installed as share/mpic/dnslab/dnslab.py: lab/data_dir.h) driven
// over a socket; see lab/README.md for the address plan and what each zone proves.
//
//   auto lab = mpic::lab::DnsLab::Start();
//   ASSERT_TRUE(lab.has_value()) << lab.error();
//   // libunbound: "root-hints:" (*lab)->root_hints_file(),
//   //             ub_ctx_add_ta_file(ctx, (*lab)->trust_anchor_file().c_str()),
//   //             "do-not-query-localhost:" "no".
//   ASSERT_TRUE((*lab)->Set("secure.lab.", "www.secure.lab.", "A",
//                           {(*lab)->free_address(0)}).has_value());
//   // ... run an HTTP server on free_address(0) and validate www.secure.lab ...
//   // Destroying the lab stops every NSD and removes its directory.
//
// Start() must run on a thread that outlives the lab: the child is tied to that thread
// with PR_SET_PDEATHSIG (a thread exit would stop the lab). Calls on one DnsLab are
// serialized internally; several DnsLabs may run at once, also across processes.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace mpic::lab {

class DnsLab {
 public:
  // Spawns the lab in a fresh temporary directory and waits (bounded, ~30 s) until every
  // server answers. The error says why it could not start (the script's own messages go
  // to this process's stderr).
  static tl::expected<std::unique_ptr<DnsLab>, std::string> Start();

  // Stops the lab (bounded: "stop", then SIGKILL after ~10 s) and removes its directory.
  ~DnsLab();
  DnsLab(const DnsLab&) = delete;
  DnsLab& operator=(const DnsLab&) = delete;

  // Zone-file of NS + A records for the lab's root server (unbound "root-hints:").
  const std::string& root_hints_file() const { return root_hints_file_; }
  // The root's DS in presentation format (unbound "trust-anchor-file:"). Rekey(".")
  // rewrites it in place.
  const std::string& trust_anchor_file() const { return trust_anchor_file_; }
  // The lab's block, e.g. "127.123.45" (servers on .1-.7, data on .200-.203).
  const std::string& block() const { return block_; }
  // Working directory (zones, keys, NSD configs and logs, lab.json).
  const std::string& dir() const { return dir_; }
  // Address of a server by role ("root", "tld", "secure", "insecure", "bogus", "expired",
  // "dead") or by zone ("secure.lab." or "secure.lab"); empty if unknown.
  std::string server(std::string_view role_or_zone) const;
  // Addresses of the block no lab server uses, for a test's own servers; empty past the end.
  std::string free_address(std::size_t i) const;
  std::size_t free_address_count() const { return free_addresses_.size(); }
  // The whole descriptor (DIR/lab.json), for fields without an accessor.
  const nlohmann::json& descriptor() const { return descriptor_; }

  // Replaces the RRset (name, type) of zone with rdata in presentation form (empty rdata
  // deletes it), re-signs the zone as its kind requires and returns once the zone's
  // server serves it. `name` may be relative to the zone.
  tl::expected<void, std::string> Set(std::string_view zone, std::string_view name,
                                      std::string_view type, std::vector<std::string> rdata,
                                      int ttl = 60);
  // New keys for a signed zone, new DS in its parent; returns once both serve them.
  tl::expected<void, std::string> Rekey(std::string_view zone);

 private:
  DnsLab() = default;
  tl::expected<nlohmann::json, std::string> Command(const nlohmann::json& request);
  tl::expected<std::string, std::string> ReadLine(std::chrono::steady_clock::time_point deadline);
  tl::expected<void, std::string> WriteAll(std::string_view data,
                                           std::chrono::steady_clock::time_point deadline);
  void Shutdown();

  pid_t pid_ = -1;
  int fd_ = -1;
  std::string buffer_;
  std::mutex mutex_;
  std::string dir_;
  std::string root_hints_file_;
  std::string trust_anchor_file_;
  std::string block_;
  std::vector<std::string> free_addresses_;
  nlohmann::json descriptor_;
};

}  // namespace mpic::lab
