// A real validating recursive resolver (the `unbound` daemon) for the lab, so that the stub
// backend is tested against the AD bit as a deployment would set it. Listens on one of the
// lab's free addresses; stopped (bounded) on destruction.
//
//   auto recursive = RecursiveServer::Start(*lab, lab->free_address(9), 5353);
//   StubConfig config{.server = recursive->address(), .require_ad = true};
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include <tl/expected.hpp>

#include "lab/dnslab.h"

namespace mpic::testing {

class RecursiveServer {
 public:
  static tl::expected<std::unique_ptr<RecursiveServer>, std::string> Start(
      const lab::DnsLab& lab, const std::string& address, int port);
  ~RecursiveServer();

  // "127.A.B.C:PORT"
  const std::string& address() const { return address_; }

 private:
  RecursiveServer() = default;
  pid_t pid_ = -1;
  std::string address_;
};

}  // namespace mpic::testing
