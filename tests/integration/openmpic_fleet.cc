#include "tests/integration/openmpic_fleet.h"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <system_error>

namespace mpic::testing {

Result<std::unique_ptr<lab::OpenMpicClient>> ConnectOpenMpic(const lab::LocalFleet& fleet) {
  lab::OpenMpicClient::Options client;
  client.address = fleet.primary().openmpic;
  client.tls = fleet.client_tls();
  client.timeout = std::chrono::seconds(60);
  return lab::OpenMpicClient::Connect(client);
}

void StopSuiteFleet(lab::LocalFleet* fleet, const std::string* dir, bool keep_dir) {
  if (fleet != nullptr) fleet->Stop(&std::cerr);
  if (dir != nullptr && !keep_dir) {
    std::error_code ec;
    std::filesystem::remove_all(*dir, ec);
  }
}

}  // namespace mpic::testing
