// The Open MPIC server on 127.0.0.1:0 with a fake Backend, driven by a tiny blocking Beast
// client whose socket reads are bounded (SO_RCVTIMEO), so no test can hang.
#include "openmpic/server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <filesystem>
#include <mutex>
#include <thread>

#include "openmpic/testing/samples.h"
#include "lab/pki.h"

namespace mpic::openmpic {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

constexpr char kKey[] = "0123456789abcdef0123456789abcdef-key";
constexpr char kToken[] = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
constexpr char kKeyAuthorization[] =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

std::string HttpBody() {
  return json{{"check_type", "dcv"},
              {"domain_or_ip_target", "example.com"},
              {"trace_identifier", "t-1"},
              {"dcv_check_parameters",
               {{"validation_method", "acme-http-01"},
                {"token", kToken},
                {"key_authorization", kKeyAuthorization}}}}
      .dump();
}

class FakeBackend : public Backend {
 public:
  enum class Mode { kCorroborate, kMalformed, kInternal, kRateLimited, kBusy, kNever, kSlow };
  std::atomic<Mode> mode{Mode::kCorroborate};

  void Validate(const BackendRequest& request, BackendCallback done) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(request);
    }
    switch (mode.load()) {
      case Mode::kCorroborate: {
        // Answer from another thread, as the primary's gRPC callbacks would (joined before
        // the test's io_context goes: the callback holds the server's strand).
        std::lock_guard<std::mutex> lock(mutex_);
        threads_.emplace_back([request, done] {
          done(testing::MakeResult(request.validate, request.orchestration.perspective_count,
                                   request.orchestration.perspective_count));
        });
        break;
      }
      case Mode::kSlow: {
        // Answers only once the test releases it (Release()), from another thread.
        std::lock_guard<std::mutex> lock(mutex_);
        threads_.emplace_back([this, request, done] {
          {
            std::unique_lock<std::mutex> wait(release_mutex_);
            released_cv_.wait_for(wait, std::chrono::seconds(10), [this] { return released_; });
          }
          done(testing::MakeResult(request.validate, request.orchestration.perspective_count,
                                   request.orchestration.perspective_count));
        });
        break;
      }
      case Mode::kMalformed:
        done(Fail(ProblemType::kMalformed, "identifier refused by policy"));
        break;
      case Mode::kInternal:
        done(Fail(ProblemType::kServerInternal, "audit log not writable"));
        break;
      case Mode::kRateLimited:
        done(Fail(ProblemType::kRateLimited, "rate limited: per-identifier limit exceeded"));
        break;
      case Mode::kBusy:
        done(Fail(ProblemType::kUnavailable, "va-primary busy: 1 validation in flight"));
        break;
      case Mode::kNever:
        held_.push_back(std::move(done));  // never answered (until the test ends)
        break;
    }
  }

  void Release() {
    std::lock_guard<std::mutex> lock(release_mutex_);
    released_ = true;
    released_cv_.notify_all();
  }

  std::vector<BackendRequest> requests() {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

  void JoinAll() {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      threads.swap(threads_);
    }
    for (std::thread& t : threads) t.join();
  }
  ~FakeBackend() override {
    Release();
    JoinAll();
  }

 private:
  std::mutex release_mutex_;
  std::condition_variable released_cv_;
  bool released_ = false;
  std::mutex mutex_;
  std::vector<BackendRequest> requests_;
  std::vector<BackendCallback> held_;
  std::vector<std::thread> threads_;
};

OrchestrationFloor Floor() {
  auto policy = quorum::Policy::BaselineRequirements(quorum::Date{2026, 6, 15});
  return OrchestrationFloor{*policy, 4, 8, 2, false};
}

