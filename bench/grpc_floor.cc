// grpc_floor: what one mpic.v1.Perspective/Check RPC costs in gRPC alone, with no check behind
// it — the floor under the fleet's CPU per validation (each validation is one Validate call
// plus one Check call per remote). A server process answers every Check at once with a
// response the size of a real HTTP-01 + CAA answer; this process keeps C calls in flight over
// one mutual-TLS channel and reports calls/s and the CPU each side spent per call.
//
//   grpc_floor --count 40000 --concurrency 32 --server post
//
// --server inline: the reactor finishes inside gRPC's callback (the cheapest gRPC allows);
// --server post:   the callback posts to one Asio thread that finishes it (va-remote's shape).
// --plain: insecure channel instead of mTLS.
#include <grpcpp/grpcpp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>  // before Asio (docs/architecture.md, Pitfalls)

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "lab/flags.h"
#include "lab/pki.h"
#include "mpic/v1/perspective.grpc.pb.h"

namespace mpic::bench {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "usage: grpc_floor [--count N] [--concurrency C] [--warmup N] [--server inline|post]\n"
    "                  [--plain] [--json]\n"
    "  Measures one Perspective/Check RPC with an empty check behind it: calls/s and CPU per\n"
    "  call of the client (this process) and of the server (a child process).\n";

struct Pki {
  std::string ca;
  lab::KeyAndCert server;
  lab::KeyAndCert client;
};

Result<Pki> MakePki() {
  auto ca = lab::CertificateAuthority::Create("grpc_floor CA");
  if (!ca) return Fail(ca.error());
  lab::LeafSpec server_spec;
  server_spec.common_name = "perspective";
  server_spec.dns_names = {"perspective"};
  server_spec.ip_addresses = {"127.0.0.1"};
  auto server = ca->Issue(server_spec);
  if (!server) return Fail(server.error());
  lab::LeafSpec client_spec;
  client_spec.common_name = "primary";
  client_spec.dns_names = {"primary"};
  client_spec.server = false;
  client_spec.client = true;
  auto client = ca->Issue(client_spec);
  if (!client) return Fail(client.error());
  return Pki{ca->cert_pem(), *server, *client};
}

// What a remote returns for an HTTP-01 + CAA check that passed (same fields, similar sizes).
void FillResponse(const v1::CheckRequest& request, v1::CheckResponse* response) {
  auto* who = response->mutable_perspective();
  who->set_name("eu-fra-1");
  who->set_rir(v1::RIPE_NCC);
  who->mutable_location()->set_latitude(50.11);
  who->mutable_location()->set_longitude(8.68);
  who->set_region("Frankfurt, DE");
  auto* dcv = response->mutable_dcv();
  dcv->set_method(v1::HTTP_01);
  dcv->set_identifier(request.identifier());
  dcv->set_valid(true);
  dcv->set_duration_ms(0.8);
  auto* evidence = dcv->mutable_evidence();
  for (const char* type : {"A", "AAAA"}) {
    auto* lookup = evidence->add_lookups();
    lookup->set_name(request.identifier() + ".");
    lookup->set_type(type);
    lookup->set_rcode("NOERROR");
    lookup->set_dnssec("insecure");
    lookup->add_records(request.identifier() + ". 300 IN A 127.0.0.53");
    lookup->set_elapsed_ms(0.2);
  }
  evidence->add_addresses_resolved("127.0.0.53");
  evidence->set_address_used("127.0.0.53");
  auto* hop = evidence->add_http_hops();
  hop->set_url("http://" + request.identifier() + "/.well-known/acme-challenge/" +
               request.dcv().token());
  hop->set_address("127.0.0.53:80");
  hop->set_status(200);
  evidence->set_http_body(request.dcv().key_authorization());
  auto* caa = response->mutable_caa();
  caa->set_method(v1::CAA);
  caa->set_identifier(request.identifier());
  caa->set_valid(true);
  caa->set_duration_ms(0.3);
  auto* caa_lookup = caa->mutable_evidence()->add_lookups();
  caa_lookup->set_name(request.identifier() + ".");
  caa_lookup->set_type("CAA");
  caa_lookup->set_rcode("NOERROR");
  caa_lookup->set_dnssec("insecure");
  caa->mutable_evidence()->set_caa_name(request.identifier() + ".");
}

class FloorService final : public v1::Perspective::CallbackService {
 public:
  explicit FloorService(asio::io_context* io) : io_(io) {}

