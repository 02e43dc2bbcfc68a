#include "va-remote/remote_metrics.h"

#include <gtest/gtest.h>

namespace mpic::va_remote {
namespace {

TEST(RemoteMetricsTest, NamesAndLabelsFollowConventions) {
  RemoteMetrics m;
  m.ObserveCheck(checks::Method::kDns01, true, 0.02);
  m.ObserveCheck(checks::Method::kCaa, false, 0.5);
  m.ObserveRefusedAddress();
  m.CountRequest(grpc::StatusCode::OK);
  m.CountRequest(grpc::StatusCode::UNAVAILABLE);
  m.AddInflight(2);
  m.AddInflight(-1);
  std::string text = m.Serialize();
  EXPECT_NE(text.find("mpic_remote_checks_total{method=\"dns-01\",outcome=\"valid\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("mpic_remote_checks_total{method=\"caa\",outcome=\"invalid\"} 1"),
            std::string::npos);
  EXPECT_NE(
      text.find("mpic_remote_check_duration_seconds_bucket{method=\"dns-01\",le=\"0.025\"} 1"),
      std::string::npos);
  EXPECT_NE(text.find("mpic_remote_requests_total{code=\"OK\"} 1"), std::string::npos);
  EXPECT_NE(text.find("mpic_remote_requests_total{code=\"UNAVAILABLE\"} 1"), std::string::npos);
  EXPECT_NE(text.find("mpic_remote_requests_total{code=\"INVALID_ARGUMENT\"} 0"),
            std::string::npos);
  EXPECT_NE(text.find("mpic_remote_refused_addresses_total 1"), std::string::npos);
  EXPECT_NE(text.find("mpic_remote_inflight 1"), std::string::npos);
  // Every counter ends in _total (LAB-NOTES #13).
  for (size_t pos = text.find("# TYPE "); pos != std::string::npos;
       pos = text.find("# TYPE ", pos + 1)) {
    std::string line = text.substr(pos, text.find('\n', pos) - pos);
    if (line.ends_with(" counter")) {
      EXPECT_NE(line.find("_total "), std::string::npos) << line;
    }
  }
}

TEST(RemoteMetricsTest, CodeNames) {
  EXPECT_EQ(GrpcCodeName(grpc::StatusCode::RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(99)), "UNKNOWN");
}

}  // namespace
}  // namespace mpic::va_remote
