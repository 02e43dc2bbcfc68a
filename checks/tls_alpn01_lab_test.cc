// TLS-ALPN-01 end to end: the DNS lab, libunbound, the TCP dialer in lab mode and real TLS
// servers presenting right and wrong certificates. Loopback only; short deadlines.
#include <gtest/gtest.h>

#include "checks/check.h"
#include "checks/internal/tls_cert.h"
#include "checks/key_authorization.h"
#include "checks/testing/check_lab.h"
#include "checks/testing/tls_test_cert.h"
#include "checks/testing/web_test_server.h"

namespace mpic::checks {
namespace {

using namespace std::chrono_literals;
using testing::AcmeExtensionValue;
using testing::kTestKeyAuthorization;
using testing::MakeTestCert;
using testing::ServerConnection;
using testing::TestCertSpec;
using testing::TestWebServer;
using testing::TlsServerOptions;
using testing::CheckLab;

const std::string kKa(kTestKeyAuthorization);

class TlsAlpn01Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto lab = CheckLab::Start();
    if (!lab) {
      *setup_error_ = lab.error();
      return;
    }
    lab_ = lab->release();
    const std::string a0 = lab_->free_address(0);
    const std::vector<std::tuple<std::string, std::string, std::vector<std::string>>> records = {
        {"tls", "A", {a0}},
        {"v6", "A", {a0}},
        {"v6", "AAAA", {"::1"}},
        {"private", "A", {"192.168.1.1"}},
        {"cname-tls", "CNAME", {"tls.secure.lab."}},
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
    request.method = Method::kTlsAlpn01;
    request.identifier = std::move(identifier);
    request.key_authorization = kKa;
    request.deadline = Clock::now() + timeout;
    return request;
  }

  static TlsServerOptions Options(TestCertSpec spec, std::vector<std::string> alpn = {"acme-tls/1"},
                                  bool alert = false) {
    auto cert = MakeTestCert(spec);
    EXPECT_TRUE(cert.has_value()) << cert.error();
    return TlsServerOptions{cert ? *cert : testing::TestCert{}, std::move(alpn), alert};
  }

  // RFC 8737 §3: the server completes the handshake and closes; nothing else is exchanged.
  static std::unique_ptr<TestWebServer> ServeTls(TlsServerOptions options, std::string address = "",
                                                 uint16_t port = 0) {
    if (address.empty()) address = lab_->free_address(0);
    auto server = TestWebServer::Start(
        address, [](ServerConnection&) {}, std::move(options), port);
    EXPECT_TRUE(server.has_value()) << server.error();
    return server ? std::move(*server) : nullptr;
  }

  static std::unique_ptr<TestWebServer> ServePlain(TestWebServer::Handler handler) {
    auto server = TestWebServer::Start(lab_->free_address(0), std::move(handler));
    EXPECT_TRUE(server.has_value()) << server.error();
    return server ? std::move(*server) : nullptr;
  }

