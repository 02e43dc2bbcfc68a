// Structured log lines (STYLE.md #6): one JSON object per line on stderr, written with a single
// write so concurrent lines never interleave. Operators read these; tests never assert on them.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace mpic::va_primary::internal {

// level: "info" | "warning" | "error". `fields` (an object) is merged into the line.
void Log(std::string_view level, std::string_view message,
         const nlohmann::ordered_json& fields = nlohmann::ordered_json::object());

}  // namespace mpic::va_primary::internal
