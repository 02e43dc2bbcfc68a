#include "common/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace mpic::log {
namespace {

// Runs `log` with stderr sent to a temporary file; returns what was written.
template <typename F>
std::string CaptureStderr(F log) {
  std::FILE* file = std::tmpfile();
  EXPECT_NE(file, nullptr);
  const int saved = dup(STDERR_FILENO);
  dup2(fileno(file), STDERR_FILENO);
  log();
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::string out;
  std::rewind(file);
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof(buffer), file)) out.append(buffer, n);
  std::fclose(file);
  return out;
}

TEST(Log, OneObjectPerLineWithTheFixedKeysFirst) {
  SetComponent("va-test");
  const std::string out = CaptureStderr([] {
    Info("check", {{"attempt", 2}, {"dcv", "valid"}});
    Write(Level::kWarning, "refused");
  });
  SetComponent("");
  const auto newline = out.find('\n');
  ASSERT_NE(newline, std::string::npos);
  ASSERT_EQ(out.back(), '\n');
  auto first = nlohmann::ordered_json::parse(out.substr(0, newline));
  auto second = nlohmann::ordered_json::parse(out.substr(newline + 1));
  ASSERT_TRUE(first.is_object());
  auto it = first.begin();
  EXPECT_EQ(it.key(), "time");
  EXPECT_EQ((++it).key(), "level");
  EXPECT_EQ((++it).key(), "component");
  EXPECT_EQ((++it).key(), "msg");
  EXPECT_EQ(first["level"], "info");
  EXPECT_EQ(first["component"], "va-test");
  EXPECT_EQ(first["msg"], "check");
  EXPECT_EQ(first["attempt"], 2);
  EXPECT_EQ(first["dcv"], "valid");
  EXPECT_EQ(first.size(), 6u);
  EXPECT_EQ(second["level"], "warning");
  EXPECT_EQ(second["msg"], "refused");
  EXPECT_EQ(second.size(), 4u);
  EXPECT_EQ(first["time"].get<std::string>().size(),
            std::string("2026-11-23T05:30:00.123Z").size());
}

TEST(Log, WithoutComponentTheKeyIsLeftOut) {
  const std::string out = CaptureStderr([] { Error("x"); });
  auto line = nlohmann::ordered_json::parse(out);
  EXPECT_FALSE(line.contains("component"));
  EXPECT_EQ(line["level"], "error");
}

TEST(Log, InvalidUtf8IsReplacedNotThrown) {
  const std::string out = CaptureStderr(
      [] { Info("m\xff", {{"identifier", std::string("a\xff\xfe" "b")}}); });
  auto line = nlohmann::ordered_json::parse(out);
  EXPECT_EQ(line["identifier"], "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
  EXPECT_EQ(line["msg"], "m\xEF\xBF\xBD");
}

}  // namespace
}  // namespace mpic::log
