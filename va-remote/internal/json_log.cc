#include "va-remote/internal/json_log.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace mpic::va_remote::internal {
namespace {

std::string UtcNow() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count()));
  return buf;
}

}  // namespace

void LogJson(std::string_view level, const nlohmann::ordered_json& fields) {
  static std::mutex mutex;
  try {
    // ts and level first, then the caller's fields as they are (rendered once, not copied
    // into another object first: one line per check, on the hot path).
    std::string text = "{\"ts\":\"" + UtcNow() + "\",\"level\":";
    text += nlohmann::ordered_json(std::string(level))
                .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    if (fields.is_object() && !fields.empty()) {
      const std::string body =
          fields.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
      text += ',';
      text.append(body, 1, std::string::npos);  // without its '{'; keeps its '}'
    } else {
      text += '}';
    }
    text += '\n';
    std::lock_guard<std::mutex> lock(mutex);
    const char* p = text.data();
    size_t left = text.size();
    while (left > 0) {
      ssize_t n = ::write(STDERR_FILENO, p, left);
      if (n <= 0) break;
      p += n;
      left -= static_cast<size_t>(n);
    }
  } catch (...) {
    // Logging must never take the process down.
  }
}

}  // namespace mpic::va_remote::internal
