// A complete MPIC fleet on loopback, for the demo and integration tests: the DNS lab (real NSD,
// DNSSEC-signed), a challenge responder (pebble-challtestsrv on lab addresses), a fresh PKI,
// one va-primary and N va-remote processes with realistic identities (five RIRs, cities
// thousands of km apart), all in lab mode and resolving from the lab's root.
//
//   LocalFleet::Options options;
//   options.dir = "/tmp/f";
//   options.bin_dir = "build/bin";
//   auto fleet = LocalFleet::Start(options, std::cerr, [] { return false; });
//   if (!fleet) die((*fleet).error().detail);
//   (*fleet)->lab().Set("secure.lab.", "http.secure.lab.", "A",
//                       {(*fleet)->responder().http_address});
//   (*fleet)->AddHttp01(token, key_authorization);
//   ... mpic::lab::DialPrimary((*fleet)->primary().address, (*fleet)->client_tls()) ...
//   (*fleet)->Stop(std::cerr);  // also done by the destructor
//
// With Options::openmpic (the default) the primary also serves POST /mpic on
// primary().openmpic (OpenMpicCurl() prints a curl line for it).
//
// Everything started is a child of this process tied to the calling thread (PR_SET_PDEATHSIG):
// call Start() and Stop() on the main thread.
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "lab/child_process.h"
#include "lab/dnslab.h"
#include "lab/fleet_member.h"
#include "lab/primary_client.h"
#include "mpic/v1/common.pb.h"
#include "mpic/v1/config.pb.h"

namespace mpic::lab {

// The primary's identity and the pool remotes are taken from, in order. The first five span
// all five RIRs; every pair (primary included) is more than 500 km apart.
[[nodiscard]] v1::PerspectiveIdentity PrimaryIdentity();
[[nodiscard]] const std::vector<v1::PerspectiveIdentity>& RemoteIdentities();

class LocalFleet {
 public:
  struct Options {
    int remotes = 5;
    std::string dir;      // working directory (created if missing); must be set
    std::string bin_dir;  // where va-primary and va-remote are
    std::string responder = "pebble-challtestsrv";
    uint16_t http_port = 5002;  // the responder's HTTP-01 port (lab mode: instead of 80)
    uint16_t tls_port = 5001;   // its TLS-ALPN-01 port (lab mode: instead of 443)
    uint16_t management_port = 8055;
    std::chrono::milliseconds ready_timeout{30000};  // per phase: remotes, then the primary
    // false: no responder process is started; its addresses (lab free addresses 0..2) are
    // still reserved, and the caller serves HTTP-01 / TLS-ALPN-01 there itself (benchmarks).
    bool start_responder = true;
    // A lab server's role or zone ("insecure"): every member resolves through a c-ares stub
    // sent straight to that authoritative server, trusting answers without the AD bit
    // (benchmark mode (a), comparable with other VAs' test setups; NOT a production
    // configuration). Empty: the validating path from the lab's root.
    std::string stub_lab_server;
    uint32_t straggler_grace_ms = 2000;  // long enough that every row shows its own result
    uint32_t max_concurrent = 64;        // per va-remote
    // The BR §3.2.2.9 phase the primary applies ("YYYY-MM-DD" or "today"); fleets smaller
    // than today's minimum need an earlier phase.
    std::string effective_date = "today";
    // Remotes asked per validation; 0: every remote. Smaller than `remotes` leaves room for
    // retries on disjoint cohorts (the Open MPIC max_attempts).
    int remotes_per_validation = 0;
    // The Open MPIC REST API on the primary (docs/openmpic.md): on loopback, mutual TLS with
    // the CA-side client certificate (client_tls()); plaintext only if asked (lab mode).
    bool openmpic = true;
    bool openmpic_plaintext = false;
    uint32_t openmpic_max_attempts = 2;  // the cap on a request's max_attempts
    bool openmpic_allow_monitoring = false;
    // A file of `name value` API keys (OpenMpicSettings.api_keys_file): with it a request may
    // authenticate with the key header instead of a client certificate.
    std::string openmpic_api_keys_file;
    // The user's own DNS hierarchy and web servers (`mpic fleet up --root-hints ...`): with
    // root_hints_file set, neither the DNS lab nor the responder is started; every member
    // resolves from these files (libunbound, DNSSEC-validating from that root) and may connect
    // to the allow_cidrs ranges only, on http_port / tls_port. The lab-range rules of the
    // perspective configuration apply (loopback and documentation ranges; private ones only
    // with allow_private_ranges). lab() must then not be used (has_lab() is false).
    std::string root_hints_file;
    std::string trust_anchor_file;
    std::vector<std::string> allow_cidrs;
    bool allow_private_ranges = false;
    // With the embedded lab: more ranges the members may connect to, beside the lab's
    // 127.A.B.0/24 (the same lab-range rules apply: loopback and documentation ranges), and
    // more addresses the responder's HTTP-01 and TLS-ALPN-01 listeners bind (on http_port /
    // tls_port; an IPv6 address is written without brackets). Both for a test that owns these
    // addresses, e.g. 2001:db8::/32 on `lo` of a network namespace it created itself
    // (tests/integration/openmpic_ipv6_lab_test.cc).
    std::vector<std::string> lab_extra_cidrs;
    std::vector<std::string> responder_extra_addresses;
  };