  grpc::ServerUnaryReactor* Check(grpc::CallbackServerContext* context,
                                  const v1::CheckRequest* request,
                                  v1::CheckResponse* response) override {
    auto* reactor = context->DefaultReactor();
    if (io_ == nullptr) {
      FillResponse(*request, response);
      reactor->Finish(grpc::Status::OK);
    } else {
      asio::post(*io_, [request, response, reactor] {
        FillResponse(*request, response);
        reactor->Finish(grpc::Status::OK);
      });
    }
    return reactor;
  }

 private:
  asio::io_context* io_;
};

// The child: serves until `stop_fd` reaches end of file (the parent exited or closed it).
int Serve(const Pki& pki, bool plain, bool post, int port_fd, int stop_fd) {
  std::optional<asio::io_context> io;
  if (post) io.emplace(1);
  FloorService service(post ? &*io : nullptr);
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (plain) {
    credentials = grpc::InsecureServerCredentials();
  } else {
    grpc::SslServerCredentialsOptions options(
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    options.pem_root_certs = pki.ca;
    options.pem_key_cert_pairs.push_back({pki.server.key_pem, pki.server.cert_pem});
    credentials = grpc::SslServerCredentials(options);
  }
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", credentials, &port);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "grpc_floor: the server cannot listen on 127.0.0.1\n";
    return 1;
  }
  // The Asio thread runs only while the server does (no call can arrive before or after).
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread io_thread;
  if (post) {
    work.emplace(io->get_executor());
    io_thread = std::thread([&] { io->run(); });
  }
  if (write(port_fd, &port, sizeof(port)) == sizeof(port)) {
    close(port_fd);
    char byte;
    while (read(stop_fd, &byte, 1) > 0) {  // until the parent closes its end or exits
    }
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  if (post) {
    work.reset();
    io_thread.join();
  }
  return 0;
}

// Keeps `concurrency` calls in flight until `count` have completed; returns the failures.
class Driver {
 public:
  Driver(v1::Perspective::Stub& stub, const v1::CheckRequest& request)
      : stub_(stub), request_(request) {}

  // Failed calls, plus any of the `count` that never completed.
  int Run(int count, int concurrency) {
    failures_ = 0;
    completed_ = 0;
    loop_.Run(count, concurrency);  // every call carries a 30 s deadline, so this ends
    return failures_.load() + (count - completed_.load());
  }

 private:
  struct Call {
    grpc::ClientContext context;
    v1::CheckResponse response;
  };

  void Issue(std::function<void()> done) {
    auto* call = new Call();
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    stub_.async()->Check(&call->context, &request_, &call->response,
                         [this, call, done = std::move(done)](grpc::Status status) {
                           if (!status.ok() || !call->response.dcv().valid()) ++failures_;
                           ++completed_;
                           delete call;
                           done();
                         });
  }

  v1::Perspective::Stub& stub_;
  const v1::CheckRequest& request_;
  std::atomic<int> failures_{0}, completed_{0};
  ClosedLoop loop_{[this](std::function<void()> done) { Issue(std::move(done)); }};
};

int Main(int argc, char** argv) {
  lab::Flags flags({{"count", lab::Flags::kValue},
                      {"concurrency", lab::Flags::kValue},
                      {"warmup", lab::Flags::kValue},
                      {"server", lab::Flags::kValue},
                      {"plain", lab::Flags::kSwitch},
                      {"json", lab::Flags::kSwitch},
                      {"help", lab::Flags::kSwitch}});
  auto usage_error = [](const std::string& why) { return UsageError("grpc_floor", kUsage, why); };
  if (auto exit = ParseCommandLine("grpc_floor", kUsage, flags, argc, argv)) return *exit;
  auto count_flag = flags.GetInt("count", 1, 10'000'000);
  auto concurrency_flag = flags.GetInt("concurrency", 1, 4096);
  auto warmup_flag = flags.GetInt("warmup", 0, 1'000'000);
  if (!count_flag) return usage_error(count_flag.error().detail);
  if (!concurrency_flag) return usage_error(concurrency_flag.error().detail);
  if (!warmup_flag) return usage_error(warmup_flag.error().detail);
  const int count = static_cast<int>(count_flag->value_or(40000));
  const int concurrency = static_cast<int>(concurrency_flag->value_or(32));
  const int warmup = static_cast<int>(warmup_flag->value_or(2000));
  const std::string server_mode = flags.Get("server").value_or("post");
  if (server_mode != "inline" && server_mode != "post") {
    return usage_error("--server must be inline or post");
  }
  const bool plain = flags.Has("plain");

  auto pki = MakePki();  // before fork(): no gRPC state exists yet
  if (!pki) {
    std::cerr << "grpc_floor: " << pki.error().detail << "\n";
    return 1;
  }
  int port_pipe[2], stop_pipe[2];
  if (pipe(port_pipe) != 0 || pipe(stop_pipe) != 0) {
    std::perror("grpc_floor: pipe");
    return 1;
  }
  const pid_t child = fork();
  if (child < 0) {
    std::perror("grpc_floor: fork");
    return 1;
  }
  if (child == 0) {
    close(port_pipe[0]);
    close(stop_pipe[1]);
    _exit(Serve(*pki, plain, server_mode == "post", port_pipe[1], stop_pipe[0]));
  }
  close(port_pipe[1]);
  close(stop_pipe[0]);
  auto stop_child = [&] {
    close(stop_pipe[1]);
    int status = 0;
    waitpid(child, &status, 0);
  };
  int port = 0;
  if (read(port_pipe[0], &port, sizeof(port)) != sizeof(port) || port <= 0) {
    std::cerr << "grpc_floor: the server did not start\n";
    stop_child();
    return 1;
  }

  std::shared_ptr<grpc::ChannelCredentials> credentials;
  grpc::ChannelArguments args;
  if (plain) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = pki->ca;
    options.pem_private_key = pki->client.key_pem;
    options.pem_cert_chain = pki->client.cert_pem;
    credentials = grpc::SslCredentials(options);
    args.SetSslTargetNameOverride("perspective");
  }
  auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), credentials, args);
  auto stub = v1::Perspective::NewStub(channel);
  v1::CheckRequest request;
  request.set_request_id("0123456789abcdef0123456789abcdef");
  request.set_identifier("www.insecure.lab");
  request.mutable_dcv()->set_method(v1::HTTP_01);
  request.mutable_dcv()->set_token("LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0");
  request.mutable_dcv()->set_key_authorization(
      "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI");
  request.mutable_caa()->add_issuer_domains("mpic.example");
  request.mutable_caa()->set_validation_method("http-01");

  Driver driver(*stub, request);
  int failures = driver.Run(warmup + 1, concurrency);
  const double client0 = SelfCpuSeconds();
  const double server0 = ProcessCpuSeconds(child);
  const auto start = Clock::now();
  failures += driver.Run(count, concurrency);
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double client_ms = (SelfCpuSeconds() - client0) * 1e3 / static_cast<double>(count);
  const double server_ms =
      (ProcessCpuSeconds(child) - server0) * 1e3 / static_cast<double>(count);
  stub.reset();
  channel.reset();
  stop_child();

  const double rate = static_cast<double>(count) / wall;
  if (flags.Has("json")) {
    nlohmann::ordered_json j;
    j["server"] = server_mode;
    j["tls"] = !plain;
    j["concurrency"] = concurrency;
    j["count"] = count;
    j["calls_per_s"] = rate;
    j["client_cpu_ms_per_call"] = client_ms;
    j["server_cpu_ms_per_call"] = server_ms;
    j["failures"] = failures;
    std::cout << j.dump() << "\n";
  } else {
    std::printf("grpc_floor: server %s, %s, concurrency %d, %d calls\n", server_mode.c_str(),
                plain ? "plaintext" : "mTLS", concurrency, count);
    std::printf("  %.0f calls/s; CPU per call: client %.3f ms, server %.3f ms\n", rate, client_ms,
                server_ms);
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