void BoundReads(tcp::socket& socket) {
  timeval tv{5, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

struct Reply {
  int status = 0;
  json body;
  std::string allow;
  std::string retry_after;
  bool keep_alive = false;
  std::string error;  // transport failure, "" when a reply came
};

http::request<http::string_body> Post(const std::string& target, const std::string& body,
                                      const std::string& content_type = "application/json") {
  http::request<http::string_body> request{http::verb::post, target, 11};
  request.set(http::field::host, "127.0.0.1");
  if (!content_type.empty()) request.set(http::field::content_type, content_type);
  request.body() = body;
  request.prepare_payload();
  return request;
}

http::request<http::string_body> Get(const std::string& target) {
  http::request<http::string_body> request{http::verb::get, target, 11};
  request.set(http::field::host, "127.0.0.1");
  return request;
}

template <typename Stream>
Reply Exchange(Stream& stream, beast::flat_buffer& buffer,
               const http::request<http::string_body>& request) {
  Reply reply;
  beast::error_code ec;
  http::write(stream, request, ec);
  if (ec) {
    reply.error = "write: " + ec.message();
    return reply;
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  http::read(stream, buffer, parser, ec);
  if (ec) {
    reply.error = "read: " + ec.message();
    return reply;
  }
  auto& response = parser.get();
  reply.status = static_cast<int>(response.result_int());
  reply.keep_alive = response.keep_alive();
  reply.allow = std::string(response[http::field::allow]);
  reply.retry_after = std::string(response[http::field::retry_after]);
  reply.body = json::parse(response.body(), nullptr, false);
  return reply;
}

// A plaintext client connection.
struct PlainClient {
  asio::io_context io;
  tcp::socket socket{io};
  beast::flat_buffer buffer;

  explicit PlainClient(const tcp::endpoint& endpoint) {
    socket.connect(endpoint);
    BoundReads(socket);
  }
  Reply Send(const http::request<http::string_body>& request) {
    return Exchange(socket, buffer, request);
  }
  // True when the server closed the connection (EOF) within the read bound.
  bool ClosedByServer() {
    char byte;
    beast::error_code ec;
    socket.read_some(asio::buffer(&byte, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }
};

class ServerFixture : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options) {
    options.floor = Floor();
    options.decode.default_caa_domains = {"ca.example"};
    auto server = Server::Start(io_, std::move(options), backend_);
    ASSERT_TRUE(server) << server.error().detail;
    server_ = std::move(*server);
    guard_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }

  ServerOptions Lab() {
    ServerOptions options;
    options.plaintext = true;
    options.lab_mode = true;
    return options;
  }

  void TearDown() override {
    backend_.Release();
    backend_.JoinAll();
    if (server_) server_->Stop();
    guard_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
  }

  tcp::endpoint endpoint() const { return server_->endpoint(); }

  asio::io_context io_;
  FakeBackend backend_;
  std::unique_ptr<Server> server_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
  std::thread thread_;
};

TEST_F(ServerFixture, ValidatesAndKeepsTheConnectionAlive) {
  StartServer(Lab());
  PlainClient client(endpoint());
  for (int i = 0; i < 3; ++i) {
    Reply reply = client.Send(Post("/mpic", HttpBody()));
    ASSERT_EQ(reply.error, "");
    EXPECT_EQ(reply.status, 200);
    EXPECT_TRUE(reply.keep_alive);
    EXPECT_EQ(reply.body["is_valid"], true);
    EXPECT_EQ(reply.body["trace_identifier"], "t-1");
    EXPECT_EQ(reply.body["actual_orchestration_parameters"]["perspective_count"], 4);
  }
  auto requests = backend_.requests();
  ASSERT_EQ(requests.size(), 3u);  // three validations over one connection
  EXPECT_EQ(requests[0].validate.identifier(), "example.com");
  EXPECT_EQ(requests[0].validate.method(), v1::HTTP_01);
  EXPECT_EQ(requests[0].trace_identifier, "t-1");
  EXPECT_EQ(requests[0].orchestration.quorum_count, 3);
}

TEST_F(ServerFixture, TraceContextHeadersArePassedOnAsReceived) {
  StartServer(Lab());
  PlainClient client(endpoint());
  auto request = Post("/mpic", HttpBody());
  request.set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  request.insert("tracestate", "rojo=1");
  request.insert("TraceState", "congo=2");
  EXPECT_EQ(client.Send(request).status, 200);
  EXPECT_EQ(client.Send(Post("/mpic", HttpBody())).status, 200);
  auto requests = backend_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].traceparent,
            std::vector<std::string>{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"});
  EXPECT_EQ(requests[0].tracestate, (std::vector<std::string>{"rojo=1", "congo=2"}));
  EXPECT_TRUE(requests[1].traceparent.empty());
  EXPECT_TRUE(requests[1].tracestate.empty());
}

TEST_F(ServerFixture, BadRequestsGetClearErrorsAndTheConnectionSurvives) {
  StartServer(Lab());
  PlainClient client(endpoint());
  Reply reply = client.Send(Post("/mpic", "{not json"));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body["error"], "request-validation-failed");
  EXPECT_EQ(reply.body["validation_issues"][0]["issue_type"], "malformed-json");

  json unknown = json::parse(HttpBody());
  unknown["perspectives"] = json::array({"us-east-1"});
  reply = client.Send(Post("/mpic", unknown.dump()));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body["validation_issues"][0]["issue_type"], "unknown-field");

  json below = json::parse(HttpBody());
  below["orchestration_parameters"] = {{"perspective_count", 2}};
  reply = client.Send(Post("/mpic", below.dump()));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body["validation_issues"][0]["issue_type"], "invalid-perspective-count");

  reply = client.Send(Post("/mpic", HttpBody(), "text/plain"));
  EXPECT_EQ(reply.status, 415);
  reply = client.Send(Post("/mpic", HttpBody(), "application/json; charset=utf-8"));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(backend_.requests().size(), 1u);  // nothing invalid reached the backend
}

