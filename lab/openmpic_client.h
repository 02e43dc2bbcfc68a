// A small synchronous client of the Open MPIC REST API (docs/openmpic.md) for `mpic validate
// --api openmpic`, the lab test and the benchmark: one HTTP/1.1 keep-alive connection to a
// loopback address, mutual TLS with the CA-side certificate (or plaintext in lab mode), an
// optional API key header, every read and write bounded. Refuses anything but 127.0.0.0/8 and
// ::1: the tools never talk to anything else.
//
//   OpenMpicClient::Options options;
//   options.address = "127.0.0.1:40123";
//   options.tls = fleet.client_tls();
//   auto client = OpenMpicClient::Connect(options);
//   auto reply = (*client)->Post("/mpic", body);  // reply->status, reply->body
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/error.h"
#include "lab/http_post.h"
#include "lab/primary_client.h"

namespace mpic::lab {

class OpenMpicClient {
 public:
  struct Options {
    std::string address;     // "127.0.0.1:PORT" or "[::1]:PORT"
    bool plaintext = false;  // lab mode servers only
    ClientTlsFiles tls;      // ca_file verifies the server; cert/key: the client certificate
    std::string api_key_header = "x-api-key";
    std::string api_key;  // sent when not empty
    std::chrono::milliseconds timeout{30000};  // per request (write and read)
  };

  // kMalformed for a non-loopback address or unreadable TLS files; kConnection when the
  // connection or handshake fails.
  [[nodiscard]] static Result<std::unique_ptr<OpenMpicClient>> Connect(Options options);
  ~OpenMpicClient();
  OpenMpicClient(const OpenMpicClient&) = delete;
  OpenMpicClient& operator=(const OpenMpicClient&) = delete;

  // One request on the kept-alive connection (reconnecting once if the server had closed it).
  [[nodiscard]] Result<HttpReply> Post(const std::string& target, const std::string& body);
  [[nodiscard]] Result<HttpReply> Get(const std::string& target);

  class Impl;

 private:
  explicit OpenMpicClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mpic::lab
