// The Open MPIC REST server: HTTP/1.1 with keep-alive (Boost.Beast) on one Asio io_context.
// Routes: POST /mpic, GET /healthz, GET /configz, GET /openapi. TLS by default, clients
// authenticated by a certificate of the fleet CA or, where a CA's client cannot do mutual TLS,
// by an API key header; plaintext only in lab mode. Nothing blocks: the request is decoded and
// checked here and handed to the Backend, whose answer is encoded when it arrives.
//
//   mpic::openmpic::ServerOptions options;
//   options.listen = "0.0.0.0:8443";
//   options.ca_file = "fleet-ca.pem"; options.cert_file = "primary.pem";
//   options.key_file = "primary.key";
//   options.floor = {policy, 4, 12, 3, false};
//   auto server = mpic::openmpic::Server::Start(io, std::move(options), backend);
//   if (!server) { std::cerr << server.error().detail << "\n"; return 2; }
//   // (*server)->endpoint() is the bound address (port 0 resolved)
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/asio.h"
#include "common/error.h"
#include "openmpic/backend.h"
#include "openmpic/orchestration.h"
#include "openmpic/request.h"

namespace mpic::openmpic {

// The OpenAPI 3.1 document this server implements (openmpic/openapi.json, compiled in).
[[nodiscard]] std::string_view OpenApiDocument();

// The Open MPIC specification level served (request and response models of open-mpic-core
// 3.6-3.9 on top of the OpenAPI document of open-mpic-specification).
inline constexpr std::string_view kOpenMpicSpecVersion = "3.9";

struct ApiKey {
  std::string name;   // who holds it (logged, never the value)
  std::string value;  // at least kMinApiKeyLength characters
};
inline constexpr std::size_t kMinApiKeyLength = 32;

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // "host:port"; IPv6 as "[::1]:0"; port 0 picks one
  // TLS: this server's chain and key, and the fleet CA whose certificates clients may present.
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  // Lab mode only (tests, `mpic fleet up`): no TLS. Refused at start unless lab_mode.
  bool plaintext = false;
  bool lab_mode = false;
  // API keys for clients that cannot do mutual TLS (Open MPIC deployments use "x-api-key").
  // With none configured, TLS clients must present a certificate.
  std::string api_key_header = "x-api-key";
  std::vector<ApiKey> api_keys;

  std::size_t max_body_bytes = 64 * 1024;   // larger: 413
  std::size_t max_header_bytes = 8 * 1024;  // larger: 431
  // A request (headers and body) must arrive within this, and a keep-alive connection may idle
  // this long; then the client gets 408 and the connection is closed.
  std::chrono::milliseconds read_timeout{10000};
  // How long the server waits for the Backend before answering 504.
  std::chrono::milliseconds backend_timeout{60000};
  std::size_t max_connections = 512;  // more are closed at once

  DecodeOptions decode;
  OrchestrationFloor floor;
  // Shown by GET /configz (e.g. the primary's remote and check timeouts, in ms).
  nlohmann::json configz_extra = nlohmann::json::object();
};

class Server {
 public:
  // Binds and starts accepting on `io`. kMalformed for bad options (unreadable TLS files, bad
  // listen address, plaintext outside lab mode, short API keys), kConnection if the bind fails.
  [[nodiscard]] static Result<std::unique_ptr<Server>> Start(asio::io_context& io,
                                                             ServerOptions options,
                                                             Backend& backend);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  [[nodiscard]] asio::ip::tcp::endpoint endpoint() const;
  // Stops accepting and closes every connection (in-flight backend calls are then ignored).
  void Stop();
  // Graceful stop: stops accepting, closes idle keep-alive connections at once, lets every
  // request in flight finish (each bounded by its own backend_timeout, then 504) and closes
  // its connection after the answer; a request that arrives meanwhile gets 503
  // "shutting-down". Returns once no connection is left, or at `deadline`, then closes what
  // is left (as Stop). True when everything finished before the deadline. Blocks: never call
  // it from a thread running the server's io_context.
  bool Drain(std::chrono::steady_clock::time_point deadline);

  class Impl;

 private:
  explicit Server(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace mpic::openmpic