  static CheckResult Run(CheckRequest request, uint16_t tls_port,
                         std::vector<std::string> extra_ranges = {"::1/128"}) {
    auto dialer = lab_->MakeDialer(80, tls_port, std::move(extra_ranges));
    EXPECT_NE(dialer, nullptr);
    auto deadline = request.deadline;
    CheckResult result = lab_->Run(*dialer, std::move(request));
    EXPECT_LT(Clock::now(), deadline + 2s) << "returned late";
    std::string json = ToJson(result).dump();
    std::printf("  %s\n", json.c_str());
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

  static TestCertSpec Good(std::string name = "tls.secure.lab") {
    return {{std::move(name)}, {}, 1, AcmeExtensionValue(kKa)};
  }

  static inline CheckLab* lab_ = nullptr;
  static inline std::string* setup_error_ = new std::string;
};

TEST_F(TlsAlpn01Test, ValidDnsIdentifier) {
  auto options = Options(Good());
  auto der = options.cert.der;
  auto server = ServeTls(std::move(options));
  auto r = Run(Request("tls.secure.lab"), server->port());
  ExpectValid(r);
  EXPECT_EQ(r.evidence.alpn, "acme-tls/1");
  EXPECT_EQ(r.evidence.cert_sans, std::vector<std::string>{"DNS:tls.secure.lab"});
  EXPECT_EQ(r.evidence.acme_identifier_hex, Hex(Sha256(kKa)));
  EXPECT_EQ(r.evidence.cert_sha256,
            Hex(Sha256(std::string_view(reinterpret_cast<const char*>(der.data()), der.size()))));
  EXPECT_EQ(r.evidence.address_used, lab_->free_address(0));
  EXPECT_EQ(r.evidence.lookups.size(), 2u);
  EXPECT_EQ(server->server_names(), std::vector<std::string>{"tls.secure.lab"});
}

// The Open MPIC API's key_authorization_hash: only the digest is known.
TEST_F(TlsAlpn01Test, DigestInsteadOfKeyAuthorization) {
  auto server = ServeTls(Options(Good()));
  auto request = Request("tls.secure.lab");
  request.key_authorization.clear();
  request.key_authorization_sha256 = Sha256(kKa);
  ExpectValid(Run(request, server->port()));
  request.key_authorization_sha256 = Sha256("another.key-authorization");
  auto wrong = Run(request, server->port());
  EXPECT_FALSE(wrong.valid);
  ASSERT_TRUE(wrong.problem.has_value());
  EXPECT_EQ(wrong.problem->type, ProblemType::kUnauthorized) << wrong.problem->detail;
}

TEST_F(TlsAlpn01Test, CnameAndCase) {
  auto server = ServeTls(Options(Good("cname-tls.secure.lab")));
  auto r = Run(Request("Cname-TLS.secure.lab"), server->port());
  ExpectValid(r);
  EXPECT_EQ(server->server_names().at(0), "cname-tls.secure.lab");
}

TEST_F(TlsAlpn01Test, ValidIpv4Identifier) {
  const std::string ip = lab_->free_address(0);
  auto server = ServeTls(Options({{}, {ip}, 1, AcmeExtensionValue(kKa)}));
  auto r = Run(Request(ip), server->port());
  ExpectValid(r);
  EXPECT_TRUE(r.evidence.lookups.empty());
  // RFC 8738 §6: SNI is the reverse-mapping name.
  EXPECT_EQ(server->server_names().at(0), internal::ReverseDnsName(asio::ip::make_address(ip)));
  EXPECT_EQ(r.evidence.cert_sans, std::vector<std::string>{"IP:" + ip});
}

TEST_F(TlsAlpn01Test, ValidIpv6Identifier) {
  auto server = ServeTls(Options({{}, {"::1"}, 1, AcmeExtensionValue(kKa)}), "::1");
  if (!server) GTEST_SKIP() << "no ::1";
  auto r = Run(Request("::1"), server->port());
  ExpectValid(r);
  EXPECT_EQ(server->server_names().at(0),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa");
}

TEST_F(TlsAlpn01Test, Ipv6FirstThenIpv4) {
  auto v4 = ServeTls(Options(Good("v6.secure.lab")));
  {
    // Nothing on [::1]:port: falls back to IPv4.
    auto r = Run(Request("v6.secure.lab"), v4->port());
    ExpectValid(r);
    EXPECT_EQ(r.evidence.address_used, lab_->free_address(0));
  }
  auto v6 = ServeTls(Options(Good("v6.secure.lab")), "::1", v4->port());
  if (!v6) GTEST_SKIP() << "port busy on ::1";
  int before = v4->connections();
  auto r = Run(Request("v6.secure.lab"), v4->port());
  ExpectValid(r);
  EXPECT_EQ(r.evidence.address_used, "::1");
  EXPECT_EQ(v4->connections(), before);
}

// --- ALPN ------------------------------------------------------------------------------------

TEST_F(TlsAlpn01Test, ServerWithoutAcmeAlpn) {
  // Speaks only http/1.1: the handshake completes without ALPN, which is not enough.
  auto server = ServeTls(Options(Good(), {"http/1.1"}));
  auto r = Run(Request("tls.secure.lab"), server->port());
  ExpectProblem(r, ProblemType::kTls, "did not negotiate ALPN");
  EXPECT_TRUE(r.evidence.cert_sans.empty());
}

TEST_F(TlsAlpn01Test, ServerWithoutAnyAlpn) {
  auto server = ServeTls(Options(Good(), {}));
  ExpectProblem(Run(Request("tls.secure.lab"), server->port()), ProblemType::kTls,
                "negotiated: none");
}

TEST_F(TlsAlpn01Test, ServerAlertsOnAlpnMismatch) {
  auto server = ServeTls(Options(Good(), {"http/1.1"}, /*alert=*/true));
  ExpectProblem(Run(Request("tls.secure.lab"), server->port()), ProblemType::kTls, "TLS handshake");
}

// --- Certificates ------------------------------------------------------------------------------

TEST_F(TlsAlpn01Test, WrongCertificates) {
  auto wrong_length = AcmeExtensionValue(kKa);
  wrong_length.push_back(0);
  wrong_length[1] = 33;
  struct Case {
    std::string name;
    TestCertSpec spec;
    std::string detail;
  };
  const std::vector<Case> cases = {
      {"two SANs",
       {{"tls.secure.lab", "other.secure.lab"}, {}, 1, AcmeExtensionValue(kKa)},
       "exactly one name"},
      {"wrong SAN",
       {{"other.secure.lab"}, {}, 1, AcmeExtensionValue(kKa)},
       "expected DNS:tls.secure.lab"},
      {"no SAN", {{"tls.secure.lab"}, {}, 0, AcmeExtensionValue(kKa)}, "no subjectAltName"},
      {"non-critical",
       {{"tls.secure.lab"}, {}, 1, AcmeExtensionValue(kKa), false},
       "not marked critical"},
      {"missing acmeIdentifier", {{"tls.secure.lab"}, {}, 1, std::nullopt}, "no acmeIdentifier"},
      {"wrong length", {{"tls.secure.lab"}, {}, 1, wrong_length}, "OCTET STRING of 32 bytes"},
      {"wrong digest",
       {{"tls.secure.lab"}, {}, 1, AcmeExtensionValue("other.key-auth")},
       "expected SHA-256"},
      {"two acmeIdentifiers",
       {{"tls.secure.lab"}, {}, 1, AcmeExtensionValue(kKa), true, 2},
       "more than one acmeIdentifier"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto server = ServeTls(Options(c.spec));
    auto r = Run(Request("tls.secure.lab"), server->port());
    ExpectProblem(r, ProblemType::kUnauthorized, c.detail);
    EXPECT_EQ(r.evidence.alpn, "acme-tls/1");
    EXPECT_FALSE(r.evidence.cert_sha256.empty());
  }
}

TEST_F(TlsAlpn01Test, IpIdentifierNeedsAnIpSan) {
  const std::string ip = lab_->free_address(0);
  auto server = ServeTls(Options({{ip}, {}, 1, AcmeExtensionValue(kKa)}));  // dNSName "127..."
  ExpectProblem(Run(Request(ip), server->port()), ProblemType::kUnauthorized, "expected IP:" + ip);
}

// --- Transport -------------------------------------------------------------------------------

TEST_F(TlsAlpn01Test, PlainHttpServer) {
  auto server = ServePlain([](ServerConnection& c) {
    c.Write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  });
  ExpectProblem(Run(Request("tls.secure.lab"), server->port()), ProblemType::kTls, "TLS handshake");
}

TEST_F(TlsAlpn01Test, AcceptsAndNeverAnswers) {
  auto server = ServePlain([](ServerConnection& c) { c.WaitForPeerClose(30s); });
  ExpectProblem(Run(Request("tls.secure.lab", 2s), server->port()), ProblemType::kConnection,
                "timeout");
}

TEST_F(TlsAlpn01Test, ConnectionRefused) {
  uint16_t port = 0;
  {
    auto server = ServePlain([](ServerConnection&) {});
    port = server->port();
  }
  ExpectProblem(Run(Request("tls.secure.lab"), port), ProblemType::kConnection, "refused");
}

// --- DNS and policy ------------------------------------------------------------------------------

TEST_F(TlsAlpn01Test, DnsFailures) {
  auto server = ServeTls(Options(Good()));
  for (const char* name : {"www.expired.lab", "www.bogus.lab", "cname-bogus.secure.lab",
                           "cname-expired.secure.lab", "missing.secure.lab"}) {
    SCOPED_TRACE(name);
    ExpectProblem(Run(Request(name), server->port()), ProblemType::kDns, "");
  }
  EXPECT_EQ(server->connections(), 0);
}

TEST_F(TlsAlpn01Test, RefusedAddresses) {
  auto server = ServeTls(Options(Good()));
  ExpectProblem(Run(Request("private.secure.lab"), server->port()), ProblemType::kConnection,
                "192.168.0.0/16");
  ExpectProblem(Run(Request("10.1.2.3"), server->port()), ProblemType::kRejectedIdentifier,
                "10.0.0.0/8");
  ExpectProblem(Run(Request("::1"), server->port(), {}), ProblemType::kRejectedIdentifier,
                "::1/128");
  EXPECT_EQ(server->connections(), 0);
}

TEST_F(TlsAlpn01Test, MalformedRequests) {
  auto server = ServeTls(Options(Good()));
  auto bad_ka = Request("tls.secure.lab");
  bad_ka.key_authorization = "no-dot";
  for (auto req : {Request("*.secure.lab"), Request("bad name"), Request("1.2.3.04"), bad_ka}) {
    SCOPED_TRACE(req.identifier);
    ExpectProblem(Run(req, server->port()), ProblemType::kMalformed, "");
  }
  EXPECT_EQ(server->connections(), 0);
}

}  // namespace
}  // namespace mpic::checks
