// HTTP-01 end to end: the DNS lab (signed zones served by NSD on 127.A.B.0/24), libunbound,
// the TCP dialer in lab mode, and real HTTP servers that behave well or badly on purpose.
// Loopback only; every check runs with a short deadline and must return by it.
#include <gtest/gtest.h>

#include <atomic>
#include <map>

#include "checks/check.h"
#include "checks/testing/check_lab.h"
#include "checks/testing/tls_test_cert.h"
#include "checks/testing/web_test_server.h"

namespace mpic::checks {
namespace {

using namespace std::chrono_literals;
using testing::HttpResponse;
using testing::kTestKeyAuthorization;
using testing::kTestToken;
using testing::Respond;
using testing::ServerConnection;
using testing::TestWebServer;
using testing::CheckLab;

const std::string kPath = "/.well-known/acme-challenge/" + std::string(kTestToken);
const std::string kKa(kTestKeyAuthorization);

std::string Redirect(int status, const std::string& location) {
  return HttpResponse(status, "", {{"Location", location}});
}

// Answers by request target; 404 for anything else.
TestWebServer::Handler Routes(std::map<std::string, std::string> routes) {
  return [routes = std::move(routes)](ServerConnection& c) {
    auto request = c.ReadRequest();
    if (!request) return;
    auto it = routes.find(request->target);
    c.Write(it == routes.end() ? HttpResponse(404, "not found") : it->second);
  };
}

class Http01Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto lab = CheckLab::Start();
    if (!lab) {
      *setup_error_ = lab.error();
      return;
    }
    lab_ = lab->release();
    const std::string a0 = lab_->free_address(0);
    const std::string a1 = lab_->free_address(1);
    const std::vector<std::tuple<std::string, std::string, std::vector<std::string>>> records = {
        {"web", "A", {a0}},
        {"web2", "A", {a1}},
        {"v6", "A", {a0}},
        {"v6", "AAAA", {"::1"}},
        {"loopback", "A", {"127.0.0.1"}},
        {"private", "A", {"10.0.0.1"}},
        {"metadata", "A", {"169.254.169.254"}},
        {"mixed", "A", {"10.0.0.1", a0}},
        {"cname-web", "CNAME", {"web.secure.lab."}},
    };
    for (const auto& [name, type, rdata] : records) {
      if (auto err = lab_->Set(name, type, rdata); !err.empty()) {
        *setup_error_ = "Set " + name + " " + type + ": " + err;
        return;
      }
    }
  }

  static void TearDownTestSuite() {
    delete lab_;
    lab_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(lab_, nullptr) << "lab did not start: " << *setup_error_;
    ASSERT_TRUE(setup_error_->empty()) << *setup_error_;
  }

  static CheckRequest Request(std::string identifier, std::chrono::milliseconds timeout = 3s) {
    CheckRequest request;
    request.method = Method::kHttp01;
    request.identifier = std::move(identifier);
    request.token = std::string(kTestToken);
    request.key_authorization = kKa;
    request.deadline = Clock::now() + timeout;
    return request;
  }

  // A server on the lab's first free address (or `address`), port chosen by the kernel.
  static std::unique_ptr<TestWebServer> Serve(TestWebServer::Handler handler,
                                              std::string address = "", uint16_t port = 0,
                                              std::optional<testing::TlsServerOptions> tls = {}) {
    if (address.empty()) address = lab_->free_address(0);
    auto server = TestWebServer::Start(address, std::move(handler), std::move(tls), port);
    EXPECT_TRUE(server.has_value()) << server.error();
    return server ? std::move(*server) : nullptr;
  }

