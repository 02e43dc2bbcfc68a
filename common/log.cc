#include "common/log.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace mpic::log {
namespace {

std::string& Component() {
  static std::string component;
  return component;
}

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

std::string JsonString(std::string_view text) {
  return nlohmann::ordered_json(std::string(text))
      .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

std::string_view LevelName(Level level) {
  switch (level) {
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "error";
}

void SetComponent(std::string_view component) { Component() = std::string(component); }

void Write(Level level, std::string_view msg, const nlohmann::ordered_json& fields) {
  static std::mutex mutex;
  try {
    // The fixed keys first, then the caller's fields as they are (rendered once, not copied
    // into another object: one line per check is on the hot path).
    std::string text = "{\"time\":\"" + UtcNow() + "\",\"level\":\"";
    text += LevelName(level);
    text += '"';
    if (!Component().empty()) text += ",\"component\":" + JsonString(Component());
    text += ",\"msg\":" + JsonString(msg);
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

}  // namespace mpic::log
