#include "tests/integration/child.h"

#include <fstream>

namespace mpic::testing {

Child::Child(const std::vector<std::string>& args, const std::string& log_file) : log_(log_file) {
  auto process = lab::ChildProcess::Start(args, log_file);
  if (process) {
    process_.emplace(std::move(*process));
    return;
  }
  std::ofstream(log_file, std::ios::app) << "cannot start: " << process.error().detail << "\n";
}

}  // namespace mpic::testing