  static CheckResult Run(CheckRequest request, uint16_t http_port, uint16_t tls_port = 443) {
    auto dialer = lab_->MakeDialer(http_port, tls_port);
    EXPECT_NE(dialer, nullptr);
    auto start = Clock::now();
    auto deadline = request.deadline;
    CheckResult result = lab_->Run(*dialer, std::move(request));
    // The contract: a verdict by the deadline, plus scheduling slack.
    EXPECT_LT(Clock::now(), deadline + 2s) << "returned late";
    // Evidence must always serialize (untrusted bytes are escaped).
    std::string json = ToJson(result).dump();
    ::testing::Test::RecordProperty("result", json);
    std::printf("  %s (%.0f ms)\n", json.c_str(),
                std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    return result;
  }

  static void ExpectProblem(const CheckResult& r, ProblemType type, std::string_view part) {
    EXPECT_FALSE(r.valid);
    ASSERT_TRUE(r.problem.has_value());
    EXPECT_EQ(ProblemTypeName(r.problem->type), ProblemTypeName(type)) << r.problem->detail;
    EXPECT_NE(r.problem->detail.find(part), std::string::npos)
        << "\"" << part << "\" not in: " << r.problem->detail;
  }

  static void ExpectValid(const CheckResult& r) {
    EXPECT_TRUE(r.valid) << (r.problem ? r.problem->detail : "");
    EXPECT_FALSE(r.problem.has_value());
  }

  static inline CheckLab* lab_ = nullptr;
  static inline std::string* setup_error_ = new std::string;
};

// --- Good servers ----------------------------------------------------------------------------

TEST_F(Http01Test, ValidDnsIdentifier) {
  auto server = Serve(Respond(HttpResponse(200, kKa)));
  auto r = Run(Request("web.secure.lab"), server->port());
  ExpectValid(r);
  ASSERT_EQ(r.evidence.lookups.size(), 2u);
  EXPECT_EQ(r.evidence.lookups[0].type, "AAAA");
  EXPECT_EQ(r.evidence.lookups[1].type, "A");
  EXPECT_EQ(r.evidence.lookups[1].dnssec, "secure");
  EXPECT_EQ(r.evidence.addresses_resolved, std::vector<std::string>{lab_->free_address(0)});
  EXPECT_EQ(r.evidence.address_used, lab_->free_address(0));
  ASSERT_EQ(r.evidence.http_hops.size(), 1u);
  EXPECT_EQ(r.evidence.http_hops[0].status, 200);
  EXPECT_EQ(r.evidence.http_hops[0].url, "http://web.secure.lab" + kPath);
  EXPECT_EQ(r.evidence.http_body, kKa);
  auto requests = server->requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, kPath);
  EXPECT_EQ(requests[0].host, "web.secure.lab");
}

TEST_F(Http01Test, UpperCaseIdentifierAndCname) {
  auto server = Serve(Respond(HttpResponse(200, kKa)));
  auto r = Run(Request("CNAME-Web.Secure.Lab"), server->port());
  ExpectValid(r);
  EXPECT_EQ(server->requests().at(0).host, "cname-web.secure.lab");
  ASSERT_FALSE(r.evidence.lookups.empty());
  EXPECT_FALSE(r.evidence.lookups[1].cname_chain.empty());
}

TEST_F(Http01Test, TrailingWhitespaceIsIgnored) {
  auto server = Serve(Respond(HttpResponse(200, kKa + "\r\n \t\n")));
  ExpectValid(Run(Request("web.secure.lab"), server->port()));
}

TEST_F(Http01Test, BodyWithoutContentLengthEndsAtClose) {
  auto server = Serve(Respond("HTTP/1.0 200 OK\r\n\r\n" + kKa + "\n"));
  ExpectValid(Run(Request("web.secure.lab"), server->port()));
}

TEST_F(Http01Test, IpIdentifier) {
  // RFC 8738: no DNS at all; Host is the address.
  auto server = Serve(Respond(HttpResponse(200, kKa)));
  auto r = Run(Request(lab_->free_address(0)), server->port());
  ExpectValid(r);
  EXPECT_TRUE(r.evidence.lookups.empty());
  EXPECT_EQ(server->requests().at(0).host, lab_->free_address(0));
}

