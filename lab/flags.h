// A small, strict command-line parser for the `mpic` tool: `--name value`, `--name=value`,
// repeatable flags, boolean switches and positionals. Unknown flags are errors.
//
//   Flags flags({{"root-hints", Flags::kValue}, {"json", Flags::kSwitch}});
//   if (auto st = flags.Parse(argc, argv); !st) die(st.error().detail);
//   std::string hints = flags.Get("root-hints").value_or(default_hints);
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace mpic::lab {

class Flags {
 public:
  enum Kind { kValue, kRepeated, kSwitch };

  explicit Flags(std::map<std::string, Kind> spec) : spec_(std::move(spec)) {}

  // Parses argv[first..argc).
  [[nodiscard]] Status Parse(int argc, char** argv, int first);

  [[nodiscard]] std::optional<std::string> Get(const std::string& name) const;
  [[nodiscard]] std::vector<std::string> GetAll(const std::string& name) const;
  [[nodiscard]] bool Has(const std::string& name) const { return values_.contains(name); }
  [[nodiscard]] const std::vector<std::string>& positionals() const { return positionals_; }

  // Parses a flag as an integer in [min, max].
  [[nodiscard]] Result<std::optional<long>> GetInt(const std::string& name, long min,
                                                    long max) const;

 private:
  std::map<std::string, Kind> spec_;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positionals_;
};

}  // namespace mpic::lab
