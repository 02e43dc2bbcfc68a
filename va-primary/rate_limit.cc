#include "va-primary/rate_limit.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "common/log.h"

namespace mpic::va_primary {

RateLimiter::RateLimiter(Options options, Now now) : options_(options), now_(std::move(now)) {
  account_.rule = options_.account;
  account_.name = "account";
  identifier_.rule = options_.identifier;
  identifier_.name = "identifier";
  if (!now_) now_ = Clock::now;
}

std::size_t RateLimiter::KeyHash::operator()(const Key& key) const {
  std::size_t out = 0;
  std::memcpy(&out, key.data(), std::min(sizeof(out), key.size()));
  return out;
}

RateLimiter::Key RateLimiter::Digest(std::string_view name, std::string_view key) {
  std::string input(name);
  input.push_back('\0');
  input.append(key);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  Key out{};
  if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha256(), nullptr) == 1 &&
      length >= out.size()) {
    std::memcpy(out.data(), digest, out.size());
  } else {
    // Never reached in practice; std::hash keeps distinct keys apart well enough.
    const std::size_t h = std::hash<std::string>{}(input);
    std::memcpy(out.data(), &h, sizeof(h));
  }
  return out;
}

double RateLimiter::Capacity(const Rule& rule) const {
  return static_cast<double>(rule.burst > 0 ? rule.burst : rule.per_minute);
}

double RateLimiter::Refilled(const Table& table, const Bucket& bucket,
                             Clock::time_point now) const {
  const double seconds =
      std::max(0.0, std::chrono::duration<double>(now - bucket.updated).count());
  const double rate = static_cast<double>(table.rule.per_minute) / 60.0;
  return std::min(Capacity(table.rule), bucket.tokens + seconds * rate);
}

RateLimiter::Verdict RateLimiter::Peek(Table& table, const Key& key, Clock::time_point now,
                                       std::chrono::milliseconds* retry) const {
  if (!table.rule.enabled()) return Verdict::kAllow;
  const double rate = static_cast<double>(table.rule.per_minute) / 60.0;
  auto it = table.buckets.find(key);
  if (it != table.buckets.end()) {
    const double tokens = Refilled(table, it->second, now);
    if (tokens >= 1.0) return Verdict::kAllow;
    *retry =
        std::chrono::milliseconds(static_cast<int64_t>(std::ceil((1.0 - tokens) / rate * 1000)));
    return Verdict::kLimited;
  }
  if (table.buckets.size() < std::max<std::size_t>(options_.max_keys, 1)) return Verdict::kAllow;
  // Full: the least recently used bucket may go only if it has refilled completely.
  const Bucket& oldest = table.buckets.at(table.order.front());
  const double tokens = Refilled(table, oldest, now);
  if (tokens >= Capacity(table.rule)) return Verdict::kAllow;
  *retry = std::chrono::milliseconds(
      static_cast<int64_t>(std::ceil((Capacity(table.rule) - tokens) / rate * 1000)));
  return Verdict::kFull;
}

void RateLimiter::Take(Table& table, const Key& key, Clock::time_point now) {
  if (!table.rule.enabled()) return;
  auto it = table.buckets.find(key);
  if (it != table.buckets.end()) {
    Bucket& bucket = it->second;
    bucket.tokens = Refilled(table, bucket, now) - 1.0;
    bucket.updated = now;
    table.order.splice(table.order.end(), table.order, bucket.lru);
    return;
  }
  if (table.buckets.size() >= std::max<std::size_t>(options_.max_keys, 1)) {
    table.buckets.erase(table.order.front());  // Peek checked it has refilled
    table.order.pop_front();
  }
  table.order.push_back(key);
  Bucket bucket;
  bucket.tokens = Capacity(table.rule) - 1.0;
  bucket.updated = now;
  bucket.lru = std::prev(table.order.end());
  table.buckets.emplace(key, bucket);
}

std::string RateLimiter::Describe(const Rule& rule) {
  if (!rule.enabled()) return "off";
  return std::to_string(rule.per_minute) + "/min burst " +
         std::to_string(rule.burst > 0 ? rule.burst : rule.per_minute);
}