  // A started va-remote or va-primary (lab/fleet_member.h, the launcher every fleet uses).
  using Member = FleetMember;

  struct Responder {
    std::string http_address;  // ADDR (port is Options::http_port)
    std::string tls_address;
    std::string management_address;
    std::optional<ChildProcess> process;
  };

  // Starts everything, printing one line per step to `progress`. `interrupted` is polled
  // during every wait; when it returns true, Start stops what it started and fails.
  [[nodiscard]] static Result<std::unique_ptr<LocalFleet>> Start(
      const Options& options, std::ostream& progress, const std::function<bool()>& interrupted);

  ~LocalFleet();
  LocalFleet(const LocalFleet&) = delete;
  LocalFleet& operator=(const LocalFleet&) = delete;

  // Stops the primary, the remotes, the responder and the lab, in that order (bounded).
  void Stop(std::ostream* progress = nullptr);

  // Responder content through its management API.
  [[nodiscard]] Status AddHttp01(const std::string& token, const std::string& content);
  [[nodiscard]] Status AddTlsAlpn01(const std::string& host, const std::string& key_authorization);

  // Names of members (and the responder) that are no longer running, with how they ended and
  // the end of their logs; "" when all run.
  [[nodiscard]] std::string DeadMembers();
  // As DeadMembers, for the va-primary and the responder only: the fleet cannot validate
  // without them (a remote may die and the quorum still hold, see RemotesRunning).
  [[nodiscard]] std::string DeadCore();
  // Parallel to remotes(): whether each still runs (reaping those that ended, whose
  // process->how_it_ended() then says how).
  [[nodiscard]] std::vector<bool> RemotesRunning();

  [[nodiscard]] bool has_lab() const { return lab_ != nullptr; }
  [[nodiscard]] DnsLab& lab() { return *lab_; }
  [[nodiscard]] const DnsLab& lab() const { return *lab_; }
  [[nodiscard]] const Member& primary() const { return primary_; }
  [[nodiscard]] const std::vector<Member>& remotes() const { return remotes_; }
  [[nodiscard]] const Responder& responder() const { return responder_; }
  [[nodiscard]] const Options& options() const { return options_; }
  // The CA-side client certificate for mpic validate.
  [[nodiscard]] const ClientTlsFiles& client_tls() const { return client_tls_; }
  [[nodiscard]] const std::string& audit_log() const { return audit_log_; }
  [[nodiscard]] const std::string& logs_dir() const { return logs_dir_; }
  // "https://127.0.0.1:PORT" (or http:// when plaintext); "" when the API is off.
  [[nodiscard]] std::string OpenMpicUrl() const;
  // A curl command line that POSTs `body` to /mpic with the right client certificate.
  [[nodiscard]] std::string OpenMpicCurl(const std::string& body) const;

 private:
  LocalFleet() = default;
  Status StartResponder(std::ostream& progress, const std::function<bool()>& interrupted);
  // The resolver and lab settings every member gets (the embedded lab's, or the user's own).
  v1::ResolverSettings ResolverConfig() const;
  v1::LabSettings LabConfig() const;
  Status WritePki();
  Status StartRemotes(std::ostream& progress, const std::function<bool()>& interrupted);
  Status StartPrimary(std::ostream& progress, const std::function<bool()>& interrupted);
  // A member's description as every member of this fleet has it: loopback, the lab's
  // resolver and addresses, this fleet's PKI.
  [[nodiscard]] MemberSpec MemberFor(const v1::PerspectiveIdentity& identity) const;

  Options options_;
  std::unique_ptr<DnsLab> lab_;
  Responder responder_;
  Member primary_;
  std::vector<Member> remotes_;
  ClientTlsFiles client_tls_;
  std::string pki_dir_, config_dir_, logs_dir_, run_dir_;
  std::string audit_log_;
};

}  // namespace mpic::lab