TEST_F(Http01Test, Ipv6IsTriedFirst) {
  auto v4 = Serve(Respond(HttpResponse(200, "served over IPv4")));
  auto v6 = Serve(Respond(HttpResponse(200, kKa)), "::1", v4->port());
  if (!v6) GTEST_SKIP() << "port busy on ::1";
  auto r = Run(Request("v6.secure.lab"), v4->port());
  ExpectValid(r);
  EXPECT_EQ(r.evidence.address_used, "::1");
  EXPECT_EQ(v4->connections(), 0);
  EXPECT_EQ(r.evidence.addresses_resolved,
            (std::vector<std::string>{"::1", lab_->free_address(0)}));
}

TEST_F(Http01Test, FallsBackToIpv4WhenIpv6Refuses) {
  auto v4 = Serve(Respond(HttpResponse(200, kKa)));
  // Nothing listens on [::1]:port (a bound, non-listening socket holds the port).
  asio::io_context io;
  asio::ip::tcp::socket hold(io);
  hold.open(asio::ip::tcp::v6());
  boost::system::error_code ec;
  hold.bind({asio::ip::make_address("::1"), v4->port()}, ec);
  if (ec) GTEST_SKIP() << "port busy on ::1";
  auto r = Run(Request("v6.secure.lab"), v4->port());
  ExpectValid(r);
  EXPECT_EQ(r.evidence.address_used, lab_->free_address(0));
  ASSERT_EQ(r.evidence.http_hops.size(), 2u);
  EXPECT_EQ(r.evidence.http_hops[0].address, "::1");
  EXPECT_NE(r.evidence.http_hops[0].error.find("refused"), std::string::npos);
  EXPECT_EQ(r.evidence.http_hops[1].status, 200);
}

TEST_F(Http01Test, SkipsRefusedAddressesOfAName) {
  auto server = Serve(Respond(HttpResponse(200, kKa)));
  int before = lab_->metrics().refused;
  auto r = Run(Request("mixed.secure.lab"), server->port());
  ExpectValid(r);
  EXPECT_EQ(r.evidence.address_used, lab_->free_address(0));
  EXPECT_GT(lab_->metrics().refused, before);
}

// --- Redirects -------------------------------------------------------------------------------

TEST_F(Http01Test, FollowsEveryAllowedRedirectKind) {
  auto first = Serve(Routes({{kPath, Redirect(301, "/r1")},
                             {"/r1", Redirect(302, "http://web.secure.lab/r2")},
                             {"/r2", Redirect(307, "r3")},
                             {"/r3", Redirect(308, "//web2.secure.lab/final#frag")}}));
  auto second =
      Serve(Routes({{"/final", HttpResponse(200, kKa)}}), lab_->free_address(1), first->port());
  ASSERT_NE(second, nullptr);
  auto r = Run(Request("web.secure.lab"), first->port());
  ExpectValid(r);
  ASSERT_EQ(r.evidence.http_hops.size(), 5u);
  EXPECT_EQ(r.evidence.http_hops[0].status, 301);
  EXPECT_EQ(r.evidence.http_hops[0].location, "/r1");
  EXPECT_EQ(r.evidence.http_hops[4].url, "http://web2.secure.lab/final");
  EXPECT_EQ(r.evidence.address_used, lab_->free_address(1));
  EXPECT_EQ(second->requests().at(0).host, "web2.secure.lab");
  // Each hop's name was resolved again: web (AAAA, A) x4 and web2 (AAAA, A).
  EXPECT_EQ(r.evidence.lookups.size(), 10u);
}

std::map<std::string, std::string> Chain(int redirects) {
  std::map<std::string, std::string> routes;
  std::string from = kPath;
  for (int i = 0; i < redirects; ++i) {
    std::string to = "/hop" + std::to_string(i);
    routes[from] = Redirect(302, to);
    from = to;
  }
  routes[from] = HttpResponse(200, kKa);
  return routes;
}

TEST_F(Http01Test, TenRedirectsAreAllowed) {
  auto server = Serve(Routes(Chain(10)));
  auto r = Run(Request("web.secure.lab"), server->port());
  ExpectValid(r);
  EXPECT_EQ(r.evidence.http_hops.size(), 11u);
}

