#include "lab/data_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace mpic::lab {
namespace {

TEST(DataDir, ShareBesideTheBinaryDirectory) {
  EXPECT_EQ(DataDirFor("/opt/mpic/bin/mpic", nullptr), "/opt/mpic/share/mpic");
  EXPECT_EQ(DataDirFor("/home/u/src/build/bin/mpic", nullptr), "/home/u/src/build/share/mpic");
  EXPECT_EQ(DataDirFor("/opt/mpic/bin/mpic", ""), "/opt/mpic/share/mpic");
}

TEST(DataDir, EnvironmentOverrides) {
  EXPECT_EQ(DataDirFor("/opt/mpic/bin/mpic", "/data/mpic/"), "/data/mpic/");
  EXPECT_EQ(DataDirFor("/opt/mpic/bin/mpic", "/data//x/../mpic"), "/data/mpic");
}

TEST(DataDir, MissingFileIsAnErrorNamingThePath) {
  setenv("MPIC_DATA_DIR", "/nonexistent-mpic-data", 1);
  auto file = DataFile("dnslab/dnslab.py");
  unsetenv("MPIC_DATA_DIR");
  ASSERT_FALSE(file.has_value());
  EXPECT_NE(file.error().detail.find("/nonexistent-mpic-data/dnslab/dnslab.py"), std::string::npos)
      << file.error().detail;
}

}  // namespace
}  // namespace mpic::lab
