#include "perspective/metrics.h"

#include <gtest/gtest.h>

namespace mpic::perspective {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(CheckMetricsTest, NamesAndLabelsFollowConventions) {
  prometheus::Registry registry;
  CheckMetrics remote(registry, "remote");
  CheckMetrics primary(registry, "primary");
  remote.ObserveCheck(checks::Method::kDns01, true, 0.02);
  remote.ObserveCheck(checks::Method::kCaa, false, 0.5);
  primary.ObserveCheck(checks::Method::kHttp01, true, 0.02);
  primary.ObserveRefusedAddress();
  const std::string text = Serialize(registry);
  EXPECT_TRUE(Has(text,
                  "mpic_checks_total{method=\"dns-01\",outcome=\"valid\",role=\"remote\"} 1"))
      << text;
  EXPECT_TRUE(Has(text, "mpic_checks_total{method=\"caa\",outcome=\"invalid\",role=\"remote\"} 1"));
  EXPECT_TRUE(
      Has(text, "mpic_checks_total{method=\"http-01\",outcome=\"valid\",role=\"primary\"} 1"));
  EXPECT_TRUE(Has(text, "mpic_checks_total{method=\"http-01\",outcome=\"valid\",role=\"remote\"} 0"));
  EXPECT_TRUE(Has(text,
                  "mpic_check_duration_seconds_bucket{method=\"dns-01\",role=\"remote\",le=\"0.025\"} 1"));
  EXPECT_TRUE(Has(text, "mpic_refused_addresses_total{role=\"primary\"} 1"));
  EXPECT_TRUE(Has(text, "mpic_refused_addresses_total{role=\"remote\"} 0"));
  // Every counter ends in _total.
  for (size_t pos = text.find("# TYPE "); pos != std::string::npos;
       pos = text.find("# TYPE ", pos + 1)) {
    std::string line = text.substr(pos, text.find('\n', pos) - pos);
    if (line.ends_with(" counter")) {
      EXPECT_NE(line.find("_total "), std::string::npos) << line;
    }
  }
}

TEST(CheckMetricsTest, NonProductionGauge) {
  prometheus::Registry lab;
  ExportNonProduction(lab, "remote", {"lab mode: special-purpose ranges allowed (127.0.0.0/8)"});
  EXPECT_TRUE(Has(Serialize(lab), "mpic_non_production{role=\"remote\"} 1")) << Serialize(lab);
  prometheus::Registry production;
  ExportNonProduction(production, "primary", {});
  EXPECT_TRUE(Has(Serialize(production), "mpic_non_production{role=\"primary\"} 0"));
}

}  // namespace
}  // namespace mpic::perspective