TEST_F(Http01Test, ElevenRedirectsAreTooMany) {
  auto server = Serve(Routes(Chain(11)));
  ExpectProblem(Run(Request("web.secure.lab"), server->port()), ProblemType::kConnection,
                "too many redirects");
  EXPECT_EQ(server->requests().size(), 11u);
}

TEST_F(Http01Test, RedirectLoop) {
  auto server = Serve(Routes({{kPath, Redirect(302, "/a")}, {"/a", Redirect(301, kPath)}}));
  ExpectProblem(Run(Request("web.secure.lab"), server->port()), ProblemType::kConnection,
                "redirect loop");
}

TEST_F(Http01Test, SelfRedirect) {
  auto server = Serve(Routes({{kPath, Redirect(302, kPath)}}));
  ExpectProblem(Run(Request("web.secure.lab"), server->port()), ProblemType::kConnection,
                "redirect loop");
}

TEST_F(Http01Test, RedirectTargetsThatAreRefused) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"http://127.0.0.1/x", "127.0.0.0/8"},
      {"http://169.254.169.254/latest/meta-data/", "169.254.0.0/16"},
      {"http://10.0.0.1/", "10.0.0.0/8"},
      {"http://[fe80::1]/", "fe80::/10"},
      {"http://[::ffff:169.254.169.254]/", "169.254.0.0/16"},
      {"http://loopback.secure.lab/", "127.0.0.0/8"},
      {"http://private.secure.lab/", "10.0.0.0/8"},
      {"http://metadata.secure.lab/", "169.254.0.0/16"},
      {"http://web.secure.lab:8080/", "port 8080"},
      {"http://web.secure.lab:22/", "port 22"},
      {"ftp://web.secure.lab/x", "scheme \"ftp\""},
      {"file:///etc/passwd", "scheme \"file\""},
      {"gopher://web.secure.lab/", "scheme \"gopher\""},
      {"http://user:pw@web.secure.lab/", "credentials"},
      {"http://localhost/", "not a valid domain name"},
      {"http://2130706433/", "not a valid domain name"},
  };
  for (const auto& [location, part] : cases) {
    SCOPED_TRACE(location);
    auto server = Serve(Routes({{kPath, Redirect(302, location)}}));
    ExpectProblem(Run(Request("web.secure.lab"), server->port()), ProblemType::kConnection, part);
    EXPECT_EQ(server->requests().size(), 1u);
  }
}

TEST_F(Http01Test, RedirectToTheLabPortPlusOneIsRefused) {
  auto port = std::make_shared<std::atomic<int>>(0);
  auto server = Serve([port](ServerConnection& c) {
    if (!c.ReadRequest()) return;
    c.Write(Redirect(302, "http://web.secure.lab:" + std::to_string(*port + 1) + "/"));
  });
  *port = server->port();
  ExpectProblem(Run(Request("web.secure.lab"), server->port()), ProblemType::kConnection,
                "port " + std::to_string(server->port() + 1));
}

TEST_F(Http01Test, RedirectStatusWithoutLocation) {
  auto server = Serve(Respond(HttpResponse(302, "")));
  ExpectProblem(Run(Request("web.secure.lab"), server->port()), ProblemType::kUnauthorized,
                "302 without a Location");
}

TEST_F(Http01Test, OtherThreeHundredsAreNotFollowed) {
  for (int status : {300, 303, 304, 305}) {
    SCOPED_TRACE(status);
    auto server =
        Serve(Routes({{kPath, Redirect(status, "/ok")}, {"/ok", HttpResponse(200, kKa)}}));
    ExpectProblem(Run(Request("web.secure.lab"), server->port()), ProblemType::kUnauthorized,
                  "HTTP status " + std::to_string(status));
  }
}

