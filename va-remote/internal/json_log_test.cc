#include "va-remote/internal/json_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace mpic::va_remote::internal {
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

TEST(LogJson, OneObjectPerLineWithTimeAndLevelFirst) {
  const std::string out = CaptureStderr([] {
    LogJson("info", {{"msg", "check"}, {"attempt", 2}, {"dcv", "valid"}});
    LogJson("warn", nlohmann::ordered_json::object());
  });
  const auto newline = out.find('\n');
  ASSERT_NE(newline, std::string::npos);
  ASSERT_EQ(out.back(), '\n');
  auto first = nlohmann::ordered_json::parse(out.substr(0, newline));
  auto second = nlohmann::ordered_json::parse(out.substr(newline + 1));
  ASSERT_TRUE(first.is_object());
  auto it = first.begin();
  EXPECT_EQ(it.key(), "ts");
  EXPECT_EQ((++it).key(), "level");
  EXPECT_EQ(first["level"], "info");
  EXPECT_EQ(first["msg"], "check");
  EXPECT_EQ(first["attempt"], 2);
  EXPECT_EQ(first["dcv"], "valid");
  EXPECT_EQ(first.size(), 5u);
  EXPECT_EQ(second["level"], "warn");
  EXPECT_EQ(second.size(), 2u);
  EXPECT_EQ(first["ts"].get<std::string>().size(), std::string("2026-11-23T05:30:00.123Z").size());
}

TEST(LogJson, InvalidUtf8IsReplacedNotThrown) {
  const std::string out =
      CaptureStderr([] { LogJson("info", {{"identifier", std::string("a\xff\xfe" "b")}}); });
  auto line = nlohmann::ordered_json::parse(out);
  EXPECT_EQ(line["identifier"], "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
}

}  // namespace
}  // namespace mpic::va_remote::internal
