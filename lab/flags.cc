#include "lab/flags.h"

#include <charconv>

namespace mpic::lab {

Status Flags::Parse(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) positionals_.emplace_back(argv[i]);
      break;
    }
    if (!arg.starts_with("--") || arg.size() == 2) {
      positionals_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    auto it = spec_.find(name);
    if (it == spec_.end()) return Fail(ProblemType::kMalformed, "unknown flag --" + name);
    if (it->second == kSwitch) {
      if (inline_value) return Fail(ProblemType::kMalformed, "--" + name + " takes no value");
      values_[name].push_back("true");
      continue;
    }
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else {
      if (i + 1 >= argc) return Fail(ProblemType::kMalformed, "--" + name + " needs a value");
      value = argv[++i];
    }
    auto& slot = values_[name];
    if (it->second == kValue && !slot.empty()) {
      return Fail(ProblemType::kMalformed, "--" + name + " given more than once");
    }
    slot.push_back(std::move(value));
  }
  return {};
}

std::optional<std::string> Flags::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.front();
}

std::vector<std::string> Flags::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

Result<std::optional<long>> Flags::GetInt(const std::string& name, long min, long max) const {
  auto v = Get(name);
  if (!v) return std::optional<long>();
  long out = 0;
  auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || ptr != v->data() + v->size() || out < min || out > max) {
    return Fail(ProblemType::kMalformed, "--" + name + " must be an integer in [" +
                                             std::to_string(min) + ", " + std::to_string(max) +
                                             "], got \"" + *v + "\"");
  }
  return std::optional<long>(out);
}

}  // namespace mpic::lab