TEST_F(Http01Test, HttpsRedirectDoesNotValidateTheCertificate) {
  auto cert = testing::MakeTestCert({{"somewhere-else.example"}, {}, 1, std::nullopt});
  ASSERT_TRUE(cert.has_value());
  testing::TlsServerOptions tls{*cert, {}, false};
  auto https = Serve(Routes({{"/secure", HttpResponse(200, kKa)}}), lab_->free_address(1), 0, tls);
  auto http = Serve(Routes({{kPath, Redirect(302, "https://web2.secure.lab/secure")}}));
  auto r = Run(Request("web.secure.lab"), http->port(), https->port());
  ExpectValid(r);
  EXPECT_EQ(r.evidence.address_used, lab_->free_address(1));
  EXPECT_EQ(https->server_names().at(0), "web2.secure.lab");
  EXPECT_EQ(https->requests().at(0).host, "web2.secure.lab");
}

TEST_F(Http01Test, HttpsRedirectToAPlainServerIsATlsProblem) {
  // Answers at once, without waiting for a request: the client reads HTTP where it expects a
  // ServerHello.
  auto plain =
      Serve([](ServerConnection& c) { c.Write(HttpResponse(200, kKa)); }, lab_->free_address(1));
  auto http = Serve(Routes({{kPath, Redirect(302, "https://web2.secure.lab/x")}}));
  ExpectProblem(Run(Request("web.secure.lab"), http->port(), plain->port()), ProblemType::kTls,
                "TLS handshake");
}

// --- Bad answers -----------------------------------------------------------------------------

TEST_F(Http01Test, WrongBody) {
  auto server = Serve(Respond(HttpResponse(200, "not the key authorization")));
  auto r = Run(Request("web.secure.lab"), server->port());
  ExpectProblem(r, ProblemType::kUnauthorized, "did not match");
  EXPECT_EQ(r.evidence.http_body, "not the key authorization");
}

TEST_F(Http01Test, LeadingWhitespaceIsNotIgnored) {
  auto server = Serve(Respond(HttpResponse(200, " " + kKa)));
  ExpectProblem(Run(Request("web.secure.lab"), server->port()), ProblemType::kUnauthorized,
                "did not match");
}

TEST_F(Http01Test, BinaryBodyIsEscapedInEvidence) {
  auto server = Serve(Respond(HttpResponse(200, std::string("\xff\xfe\0\x01", 4))));
  auto r = Run(Request("web.secure.lab"), server->port());
  ExpectProblem(r, ProblemType::kUnauthorized, "did not match");
  EXPECT_EQ(r.evidence.http_body, "\\xff\\xfe\\x00\\x01");
}

TEST_F(Http01Test, WrongStatus) {
  for (int status : {404, 500, 201, 204, 403}) {
    SCOPED_TRACE(status);
    auto server = Serve(Respond(HttpResponse(status, kKa)));
    auto r = Run(Request("web.secure.lab"), server->port());
    ExpectProblem(r, ProblemType::kUnauthorized, "HTTP status " + std::to_string(status));
    EXPECT_EQ(r.evidence.http_hops.at(0).status, status);
  }
}

TEST_F(Http01Test, FourGibibyteBody) {
  // Claims 4 GiB and streams zeros for as long as anyone reads: the check reads 129 bytes.
  auto server = Serve([](ServerConnection& c) {
    if (!c.ReadRequest()) return;
    if (!c.Write("HTTP/1.1 200 OK\r\nContent-Length: 4294967296\r\n\r\n")) return;
    std::string chunk(64 * 1024, '0');
    for (int i = 0; i < 65536 && c.Write(chunk); ++i) {
    }
  });
  auto r = Run(Request("web.secure.lab"), server->port());
  ExpectProblem(r, ProblemType::kUnauthorized, "longer than 128 bytes");
  EXPECT_EQ(r.evidence.http_body.size(), 128u + 3u);  // 128 bytes and "..."
}

