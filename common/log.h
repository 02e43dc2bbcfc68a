// The one log schema of every mpic process: one JSON object per line on stderr,
//   {"time":"2026-12-07T01:02:03.456Z","level":"info","component":"va-remote","msg":"...",...}
// with `time` (UTC, milliseconds), `level` ("info" | "warning" | "error"), the process's
// `component` and `msg` first, then the caller's fields. Lines are written whole (one write
// under a lock), so concurrent lines never interleave. Never throws: invalid UTF-8 is replaced.
// Operators read these lines; tests assert results and metrics, not log text.
//
//   mpic::log::SetComponent("va-remote");                         // once, in main
//   mpic::log::Info("serving", {{"address", "127.0.0.1:4443"}});
//   mpic::log::Write(mpic::log::Level::kWarning, "check refused", {{"request_id", id}});
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace mpic::log {

enum class Level { kInfo, kWarning, kError };

// "info", "warning", "error".
[[nodiscard]] std::string_view LevelName(Level level);

// The `component` field of every later line ("" leaves it out). Call before other threads log.
void SetComponent(std::string_view component);

// `fields` should be an object (anything else is ignored); its keys follow the fixed ones.
void Write(Level level, std::string_view msg,
           const nlohmann::ordered_json& fields = nlohmann::ordered_json::object());

inline void Info(std::string_view msg,
                 const nlohmann::ordered_json& fields = nlohmann::ordered_json::object()) {
  Write(Level::kInfo, msg, fields);
}
inline void Warning(std::string_view msg,
                    const nlohmann::ordered_json& fields = nlohmann::ordered_json::object()) {
  Write(Level::kWarning, msg, fields);
}
inline void Error(std::string_view msg,
                  const nlohmann::ordered_json& fields = nlohmann::ordered_json::object()) {
  Write(Level::kError, msg, fields);
}

}  // namespace mpic::log
