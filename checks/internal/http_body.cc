#include "checks/internal/http_body.h"

#include <string>

#include "checks/internal/web_common.h"

namespace mpic::checks::internal {

std::string_view TrimHttpBody(std::string_view body) {
  size_t end = body.find_last_not_of(" \t\r\n\v\f");
  return end == std::string_view::npos ? std::string_view() : body.substr(0, end + 1);
}

Status CompareHttpBody(std::string_view body, std::string_view key_authorization) {
  if (body.size() > kHttpBodyLimit) {
    return Fail(ProblemType::kUnauthorized,
                "the key authorization file from the server is longer than " +
                    std::to_string(kHttpBodyLimit) + " bytes (starts \"" + PrintableText(body, 32) +
                    "\")");
  }
  std::string_view trimmed = TrimHttpBody(body);
  if (trimmed != key_authorization) {
    return Fail(ProblemType::kUnauthorized,
                "the key authorization file from the server did not match this challenge: "
                "expected \"" +
                    PrintableText(key_authorization, kHttpBodyLimit) + "\", got \"" +
                    PrintableText(trimmed, kHttpBodyLimit) + "\"");
  }
  return {};
}

}  // namespace mpic::checks::internal