TEST_F(Http01Test, EndlessChunkedBody) {
  auto server = Serve([](ServerConnection& c) {
    if (!c.ReadRequest()) return;
    if (!c.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")) return;
    for (int i = 0; i < 100000 && c.Write("10\r\n0123456789abcdef\r\n"); ++i) {
    }
  });
  ExpectProblem(Run(Request("web.secure.lab"), server->port()), ProblemType::kUnauthorized,
                "longer than 128 bytes");
}

TEST_F(Http01Test, SlowDripBody) {
  auto server = Serve([](ServerConnection& c) {
    if (!c.ReadRequest()) return;
    if (!c.Write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")) return;
    for (int i = 0; i < 100 && c.Write("x") && c.Sleep(1s); ++i) {
    }
  });
  ExpectProblem(Run(Request("web.secure.lab", 2s), server->port()), ProblemType::kConnection,
                "timeout");
}

TEST_F(Http01Test, SlowDripHeaders) {
  auto server = Serve([](ServerConnection& c) {
    if (!c.ReadRequest()) return;
    for (char ch : std::string("HTTP/1.1 200 OK\r\nX-Slow: yes\r\n\r\n")) {
      if (!c.Write(std::string(1, ch)) || !c.Sleep(1s)) return;
    }
  });
  ExpectProblem(Run(Request("web.secure.lab", 2s), server->port()), ProblemType::kConnection,
                "timeout");
}

TEST_F(Http01Test, AcceptsAndNeverAnswers) {
  auto server = Serve([](ServerConnection& c) {
    (void)c.ReadRequest();
    c.WaitForPeerClose(30s);
  });
  ExpectProblem(Run(Request("web.secure.lab", 2s), server->port()), ProblemType::kConnection,
                "timeout");
}

TEST_F(Http01Test, ClosesWithoutAnswer) {
  auto server = Serve([](ServerConnection& c) { (void)c.ReadRequest(); });
  ExpectProblem(Run(Request("web.secure.lab"), server->port()), ProblemType::kConnection,
                "closed the connection");
}

TEST_F(Http01Test, HugeHeaders) {
  std::string response =
      "HTTP/1.1 200 OK\r\nX-Big: " + std::string(20000, 'a') + "\r\nContent-Length: 0\r\n\r\n";
  auto server = Serve(Respond(response));
  ExpectProblem(Run(Request("web.secure.lab"), server->port()), ProblemType::kConnection,
                "exceed 8192 bytes");
}

TEST_F(Http01Test, GarbageResponse) {
  auto server = Serve(Respond("SSH-2.0-OpenSSH_9.2\r\n\r\n"));
  ExpectProblem(Run(Request("web.secure.lab"), server->port()), ProblemType::kConnection,
                "malformed HTTP response");
}

TEST_F(Http01Test, ConnectionRefused) {
  uint16_t port = 0;
  {
    auto server = Serve(Respond(""));
    port = server->port();
  }
  auto r = Run(Request("web.secure.lab"), port);
  ExpectProblem(r, ProblemType::kConnection, "refused");
  ASSERT_EQ(r.evidence.http_hops.size(), 1u);
  EXPECT_EQ(r.evidence.http_hops[0].address, lab_->free_address(0));
}

TEST_F(Http01Test, DeadlineAlreadyPassed) {
  auto server = Serve(Respond(HttpResponse(200, kKa)));
  auto r = Run(Request("web.secure.lab", -1s), server->port());
  EXPECT_FALSE(r.valid);
  ASSERT_TRUE(r.problem.has_value());
}

// --- DNS ---------------------------------------------------------------------------------------

TEST_F(Http01Test, DnsFailures) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"www.expired.lab", "bogus"},         // expired signatures
      {"www.bogus.lab", "bogus"},           // broken signatures
      {"cname-bogus.secure.lab", "bogus"},  // a secure CNAME into a bogus zone
      {"nothing-here.secure.lab", "NXDOMAIN"},
      {"txt.secure.lab", "no A or AAAA"},
  };
  auto server = Serve(Respond(HttpResponse(200, kKa)));
  for (const auto& [name, part] : cases) {
    SCOPED_TRACE(name);
    auto r = Run(Request(name), server->port());
    ExpectProblem(r, ProblemType::kDns, part);
    EXPECT_FALSE(r.evidence.lookups.empty());
  }
  EXPECT_EQ(server->connections(), 0);
}

