// The resolver interface every check uses. A `Resolver` hands out `Session`s; a session is the
// resolver state of ONE validation at ONE perspective. The libunbound backend gives each session
// a pristine context (no cache shared with any other validation or perspective: BR §3.2.2.9,
// docs/architecture.md, Pitfalls), the c-ares backend a fresh channel to a configured recursive resolver.
//
//   auto session = resolver.NewSession();
//   session->Lookup("www.example.com", dns::kA, Deadline(2s), [](LookupResult r) {
//     if (!r) { /* r.error(): SERVFAIL, bogus, timeout, bad name: never data */ return; }
//     for (const auto& rr : r->records) use(rr.rdata_text);
//   });
//
// Callbacks run on the session's executor (never inside a library thread), exactly once per
// Lookup, also when the session is destroyed or cancelled first (with a cancelled error).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/dns_wire.h"
#include "common/error.h"

namespace mpic::resolver {

enum class DnssecStatus {
  kSecure,    // validated chain of trust from the trust anchor
  kInsecure,  // provably unsigned (RFC 4035 §4.3), or not validated by a stub without AD
  kBogus,     // validation failed: never data
};

[[nodiscard]] std::string_view DnssecStatusName(DnssecStatus status);

// Everything one lookup learned, whether or not it is usable as data.
struct Answer {
  std::string name;  // the queried name, FQDN form ("www.example.com.")
  uint16_t type = 0;
  uint16_t rcode = dns::kNoError;
  DnssecStatus dnssec = DnssecStatus::kInsecure;
  std::string why_bogus;                // set when dnssec == kBogus
  std::vector<std::string> cname_chain;  // aliases followed, in order, from `name`
  std::string canonical_name;            // where the chain ended (== name without CNAMEs)
  std::vector<dns::Record> records;      // RRs of `type` at canonical_name (no RRSIGs)
  std::string server;                    // which server answered, where known ("" if not)
  std::chrono::microseconds elapsed{0};

  bool nxdomain() const { return rcode == dns::kNxDomain; }
};

// A lookup that produced no usable data. `answer` holds what was learned (for audit and
// evidence: a bogus answer's status and reason, a SERVFAIL rcode), but is never data.
struct LookupError {
  Error error;                  // type kDns (or kMalformed for a bad name)
  std::optional<Answer> answer;  // present when the resolver produced a response
  bool timed_out = false;
};

using LookupResult = tl::expected<Answer, LookupError>;
using LookupCallback = std::function<void(LookupResult)>;

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

class Session {
 public:
  virtual ~Session() = default;

  // Starts one lookup. `name` is validated first (RFC 1035 limits, character set); a bad name
  // fails through the callback with kMalformed before any query leaves. Accepted answers are
  // rcode NOERROR or NXDOMAIN with a secure or insecure status; everything else is an error.
  virtual void Lookup(std::string_view name, uint16_t type, Deadline deadline,
                      LookupCallback callback) = 0;

  // Fails every pending lookup with a cancelled error; the session may not be used after.
  virtual void Cancel() = 0;
};

class Resolver {
 public:
  virtual ~Resolver() = default;

  // A session whose state no other session shares.
  [[nodiscard]] virtual std::unique_ptr<Session> NewSession() = 0;

  // "unbound(root-hints=..., trust-anchor=...)" or "stub(127.0.0.1:53, require-ad)".
  [[nodiscard]] virtual std::string Describe() const = 0;
};

}  // namespace mpic::resolver
