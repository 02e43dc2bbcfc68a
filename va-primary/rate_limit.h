// Per-account and per-identifier rate limits at the primary (PrimaryConfig.rate_limits,
// docs/operations.md "Rate limits"): one token bucket per key, checked on every request (gRPC
// Validate and POST /mpic) before admission. A refused request gets RESOURCE_EXHAUSTED (HTTP
// 429) naming the limit; no perspective is asked and no audit record is written (no decision).
//
//   RateLimiter limiter({.account = {.per_minute = 60, .burst = 20},
//                        .identifier = {.per_minute = 10, .burst = 5}});
//   if (auto refused = limiter.Admit(request.account_uri, request.identifier)) {
//     return Finish(RESOURCE_EXHAUSTED, refused->message);  // refused->limit: "account" | ...
//   }
//
// Keys: the account URI exactly as sent (requests without one are not account-limited), and
// the identifier as CheckValidateRequest normalized it (lower-case, no trailing dot; a wildcard
// is the same key as its base name). Without the public suffix list there is no "registered
// domain": www.example.com and example.com are two keys.
//
// Bounded memory: at most `max_keys` buckets per limit, each keyed by a 16-byte digest of the
// key (fixed size whatever the key). When a table is full the least recently used bucket is
// evicted only if it has refilled completely (it then says nothing a fresh bucket would not);
// otherwise the new key is refused ("too many keys active") — failing closed, so an eviction
// never lets a request through that its own bucket would have refused.
//
// Thread-safe. The clock is injectable for tests (steady_clock::now by default).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "common/error.h"
#include "common/trace_context.h"
#include "perspective/primary_config.h"
#include "va-primary/request.h"

namespace mpic::va_primary {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  using Now = std::function<Clock::time_point()>;

  struct Rule {
    uint32_t per_minute = 0;  // tokens added per minute; 0: this limit is off
    uint32_t burst = 0;       // bucket size (requests allowed at once); 0: per_minute
    [[nodiscard]] bool enabled() const { return per_minute > 0; }
  };
  struct Options {
    Rule account;
    Rule identifier;
    std::size_t max_keys = 65536;  // per limit
  };

  // A refusal: which limit ("account" | "identifier") and the message the caller gets.
  struct Refusal {
    std::string limit;
    std::string message;
  };

  explicit RateLimiter(Options options, Now now = Clock::now);

  // Takes one token from each enabled limit's bucket, or none when either refuses (the refusal
  // names the first limit that refused: account, then identifier).
  [[nodiscard]] std::optional<Refusal> Admit(std::string_view account,
                                             std::string_view identifier);

  [[nodiscard]] bool enabled() const {
    return options_.account.enabled() || options_.identifier.enabled();
  }
  [[nodiscard]] const Options& options() const { return options_; }
  // Buckets tracked now, per limit (for tests and metrics).
  [[nodiscard]] std::size_t account_keys() const;
  [[nodiscard]] std::size_t identifier_keys() const;

  // "60/min burst 20" or "off".
  [[nodiscard]] static std::string Describe(const Rule& rule);

 private:
  using Key = std::array<uint8_t, 16>;
  struct KeyHash {
    std::size_t operator()(const Key& key) const;
  };
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
    std::list<Key>::iterator lru;  // position in Table::order
  };
  // One limit's buckets, least recently used first in `order`.
  struct Table {
    Rule rule;
    std::string name;
    std::unordered_map<Key, Bucket, KeyHash> buckets;
    std::list<Key> order;
  };
  enum class Verdict { kAllow, kLimited, kFull };

  static Key Digest(std::string_view name, std::string_view key);
  double Capacity(const Rule& rule) const;
  double Refilled(const Table& table, const Bucket& bucket, Clock::time_point now) const;
  // Whether one token could be taken now (no change); `*retry` how long until one can.
  Verdict Peek(Table& table, const Key& key, Clock::time_point now,
               std::chrono::milliseconds* retry) const;
  void Take(Table& table, const Key& key, Clock::time_point now);
  Refusal Refuse(const Table& table, Verdict verdict, std::chrono::milliseconds retry) const;

  const Options options_;
  Now now_;
  mutable std::mutex mutex_;
  Table account_;
  Table identifier_;
};

// The limiter as the server uses it on both APIs: the configured rules, the metrics
// mpic_primary_rate_limited_total{key="account"|"identifier"} and
// mpic_primary_rate_limit_keys{key=...}, and a "validation refused" log line per refusal.
class RateLimitGate {
 public:
  RateLimitGate(const perspective::RateLimits& limits, prometheus::Registry& registry,
                RateLimiter::Now now = RateLimiter::Clock::now);

  // OK, or kRateLimited whose detail names the limit (the caller answers RESOURCE_EXHAUSTED
  // or HTTP 429). `api`: "grpc" or "openmpic", for the log line.
  [[nodiscard]] Status Admit(const CheckedRequest& request, const trace::Context& trace,
                             std::string_view api = "grpc");

  [[nodiscard]] RateLimiter& limiter() { return limiter_; }

 private:
  RateLimiter limiter_;
  prometheus::Family<prometheus::Counter>& limited_;
  prometheus::Counter& limited_account_;
  prometheus::Counter& limited_identifier_;
  prometheus::Family<prometheus::Gauge>& keys_;
  prometheus::Gauge& keys_account_;
  prometheus::Gauge& keys_identifier_;
};

}  // namespace mpic::va_primary
