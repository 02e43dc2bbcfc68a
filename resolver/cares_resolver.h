// The stub backend: c-ares sending recursive queries to one configured resolver (for
// deployments that run a validating resolver beside each perspective). With `require_ad`, only
// answers the resolver marked authenticated (AD bit, RFC 4035 §3.2.3) are data; any other
// answer is an error. Each session owns a channel that no other session uses meanwhile and that
// holds no socket when the session gets it (initialised channels are reused: see ChannelPool);
// c-ares keeps no cache of its own.
//
//   StubConfig config{.server = "127.0.0.1:53", .require_ad = true};
//   auto resolver = CaresResolver::Create(io.get_executor(), config);
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/asio.h"
#include "resolver/resolver.h"

namespace mpic::resolver {

struct StubConfig {
  std::string server;       // "127.0.0.1", "127.0.0.1:5353", "::1", "[::1]:53"
  bool require_ad = false;  // trust only AD-marked answers
  int attempt_timeout_ms = 1000;
  int tries = 2;
};

class CaresResolver final : public Resolver {
 public:
  // Rejects a malformed server address.
  [[nodiscard]] static Result<std::unique_ptr<CaresResolver>> Create(
      asio::any_io_executor executor, StubConfig config);

  ~CaresResolver() override;

  std::unique_ptr<Session> NewSession() override;
  std::string Describe() const override;

  // How many sessions got an already initialised channel (for tests and metrics).
  [[nodiscard]] uint64_t channels_reused() const;

  class ChannelPool;

  // "ADDR[:PORT]" -> c-ares' "ADDR:PORT" / "[ADDR]:PORT" form; exposed for tests.
  [[nodiscard]] static Result<std::string> CanonicalServer(std::string_view server);

 private:
  CaresResolver(asio::any_io_executor executor, StubConfig config, std::string server);

  asio::any_io_executor executor_;
  StubConfig config_;
  std::string server_;  // canonical
  std::shared_ptr<ChannelPool> pool_;
};

}  // namespace mpic::resolver
