// A tiny HTTP/1.1 client for one POST to a loopback management API (pebble-challtestsrv's):
// plain TCP, "Connection: close", bounded by a deadline, status line parsed, body returned.
// Refuses any address outside 127.0.0.0/8: the fleet never talks to anything else.
//
//   auto status = HttpPost("127.1.2.102", 8055, "/add-http01",
//                          R"({"token":"abc","content":"abc.xyz"})", std::chrono::seconds(5));
//   if (!status || status->status != 200) ...
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "common/error.h"

namespace mpic::lab {

struct HttpReply {
  int status = 0;
  std::string body;
};

[[nodiscard]] Result<HttpReply> HttpPost(const std::string& ipv4, uint16_t port,
                                         const std::string& path, const std::string& body,
                                         std::chrono::milliseconds timeout);

// Accepts connections on ipv4:port (one connect attempt, closed at once).
[[nodiscard]] bool TcpReachable(const std::string& ipv4, uint16_t port);

}  // namespace mpic::lab
