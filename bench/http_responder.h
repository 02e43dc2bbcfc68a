// A small, fast HTTP-01 responder for benchmarks: Asio, non-blocking, one connection per
// request (as a validator uses it), each connection bounded by a deadline. GET /.well-known/acme-challenge/TOKEN answers 200 with
// the key authorization registered for TOKEN; anything else 404. Bound to one address; its
// CPU stays in the benchmark process, apart from the fleet's.
//
//   auto responder = HttpResponder::Start("127.12.34.100", 5002, /*threads=*/1);
//   (*responder)->Add(token, key_authorization);
//   ... (*responder)->requests() ...
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/asio.h"
#include "common/error.h"

namespace mpic::bench {

class HttpResponder {
 public:
  [[nodiscard]] static Result<std::unique_ptr<HttpResponder>> Start(const std::string& address,
                                                                    uint16_t port, int threads);
  ~HttpResponder();  // stops and joins
  HttpResponder(const HttpResponder&) = delete;
  HttpResponder& operator=(const HttpResponder&) = delete;

  void Add(const std::string& token, const std::string& content);
  [[nodiscard]] uint64_t requests() const { return requests_.load(); }

  // Used by connections.
  [[nodiscard]] std::string Lookup(const std::string& token) const;
  void Count() { requests_.fetch_add(1, std::memory_order_relaxed); }

 private:
  HttpResponder() = default;
  void Accept();

  asio::io_context io_;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor_;
  asio::steady_timer backoff_{io_};  // used by the accept chain only (one at a time)
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> tokens_;
  std::atomic<uint64_t> requests_{0};
};

}  // namespace mpic::bench
