// Structured logs of va-remote: one JSON object per line on stderr, with a UTC timestamp and
// a level first. Lines are written whole (one write under a lock), so concurrent lines never
// interleave. Never throws (invalid UTF-8 is replaced, not an exception).
//
//   LogJson("info", {{"msg", "serving"}, {"address", "127.0.0.1:4443"}});
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace mpic::va_remote::internal {

void LogJson(std::string_view level, const nlohmann::ordered_json& fields);

}  // namespace mpic::va_remote::internal
