// caa check. See check.h for the contract.
#pragma once

#include "checks/check.h"

namespace mpic::checks {

// Calls `done` exactly once, on `executor`.
void RunCaa(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
              std::function<void(CheckResult)> done);

}  // namespace mpic::checks