TEST_F(ServerFixture, RoutesAndMethods) {
  StartServer(Lab());
  PlainClient client(endpoint());
  Reply reply = client.Send(Get("/nope"));
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.body["error"], "not-found");
  reply = client.Send(Get("/mpic"));
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(reply.allow, "POST");
  reply = client.Send(Post("/healthz", "{}"));
  EXPECT_EQ(reply.status, 405);
  EXPECT_EQ(reply.allow, "GET");
  reply = client.Send(Get("/healthz"));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body["status"], "ok");
  reply = client.Send(Get("/configz"));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body["open_mpic_spec_version"], "3.9");
  EXPECT_EQ(reply.body["validation_methods"],
            json::array({"acme-http-01", "acme-dns-01", "acme-tls-alpn-01", "dns-change",
                         "dns-persistent", "website-change", "ip-address", "contact-email-txt",
                         "contact-email-caa", "contact-phone-txt", "contact-phone-caa",
                         "reverse-address-lookup"}));
  EXPECT_EQ(reply.body["orchestration"]["min_perspective_count"], 4);
  reply = client.Send(Get("/openapi?format=json"));
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body["openapi"], "3.1.0");
  EXPECT_TRUE(reply.body["paths"].contains("/mpic"));
}

TEST_F(ServerFixture, OversizeBodyIs413AndCloses) {
  ServerOptions options = Lab();
  options.max_body_bytes = 1024;
  StartServer(std::move(options));
  PlainClient client(endpoint());
  Reply reply = client.Send(Post("/mpic", std::string(4096, ' ')));
  EXPECT_EQ(reply.status, 413);
  EXPECT_FALSE(reply.keep_alive);
  EXPECT_TRUE(client.ClosedByServer());
  EXPECT_TRUE(backend_.requests().empty());
}

TEST_F(ServerFixture, ChunkedOversizeBodyIs413) {
  ServerOptions options = Lab();
  options.max_body_bytes = 1024;
  StartServer(std::move(options));
  PlainClient client(endpoint());
  std::string raw =
      "POST /mpic HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n800\r\n" + std::string(2048, ' ') + "\r\n0\r\n\r\n";
  asio::write(client.socket, asio::buffer(raw));
  http::response<http::string_body> response;
  beast::error_code ec;
  http::read(client.socket, client.buffer, response, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response.result_int(), 413u);
}

TEST_F(ServerFixture, SlowClientGets408AndIsClosed) {
  ServerOptions options = Lab();
  options.read_timeout = std::chrono::milliseconds(200);
  StartServer(std::move(options));
  PlainClient client(endpoint());
  // Half a request, then nothing: the server must answer 408 and close, whatever the client does.
  asio::write(client.socket, asio::buffer(std::string("POST /mpic HTTP/1.1\r\nHost: x\r\n")));
  http::response<http::string_body> response;
  beast::error_code ec;
  http::read(client.socket, client.buffer, response, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response.result_int(), 408u);
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(client.ClosedByServer());
  // The server is unharmed.
  PlainClient next(endpoint());
  EXPECT_EQ(next.Send(Get("/healthz")).status, 200);
}