RateLimiter::Refusal RateLimiter::Refuse(const Table& table, Verdict verdict,
                                         std::chrono::milliseconds retry) const {
  const std::string field = table.name == "account" ? "per_account" : "per_identifier";
  const std::string seconds = std::to_string((retry.count() + 999) / 1000);
  if (verdict == Verdict::kFull) {
    return {table.name, "rate limited: the per-" + table.name + " limit (rate_limits." + field +
                            " " + Describe(table.rule) + ") is tracking " +
                            std::to_string(options_.max_keys) +
                            " active keys (rate_limits.max_keys) and cannot take a new one; "
                            "retry in " + seconds + " s"};
  }
  return {table.name, "rate limited: per-" + table.name + " limit (rate_limits." + field + " " +
                          Describe(table.rule) + ") exceeded for this " + table.name +
                          "; retry in " + seconds + " s"};
}

std::optional<RateLimiter::Refusal> RateLimiter::Admit(std::string_view account,
                                                       std::string_view identifier) {
  if (!enabled()) return std::nullopt;
  const bool account_limited = account_.rule.enabled() && !account.empty();
  const Key account_key = account_limited ? Digest("account", account) : Key{};
  const Key identifier_key = Digest("identifier", identifier);
  std::lock_guard<std::mutex> lock(mutex_);
  const Clock::time_point now = now_();
  std::chrono::milliseconds retry{0};
  if (account_limited) {
    if (Verdict v = Peek(account_, account_key, now, &retry); v != Verdict::kAllow) {
      return Refuse(account_, v, retry);
    }
  }
  if (Verdict v = Peek(identifier_, identifier_key, now, &retry); v != Verdict::kAllow) {
    return Refuse(identifier_, v, retry);
  }
  if (account_limited) Take(account_, account_key, now);
  Take(identifier_, identifier_key, now);
  return std::nullopt;
}

std::size_t RateLimiter::account_keys() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return account_.buckets.size();
}

std::size_t RateLimiter::identifier_keys() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return identifier_.buckets.size();
}

namespace {

RateLimiter::Options LimiterOptions(const perspective::RateLimits& limits) {
  RateLimiter::Options o;
  o.account = {limits.per_account.per_minute, limits.per_account.burst};
  o.identifier = {limits.per_identifier.per_minute, limits.per_identifier.burst};
  o.max_keys = limits.max_keys;
  return o;
}

}  // namespace

RateLimitGate::RateLimitGate(const perspective::RateLimits& limits,
                             prometheus::Registry& registry, RateLimiter::Now now)
    : limiter_(LimiterOptions(limits), std::move(now)),
      limited_(prometheus::BuildCounter()
                   .Name("mpic_primary_rate_limited_total")
                   .Help("Requests refused by the rate limits (RESOURCE_EXHAUSTED / HTTP 429), "
                         "by the limit that refused")
                   .Register(registry)),
      limited_account_(limited_.Add({{"key", "account"}})),
      limited_identifier_(limited_.Add({{"key", "identifier"}})),
      keys_(prometheus::BuildGauge()
                .Name("mpic_primary_rate_limit_keys")
                .Help("Keys (buckets) the rate limits track now, per limit")
                .Register(registry)),
      keys_account_(keys_.Add({{"key", "account"}})),
      keys_identifier_(keys_.Add({{"key", "identifier"}})) {}

Status RateLimitGate::Admit(const CheckedRequest& request, const trace::Context& trace,
                            std::string_view api) {
  if (!limiter_.enabled()) return {};
  auto refused = limiter_.Admit(request.account_uri, request.identifier);
  keys_account_.Set(static_cast<double>(limiter_.account_keys()));
  keys_identifier_.Set(static_cast<double>(limiter_.identifier_keys()));
  if (!refused) return {};
  (refused->limit == "account" ? limited_account_ : limited_identifier_).Increment();
  log::Warning("validation refused", {{"code", "RESOURCE_EXHAUSTED"},
                                      {"api", std::string(api)},
                                      {"limit", refused->limit},
                                      {"identifier", request.identifier},
                                      {"trace_id", trace.trace_id},
                                      {"error", refused->message}});
  return Fail(ProblemType::kRateLimited, refused->message);
}

}  // namespace mpic::va_primary
