// Agreed-upon change to website v2 (BR §3.2.2.4.18) end to end: the DNS lab, libunbound, the
// lab-mode dialer and real HTTP/HTTPS servers. The lab is the binary's one (registered in
// br_dns_methods_lab_test.cc).
#include <gtest/gtest.h>

#include <map>

#include "checks/check.h"
#include "checks/testing/check_lab.h"
#include "checks/testing/tls_test_cert.h"
#include "checks/testing/web_test_server.h"

namespace mpic::checks {
namespace {

using namespace std::chrono_literals;
using testing::HttpResponse;
using testing::LabEnv;
using testing::Respond;
using testing::ServerConnection;
using testing::TestWebServer;

constexpr const char* kValue = "Zt5Hq8Wn3Kd7Vb2Xc9Lm";  // 20 octets
const std::string kPath = "/.well-known/pki-validation/mpic-4711.txt";

TestWebServer::Handler Routes(std::map<std::string, std::string> routes) {
  return [routes = std::move(routes)](ServerConnection& c) {
    auto request = c.ReadRequest();
    if (!request) return;
    auto it = routes.find(request->target);
    c.Write(it == routes.end() ? HttpResponse(404, "not found") : it->second);
  };
}

class WebsiteChangeLab : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(LabEnv::check_lab(), nullptr);
    static bool records = false;
    if (!records) {
      auto* lab = LabEnv::lab();
      for (const auto& [name, address] :
           std::vector<std::pair<std::string, std::string>>{
               {"w1.secure.lab.", LabEnv::check_lab()->free_address(0)},
               {"w2.secure.lab.", LabEnv::check_lab()->free_address(1)},
               {"w3.secure.lab.", "10.0.0.1"}}) {
        auto st = lab->Set("secure.lab.", name, "A", {address});
        ASSERT_TRUE(st.has_value()) << st.error();
      }
      records = true;
    }
  }

  static std::unique_ptr<TestWebServer> Serve(TestWebServer::Handler handler, size_t address = 0,
                                              std::optional<testing::TlsServerOptions> tls = {}) {
    auto server = TestWebServer::Start(LabEnv::check_lab()->free_address(address),
                                       std::move(handler), std::move(tls), 0);
    EXPECT_TRUE(server.has_value()) << server.error();
    return server ? std::move(*server) : nullptr;
  }

  static CheckRequest Request(std::string identifier, std::string value = kValue) {
    CheckRequest r;
    r.method = Method::kWebsiteChange;
    r.identifier = std::move(identifier);
    r.challenge_value = std::move(value);
    r.http_token_path = "mpic-4711.txt";
    r.deadline = Clock::now() + 4s;
    return r;
  }

  static CheckResult Run(CheckRequest request, uint16_t http_port, uint16_t tls_port = 443) {
    auto dialer = LabEnv::check_lab()->MakeDialer(http_port, tls_port);
    EXPECT_NE(dialer, nullptr);
    auto deadline = request.deadline;
    CheckResult r = LabEnv::check_lab()->Run(*dialer, std::move(request));
    EXPECT_LT(Clock::now(), deadline + 2s) << "returned late";
    EXPECT_FALSE(ToJson(r).dump().empty());
    return r;
  }

  static std::string Problem(const CheckResult& r) { return testing::ProblemName(r); }
};

TEST_F(WebsiteChangeLab, ValueInTheFileOverHttp) {
  auto server = Serve(Routes({{kPath, HttpResponse(200, std::string("token: ") + kValue + "\n")}}));
  CheckResult r = Run(Request("w1.secure.lab"), server->port());
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.method, Method::kWebsiteChange);
  ASSERT_FALSE(r.evidence.http_hops.empty());
  EXPECT_EQ(r.evidence.http_hops[0].url, "http://w1.secure.lab" + kPath);
  EXPECT_EQ(r.evidence.matched_value, kValue);
  EXPECT_EQ(ToJson(r)["method"], "website-change");
  // Exact match: the file holds more than the value.
  CheckRequest exact = Request("w1.secure.lab");
  exact.require_exact_match = true;
  EXPECT_EQ(Problem(Run(exact, server->port())), "unauthorized");
}