TEST_F(Http01Test, NamesThatOnlyResolveToRefusedAddresses) {
  auto server = Serve(Respond(HttpResponse(200, kKa)));
  ExpectProblem(Run(Request("private.secure.lab"), server->port()), ProblemType::kConnection,
                "10.0.0.0/8");
  ExpectProblem(Run(Request("loopback.secure.lab"), server->port()), ProblemType::kConnection,
                "127.0.0.0/8");
  ExpectProblem(Run(Request("metadata.secure.lab"), server->port()), ProblemType::kConnection,
                "169.254.0.0/16");
  EXPECT_EQ(server->connections(), 0);
}

TEST_F(Http01Test, UlaAaaaIsRefusedAndIpv4IsTried) {
  // www.secure.lab: AAAA in fd00::/8 (refused), A on the lab's data host (nothing listens).
  auto server = Serve(Respond(HttpResponse(200, kKa)));
  auto r = Run(Request("www.secure.lab"), server->port());
  ExpectProblem(r, ProblemType::kConnection, "refused");
  EXPECT_EQ(r.evidence.addresses_resolved.size(), 2u);
  ASSERT_EQ(r.evidence.http_hops.size(), 1u);
  EXPECT_NE(r.evidence.http_hops[0].address.find(".200"), std::string::npos);
}

TEST_F(Http01Test, ProductionPolicyRefusesTheWholeLab) {
  auto server = Serve(Respond(HttpResponse(200, kKa)));
  auto dialer = TcpDialer::Create(lab_->io().get_executor(), AddressPolicy{});
  ASSERT_TRUE(dialer.has_value());
  auto r = lab_->Run(**dialer, Request("web.secure.lab"));
  ExpectProblem(r, ProblemType::kConnection, "127.0.0.0/8");
  auto ip = lab_->Run(**dialer, Request(lab_->free_address(0)));
  ExpectProblem(ip, ProblemType::kRejectedIdentifier, "127.0.0.0/8");
  EXPECT_EQ(server->connections(), 0);
}

// --- Requests refused before any traffic ---------------------------------------------------------

TEST_F(Http01Test, RejectedIpIdentifiers) {
  auto server = Serve(Respond(HttpResponse(200, kKa)));
  for (const char* ip : {"10.0.0.1", "127.0.0.1", "169.254.169.254", "::1", "fe80::1"}) {
    SCOPED_TRACE(ip);
    auto dialer = lab_->MakeDialer(server->port(), 443, {});
    auto r = lab_->Run(*dialer, Request(ip));
    ExpectProblem(r, ProblemType::kRejectedIdentifier, "IP identifier refused");
  }
  EXPECT_EQ(server->connections(), 0);
}

TEST_F(Http01Test, MalformedRequests) {
  auto server = Serve(Respond(HttpResponse(200, kKa)));
  auto bad_ident = Request("not a name");
  auto wildcard = Request("*.secure.lab");
  auto bad_ip = Request("127.000.0.1");
  auto short_token = Request("web.secure.lab");
  short_token.token = "short";
  auto slash_token = Request("web.secure.lab");
  slash_token.token = "../../../../etc/passwd/aaaaaaaaaaaaaaaa";
  auto foreign_ka = Request("web.secure.lab");
  foreign_ka.key_authorization = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.thumb";
  auto bad_ka = Request("web.secure.lab");
  bad_ka.key_authorization = std::string(kTestToken) + ".thumb print";
  for (auto* req :
       {&bad_ident, &wildcard, &bad_ip, &short_token, &slash_token, &foreign_ka, &bad_ka}) {
    SCOPED_TRACE(req->identifier + " " + req->token);
    auto r = Run(*req, server->port());
    ExpectProblem(r, ProblemType::kMalformed, "");
    EXPECT_TRUE(r.evidence.lookups.empty());
  }
  EXPECT_EQ(server->connections(), 0);
}

}  // namespace
}  // namespace mpic::checks
