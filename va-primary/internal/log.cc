#include "va-primary/internal/log.h"

#include <unistd.h>

#include <chrono>
#include <string>

#include "va-primary/audit.h"

namespace mpic::va_primary::internal {

void Log(std::string_view level, std::string_view message, const nlohmann::ordered_json& fields) {
  try {
    nlohmann::ordered_json line;
    line["time"] = Rfc3339Utc(std::chrono::system_clock::now());
    line["level"] = std::string(level);
    line["component"] = "va-primary";
    line["msg"] = std::string(message);
    if (fields.is_object()) {
      for (const auto& [key, value] : fields.items()) line[key] = value;
    }
    std::string text =
        line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    [[maybe_unused]] const ssize_t written = ::write(STDERR_FILENO, text.data(), text.size());
  } catch (...) {
    // Logging must never take the process down.
  }
}

}  // namespace mpic::va_primary::internal
