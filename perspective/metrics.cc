#include "perspective/metrics.h"

#include <prometheus/text_serializer.h>

#include "common/log.h"

namespace mpic::perspective {
namespace {

size_t Index(checks::Method method) { return static_cast<size_t>(method); }

}  // namespace

CheckMetrics::CheckMetrics(prometheus::Registry& registry, std::string_view role) {
  const std::string role_label(role);
  auto& checks = prometheus::BuildCounter()
                     .Name("mpic_checks_total")
                     .Help("Checks a perspective completed, by role, method and outcome")
                     .Register(registry);
  auto& durations = prometheus::BuildHistogram()
                        .Name("mpic_check_duration_seconds")
                        .Help("Time from the start of a check to its verdict")
                        .Register(registry);
  refused_addresses_ = &prometheus::BuildCounter()
                            .Name("mpic_refused_addresses_total")
                            .Help("Connections the address policy refused, by role")
                            .Register(registry)
                            .Add({{"role", role_label}});
  const prometheus::Histogram::BucketBoundaries buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                        0.5,   1,    2.5,   5,    10,  30};
  for (size_t i = 0; i < kMethods; ++i) {
    const std::string name(checks::MethodName(static_cast<checks::Method>(i)));
    checks_[i][0] = &checks.Add({{"role", role_label}, {"method", name}, {"outcome", "invalid"}});
    checks_[i][1] = &checks.Add({{"role", role_label}, {"method", name}, {"outcome", "valid"}});
    durations_[i] = &durations.Add({{"role", role_label}, {"method", name}}, buckets);
  }
}

void CheckMetrics::ObserveCheck(checks::Method method, bool valid, double seconds) {
  const size_t i = Index(method);
  if (i >= kMethods) return;
  checks_[i][valid ? 1 : 0]->Increment();
  durations_[i]->Observe(seconds);
}

void CheckMetrics::ObserveRefusedAddress() { refused_addresses_->Increment(); }

void ExportNonProduction(prometheus::Registry& registry, std::string_view role,
                         const std::vector<std::string>& reasons) {
  prometheus::BuildGauge()
      .Name("mpic_non_production")
      .Help("1 when this process runs a non-production (lab) configuration; see its start log")
      .Register(registry)
      .Add({{"role", std::string(role)}})
      .Set(reasons.empty() ? 0 : 1);
}

ReloadMetrics::ReloadMetrics(prometheus::Registry& registry, std::string_view role) {
  auto& family = prometheus::BuildCounter()
                     .Name("mpic_config_reloads_total")
                     .Help("Configuration reloads (SIGHUP), applied or refused (old one kept)")
                     .Register(registry);
  applied_ = &family.Add({{"role", std::string(role)}, {"result", "applied"}});
  refused_ = &family.Add({{"role", std::string(role)}, {"result", "refused"}});
}

Status ReloadMetrics::Refuse(const std::string& path, const std::string& why) {
  Refused();
  log::Error("configuration reload refused: the running configuration stays in force",
             {{"config", path}, {"reason", why}});
  return Fail(ProblemType::kMalformed, why);
}

std::string Serialize(const prometheus::Registry& registry) {
  return prometheus::TextSerializer().Serialize(registry.Collect());
}

}  // namespace mpic::perspective