TEST_F(ServerFixture, MalformedHttpIs400) {
  StartServer(Lab());
  PlainClient client(endpoint());
  asio::write(client.socket, asio::buffer(std::string("BLAH\r\n\r\n")));
  http::response<http::string_body> response;
  beast::error_code ec;
  http::read(client.socket, client.buffer, response, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response.result_int(), 400u);
}

TEST_F(ServerFixture, ExpectContinueIsHonoured) {
  StartServer(Lab());
  PlainClient client(endpoint());
  auto request = Post("/mpic", HttpBody());
  request.set(http::field::expect, "100-continue");
  http::request_serializer<http::string_body> serializer(request);
  beast::error_code ec;
  http::write_header(client.socket, serializer, ec);
  ASSERT_FALSE(ec);
  char interim[64] = {};
  size_t n = client.socket.read_some(asio::buffer(interim, 25), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(std::string(interim, n).rfind("HTTP/1.1 100", 0), 0u);
  http::write(client.socket, serializer, ec);
  ASSERT_FALSE(ec);
  http::response<http::string_body> response;
  http::read(client.socket, client.buffer, response, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(response.result_int(), 200u);
}

TEST_F(ServerFixture, ApiKeyRequiredWhenConfigured) {
  ServerOptions options = Lab();
  options.api_keys = {{"ca-1", kKey}};
  StartServer(std::move(options));
  PlainClient client(endpoint());
  EXPECT_EQ(client.Send(Post("/mpic", HttpBody())).status, 401);
  auto wrong = Post("/mpic", HttpBody());
  wrong.set("x-api-key", std::string(kKey) + "x");
  EXPECT_EQ(client.Send(wrong).status, 401);
  auto right = Post("/mpic", HttpBody());
  right.set("X-Api-Key", kKey);  // header names are case-insensitive
  Reply reply = client.Send(right);
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(client.Send(Get("/healthz")).status, 200);  // liveness needs no key
  EXPECT_EQ(client.Send(Get("/configz")).status, 401);
  ASSERT_EQ(backend_.requests().size(), 1u);
  EXPECT_EQ(backend_.requests()[0].client, "api-key:ca-1");
}

TEST_F(ServerFixture, BackendErrorsAndTimeout) {
  ServerOptions options = Lab();
  options.backend_timeout = std::chrono::milliseconds(200);
  StartServer(std::move(options));
  PlainClient client(endpoint());
  backend_.mode = FakeBackend::Mode::kMalformed;
  Reply reply = client.Send(Post("/mpic", HttpBody()));
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body["validation_issues"][0]["issue_type"], "request-rejected-by-primary");
  backend_.mode = FakeBackend::Mode::kInternal;
  reply = client.Send(Post("/mpic", HttpBody()));
  EXPECT_EQ(reply.status, 500);
  EXPECT_EQ(reply.body["error"], "internal-server-error");
  EXPECT_FALSE(reply.body.contains("is_valid"));
  backend_.mode = FakeBackend::Mode::kRateLimited;
  reply = client.Send(Post("/mpic", HttpBody()));
  EXPECT_EQ(reply.status, 429);
  EXPECT_EQ(reply.body["error"], "rate-limited");
  EXPECT_EQ(reply.body["message"], "rate limited: per-identifier limit exceeded");
  EXPECT_TRUE(reply.keep_alive);
  EXPECT_TRUE(reply.retry_after.empty());
  backend_.mode = FakeBackend::Mode::kBusy;
  reply = client.Send(Post("/mpic", HttpBody()));
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(reply.body["error"], "busy");
  EXPECT_EQ(reply.body["message"], "va-primary busy: 1 validation in flight");
  EXPECT_EQ(reply.retry_after, "1");
  EXPECT_FALSE(reply.body.contains("is_valid"));
  EXPECT_TRUE(reply.keep_alive);
  backend_.mode = FakeBackend::Mode::kNever;
  reply = client.Send(Post("/mpic", HttpBody()));
  EXPECT_EQ(reply.status, 504);
  EXPECT_FALSE(reply.body.contains("is_valid"));
  backend_.mode = FakeBackend::Mode::kCorroborate;
  EXPECT_EQ(client.Send(Post("/mpic", HttpBody())).status, 200);
}

// Polls (bounded) until the backend has seen `n` requests.
bool WaitForRequests(FakeBackend& backend, std::size_t n) {
  for (int i = 0; i < 500; ++i) {
    if (backend.requests().size() >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST_F(ServerFixture, DrainAnswersInFlightClosesIdleAndStopsAccepting) {
  StartServer(Lab());
  // An idle keep-alive connection (one request answered, then quiet).
  PlainClient idle(endpoint());
  Reply first = idle.Send(Get("/healthz"));
  ASSERT_EQ(first.status, 200);
  ASSERT_TRUE(first.keep_alive);
  // A request in flight at the backend when the drain begins.
  backend_.mode = FakeBackend::Mode::kSlow;
  PlainClient busy(endpoint());
  beast::error_code ec;
  http::write(busy.socket, Post("/mpic", HttpBody()), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(WaitForRequests(backend_, 1));

  auto drained = std::async(std::launch::async, [this] {
    return server_->Drain(std::chrono::steady_clock::now() + std::chrono::seconds(8));
  });
  // The idle connection is closed without waiting for the busy one.
  EXPECT_TRUE(idle.ClosedByServer());
  // No new connections (the listener is closed; a connect that slipped in is closed unserved).
  {
    asio::io_context io;
    tcp::socket late(io);
    beast::error_code connect_ec;
    late.connect(endpoint(), connect_ec);
    if (!connect_ec) {
      BoundReads(late);
      char byte;
      late.read_some(asio::buffer(&byte, 1), connect_ec);
      EXPECT_TRUE(connect_ec == asio::error::eof || connect_ec == asio::error::connection_reset)
          << connect_ec.message();
    } else {
      EXPECT_EQ(connect_ec, asio::error::connection_refused) << connect_ec.message();
    }
  }
  backend_.Release();
  http::response_parser<http::string_body> parser;
  http::read(busy.socket, busy.buffer, parser, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(parser.get().result_int(), 200u);
  EXPECT_FALSE(parser.get().keep_alive());  // the answer says the connection ends
  EXPECT_EQ(json::parse(parser.get().body())["is_valid"], true);
  EXPECT_TRUE(busy.ClosedByServer());
  EXPECT_TRUE(drained.get());  // every connection ended before the deadline
}

TEST_F(ServerFixture, DrainGivesUpAtItsDeadline) {
  ServerOptions options = Lab();
  options.backend_timeout = std::chrono::seconds(30);  // longer than the drain allows
  StartServer(std::move(options));
  backend_.mode = FakeBackend::Mode::kNever;
  PlainClient stuck(endpoint());
  beast::error_code ec;
  http::write(stuck.socket, Post("/mpic", HttpBody()), ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_TRUE(WaitForRequests(backend_, 1));
  // The request cannot finish in time: Drain reports it and closes the connection anyway.
  EXPECT_FALSE(server_->Drain(std::chrono::steady_clock::now() + std::chrono::milliseconds(300)));
  EXPECT_TRUE(stuck.ClosedByServer());
}

TEST(ServerStartTest, RefusesUnsafeOptions) {
  asio::io_context io;
  FakeBackend backend;
  auto valid = [] {
    ServerOptions options;
    options.plaintext = options.lab_mode = true;
    options.floor = Floor();
    return options;
  };
  {
    auto server = Server::Start(io, valid(), backend);  // the baseline starts
    ASSERT_TRUE(server) << server.error().detail;
    (*server)->Stop();
  }
  ServerOptions plain = valid();
  plain.lab_mode = false;  // plaintext outside lab mode
  EXPECT_FALSE(Server::Start(io, plain, backend));
  ServerOptions no_tls = valid();
  no_tls.plaintext = false;  // TLS is the default and needs its files
  EXPECT_FALSE(Server::Start(io, no_tls, backend));
  ServerOptions short_key = valid();
  short_key.api_keys = {{"ca", "short"}};
  EXPECT_FALSE(Server::Start(io, short_key, backend));
  ServerOptions no_floor = valid();
  no_floor.floor = OrchestrationFloor{};  // no cohort configured
  EXPECT_FALSE(Server::Start(io, no_floor, backend));
  ServerOptions bad_listen = valid();
  bad_listen.listen = "localhost:80";
  EXPECT_FALSE(Server::Start(io, bad_listen, backend));
}

// --- TLS ---

class TlsServerTest : public ServerFixture {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("openmpic-tls-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto pki = mpic::lab::Pki::Create(dir_.string() + "/pki", "fleet CA");
    ASSERT_TRUE(pki) << pki.error().detail;
    pki_ = *pki;
    auto server = pki_.Issue("primary", {"primary"}, {"127.0.0.1"});
    auto client = pki_.Issue("ca-client", {"ca-client"}, {});
    ASSERT_TRUE(server && client);
    server_cert_ = *server;
    client_cert_ = *client;
    auto rogue = mpic::lab::Pki::Create(dir_.string() + "/rogue", "other CA");
    ASSERT_TRUE(rogue);
    auto rogue_client = rogue->Issue("ca-client", {"ca-client"}, {});
    ASSERT_TRUE(rogue_client);
    rogue_cert_ = *rogue_client;
  }

  void TearDown() override {
    ServerFixture::TearDown();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  ServerOptions Tls() {
    ServerOptions options;
    options.cert_file = server_cert_.cert_file;
    options.key_file = server_cert_.key_file;
    options.ca_file = pki_.ca_cert;
    return options;
  }

  // One request over a fresh TLS connection; the client certificate is optional.
  Reply TlsRequest(const mpic::lab::CertPair* cert, const std::string& api_key = "") {
    asio::io_context io;
    ssl::context context(ssl::context::tls_client);
    context.load_verify_file(pki_.ca_cert);
    context.set_verify_mode(ssl::verify_peer);
    if (cert != nullptr) {
      context.use_certificate_chain_file(cert->cert_file);
      context.use_private_key_file(cert->key_file, ssl::context::pem);
    }
    ssl::stream<tcp::socket> stream(io, context);
    stream.next_layer().connect(endpoint());
    BoundReads(stream.next_layer());
    Reply reply;
    beast::error_code ec;
    stream.handshake(ssl::stream_base::client, ec);
    if (ec) {
      reply.error = "handshake: " + ec.message();
      return reply;
    }
    beast::flat_buffer buffer;
    auto request = Post("/mpic", HttpBody());
    if (!api_key.empty()) request.set("x-api-key", api_key);
    return Exchange(stream, buffer, request);
  }

  std::filesystem::path dir_;
  mpic::lab::Pki pki_;
  mpic::lab::CertPair server_cert_, client_cert_, rogue_cert_;
};

TEST_F(TlsServerTest, MutualTlsAcceptsFleetCertificatesOnly) {
  StartServer(Tls());
  Reply ok = TlsRequest(&client_cert_);
  ASSERT_EQ(ok.error, "");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body["is_valid"], true);
  ASSERT_EQ(backend_.requests().size(), 1u);
  EXPECT_EQ(backend_.requests()[0].client, "cert:ca-client");

  Reply none = TlsRequest(nullptr);
  EXPECT_NE(none.error, "");  // no certificate: no connection (TLS 1.3 may fail on read)
  EXPECT_NE(none.status, 200);
  Reply rogue = TlsRequest(&rogue_cert_);
  EXPECT_NE(rogue.error, "");
  EXPECT_NE(rogue.status, 200);
  EXPECT_EQ(backend_.requests().size(), 1u);
}

TEST_F(TlsServerTest, ApiKeyWhereMutualTlsIsImpossible) {
  ServerOptions options = Tls();
  options.api_keys = {{"ca-legacy", kKey}};
  StartServer(std::move(options));
  Reply keyed = TlsRequest(nullptr, kKey);
  ASSERT_EQ(keyed.error, "");
  EXPECT_EQ(keyed.status, 200);
  Reply anonymous = TlsRequest(nullptr);
  ASSERT_EQ(anonymous.error, "");
  EXPECT_EQ(anonymous.status, 401);
  Reply cert = TlsRequest(&client_cert_);
  EXPECT_EQ(cert.status, 200);
  Reply rogue = TlsRequest(&rogue_cert_, kKey);  // a certificate of another CA is refused
  EXPECT_NE(rogue.status, 200);
  ASSERT_EQ(backend_.requests().size(), 2u);
  EXPECT_EQ(backend_.requests()[0].client, "api-key:ca-legacy");
  EXPECT_EQ(backend_.requests()[1].client, "cert:ca-client");
}

}  // namespace
}  // namespace mpic::openmpic