TEST_F(WebsiteChangeLab, ExactMatchIgnoresTrailingWhitespaceAndCaseRules) {
  auto server = Serve(Routes({{kPath, HttpResponse(200, std::string(kValue) + "\r\n")}}));
  CheckRequest exact = Request("w1.secure.lab");
  exact.require_exact_match = true;
  EXPECT_TRUE(Run(exact, server->port()).valid);
  std::string lower = kValue;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  EXPECT_EQ(Problem(Run(Request("w1.secure.lab", lower), server->port())), "unauthorized");
  CheckRequest relaxed = Request("w1.secure.lab", lower);
  relaxed.require_exact_case = false;
  EXPECT_TRUE(Run(relaxed, server->port()).valid);
}

TEST_F(WebsiteChangeLab, HttpsWithoutCertificateValidationAndRedirects) {
  auto cert = testing::MakeTestCert({{"somewhere-else.example"}, {}, 1, std::nullopt});
  ASSERT_TRUE(cert.has_value());
  testing::TlsServerOptions tls{*cert, {}, false};
  auto https = Serve(Routes({{"/moved", HttpResponse(200, kValue)}}), 1, tls);
  auto http = Serve(Routes({{kPath, HttpResponse(301, "", {{"Location",
                                                            "https://w2.secure.lab/moved"}})}}));
  CheckResult r = Run(Request("w1.secure.lab"), http->port(), https->port());
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.evidence.http_hops.size(), 2u);
  // url_scheme https: the first request is already over TLS.
  auto direct = Serve(Routes({{kPath, HttpResponse(200, kValue)}}), 1, tls);
  CheckRequest s = Request("w2.secure.lab");
  s.url_scheme = "https";
  r = Run(s, 1, direct->port());
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  EXPECT_EQ(r.evidence.http_hops.at(0).url, "https://w2.secure.lab" + kPath);
}

TEST_F(WebsiteChangeLab, RedirectRulesAreHttp01s) {
  // A redirect to a port that is neither the http nor the https port.
  auto http = Serve(Routes({{kPath, HttpResponse(302, "", {{"Location",
                                                            "http://w1.secure.lab:8081/x"}})}}));
  EXPECT_EQ(Problem(Run(Request("w1.secure.lab"), http->port())), "connection");
  // A name whose address the policy refuses (private range): refused before any connect, so
  // 10.0.0.1 is never contacted.
  CheckResult refused = Run(Request("w3.secure.lab"), http->port());
  EXPECT_EQ(Problem(refused), "connection");
  ASSERT_TRUE(refused.problem.has_value());
  EXPECT_NE(refused.problem->detail.find("address 10.0.0.1 is in"), std::string::npos)
      << refused.problem->detail;
  // 404, and a body without the value.
  auto missing = Serve(Routes({}));
  EXPECT_EQ(Problem(Run(Request("w1.secure.lab"), missing->port())), "unauthorized");
}

TEST_F(WebsiteChangeLab, HostileBodiesAndBadRequests) {
  // A large body with NULs and non-ASCII octets before the value: read up to the limit.
  std::string body(8000, '\0');
  body += "\xff\xfe\xc3\xa9";
  body += kValue;
  auto server = Serve(Routes({{kPath, HttpResponse(200, body)}}));
  CheckResult r = Run(Request("w1.secure.lab"), server->port());
  EXPECT_TRUE(r.valid) << ToJson(r).dump();
  // Past the read limit the value is not seen.
  std::string huge(20000, 'x');
  huge += kValue;
  auto big = Serve(Routes({{kPath, HttpResponse(200, huge)}}));
  EXPECT_EQ(Problem(Run(Request("w1.secure.lab"), big->port())), "unauthorized");
  // Requests refused before any traffic.
  for (const char* path : {"../x", "/abs", "a//b", "a/./b", "q?x=1", "%2e%2e", ""}) {
    CheckRequest bad = Request("w1.secure.lab");
    bad.http_token_path = path;
    EXPECT_EQ(Problem(Run(bad, server->port())), "malformed") << path;
  }
  CheckRequest regex = Request("w1.secure.lab");
  regex.match_regex = ".*";
  EXPECT_EQ(Problem(Run(regex, server->port())), "malformed");
  CheckRequest scheme = Request("w1.secure.lab");
  scheme.url_scheme = "ftp";
  EXPECT_EQ(Problem(Run(scheme, server->port())), "malformed");
  EXPECT_EQ(Problem(Run(Request("*.w1.secure.lab"), server->port())), "malformed");
  EXPECT_EQ(Problem(Run(Request("w1.secure.lab", "short"), server->port())), "malformed");
}

}  // namespace
}  // namespace mpic::checks
