// What the Open MPIC lab tests (openmpic_lab_test, openmpic_ipv6_lab_test) share around their
// one fleet per suite: the CA-side POST /mpic client, and the suite's teardown.
#pragma once

#include <memory>
#include <string>

#include "common/error.h"
#include "lab/local_fleet.h"
#include "lab/openmpic_client.h"

namespace mpic::testing {

// A POST /mpic client of `fleet`'s primary with the CA-side certificate (mutual TLS), 60 s per
// request.
[[nodiscard]] Result<std::unique_ptr<lab::OpenMpicClient>> ConnectOpenMpic(
    const lab::LocalFleet& fleet);

// Stops `fleet` (if any) and removes `dir` (if any) unless `keep_dir`: a failed suite keeps its
// logs, configs and audit log for reading.
void StopSuiteFleet(lab::LocalFleet* fleet, const std::string* dir, bool keep_dir);

}  // namespace mpic::testing
