// io_floor: the kernel's price for the network I/O one perspective's check cannot avoid, with
// no resolver, event loop or check logic around it — the floor under checks_bench and
// fleet_loadgen. On one thread with blocking sockets (the cheapest way to do each exchange):
//   dns:  a fresh UDP socket, one query to the DNS lab's real NSD (insecure.lab.), its answer;
//   http: a fresh TCP connection to an HTTP-01 responder, GET, the whole response, close.
// CPU is this thread's own (CLOCK_THREAD_CPUTIME_ID), which on loopback includes delivering
// each packet into the receiver's socket; the servers' own work is not counted.
//
//   io_floor --count 20000
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "bench/http_responder.h"
#include "lab/dnslab.h"
#include "lab/flags.h"

namespace mpic::bench {
namespace {

constexpr const char* kUsage =
    "usage: io_floor [--count N] [--json]\n"
    "  Starts the DNS lab and an HTTP-01 responder, then measures this thread's CPU per DNS\n"
    "  query (fresh UDP socket) and per HTTP-01 fetch (fresh TCP connection), blocking I/O.\n";

double ThreadCpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

sockaddr_in Address(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

// A query for `name` (no trailing dot) type A, RD clear, with `id`.
std::vector<unsigned char> Query(const std::string& name, uint16_t id) {
  std::vector<unsigned char> q = {static_cast<unsigned char>(id >> 8),
                                  static_cast<unsigned char>(id & 0xff),
                                  0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    q.push_back(static_cast<unsigned char>(dot - start));
    q.insert(q.end(), name.begin() + static_cast<long>(start), name.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  q.push_back(0);
  for (unsigned char b : {0, 1, 0, 1}) q.push_back(b);  // A, IN
  return q;
}

// One query on a fresh socket; true when an answer with our id came back.
bool DnsExchange(const sockaddr_in& server, const std::vector<unsigned char>& query) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval timeout{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  bool ok = connect(fd, reinterpret_cast<const sockaddr*>(&server), sizeof(server)) == 0 &&
            send(fd, query.data(), query.size(), 0) == static_cast<ssize_t>(query.size());
  unsigned char answer[1500];
  const ssize_t n = ok ? recv(fd, answer, sizeof(answer), 0) : -1;
  close(fd);
  return n >= 12 && answer[0] == query[0] && answer[1] == query[1];
}

// One GET on a fresh connection, read to the end; true for a 200.
bool HttpExchange(const sockaddr_in& server, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval timeout{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  bool ok = connect(fd, reinterpret_cast<const sockaddr*>(&server), sizeof(server)) == 0 &&
            send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(request.size());
  std::string response;
  char buffer[4096];
  for (int reads = 0; ok && reads < 64; ++reads) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    response.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return response.rfind("HTTP/1.1 200 ", 0) == 0;
}

int Main(int argc, char** argv) {
  lab::Flags flags({{"count", lab::Flags::kValue},
                      {"json", lab::Flags::kSwitch},
                      {"help", lab::Flags::kSwitch}});
  if (auto exit = ParseCommandLine("io_floor", kUsage, flags, argc, argv)) return *exit;
  auto count_flag = flags.GetInt("count", 1, 10'000'000);
  if (!count_flag) return UsageError("io_floor", kUsage, count_flag.error().detail);
  const int count = static_cast<int>(count_flag->value_or(20000));

  auto lab = lab::DnsLab::Start();
  if (!lab) {
    std::cerr << "io_floor: the DNS lab did not start: " << lab.error() << "\n";
    return 1;
  }
  const std::string http_ip = (*lab)->free_address(0);
  auto responder = HttpResponder::Start(http_ip, 8080, 1);
  if (!responder) {
    std::cerr << "io_floor: " << responder.error().detail << "\n";
    return 1;
  }
  const std::string token = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
  (*responder)->Add(token, token + ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI");
  const std::string request = "GET /.well-known/acme-challenge/" + token +
                              " HTTP/1.1\r\nHost: www.insecure.lab\r\nAccept: */*\r\n"
                              "Connection: close\r\nUser-Agent: mpic\r\n\r\n";
  const auto dns_server = Address((*lab)->server("insecure"), 53);
  const auto http_server = Address(http_ip, 8080);

  int failures = 0;
  auto measure = [&](auto&& exchange) {
    for (int i = 0; i < count / 10 + 1; ++i) failures += exchange(i) ? 0 : 1;  // warm-up
    const double cpu0 = ThreadCpuSeconds();
    for (int i = 0; i < count; ++i) failures += exchange(i) ? 0 : 1;
    return (ThreadCpuSeconds() - cpu0) * 1e6 / count;
  };
  const double dns_us = measure([&](int i) {
    return DnsExchange(dns_server, Query("www.insecure.lab", static_cast<uint16_t>(i)));
  });
  const double http_us = measure([&](int) { return HttpExchange(http_server, request); });

  if (flags.Has("json")) {
    nlohmann::ordered_json j;
    j["count"] = count;
    j["dns_query_cpu_us"] = dns_us;
    j["http_fetch_cpu_us"] = http_us;
    j["failures"] = failures;
    std::cout << j.dump() << "\n";
  } else {
    std::printf("io_floor: %d of each, blocking, one thread\n", count);
    std::printf("  DNS query on a fresh UDP socket: %.1f us of CPU\n", dns_us);
    std::printf("  HTTP-01 fetch on a fresh TCP connection: %.1f us of CPU\n", http_us);
    std::printf("  failures %d\n", failures);
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace mpic::bench

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  return mpic::bench::Main(argc, argv);
}
