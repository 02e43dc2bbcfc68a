// Prometheus metrics of the checks a perspective runs, the same for the primary's own checks
// and a remote's (Prometheus conventions: mpic_ prefix, base units, counters end in _total —
// prometheus-cpp appends nothing). Labels are closed sets (role, method, outcome): never a
// domain, an address or a token.
//
//   auto registry = std::make_shared<prometheus::Registry>();
//   mpic::perspective::CheckMetrics metrics(*registry, "remote");
//   checks::CheckDeps deps{resolver, dialer, clock, metrics};  // checks report into it
//   //  mpic_checks_total{role="remote",method="dns-01",outcome="valid"} 1
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "checks/check.h"
#include "common/error.h"

namespace mpic::perspective {

class CheckMetrics final : public checks::CheckMetrics {
 public:
  // `role`: "primary" or "remote". The families are shared when several roles register into
  // one registry.
  CheckMetrics(prometheus::Registry& registry, std::string_view role);

  // mpic_checks_total{role,method,outcome="valid"|"invalid"} and
  // mpic_check_duration_seconds{role,method}. Thread-safe.
  void ObserveCheck(checks::Method method, bool valid, double seconds) override;
  // mpic_refused_addresses_total{role}: connections the address policy refused.
  void ObserveRefusedAddress() override;

 private:
  static constexpr size_t kMethods = std::size(checks::kAllMethods);
  std::array<std::array<prometheus::Counter*, 2>, kMethods> checks_{};  // [method][valid]
  std::array<prometheus::Histogram*, kMethods> durations_{};
  prometheus::Counter* refused_addresses_ = nullptr;
};

// mpic_non_production{role}: 1 when `reasons` is non-empty (lab mode, any-client authorization,
// ...; see NonProductionReasons in perspective/config.h), else 0 — so an alert can catch a lab
// configuration that reached production. The reasons themselves go to the start-up log.
void ExportNonProduction(prometheus::Registry& registry, std::string_view role,
                         const std::vector<std::string>& reasons);

// mpic_config_reloads_total{role,result="applied"|"refused"}: configuration reloads (SIGHUP).
// Both series exist from the start (0), so an alert on refusals needs no absent() guard.
class ReloadMetrics {
 public:
  ReloadMetrics(prometheus::Registry& registry, std::string_view role);
  void Applied() { applied_->Increment(); }
  void Refused() { refused_->Increment(); }
  // A refused reload: counted, logged with the file and the reason (the running configuration
  // stays in force), and returned as a kMalformed status carrying `why`.
  [[nodiscard]] Status Refuse(const std::string& path, const std::string& why);

 private:
  prometheus::Counter* applied_ = nullptr;
  prometheus::Counter* refused_ = nullptr;
};

// The text exposition format of everything in `registry` (for tests and tools).
[[nodiscard]] std::string Serialize(const prometheus::Registry& registry);

}  // namespace mpic::perspective
