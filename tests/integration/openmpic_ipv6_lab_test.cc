// Valid validations over IPv6 end to end through POST /mpic: one real fleet (lab/local_fleet.h:
// NSD lab, the challenge responder, va-primary and four va-remote processes) whose
// perspectives connect to documentation addresses (RFC 3849, 2001:db8::/32).
//
// Those addresses exist only inside a network namespace this binary creates for itself: main()
// unshares the network namespace before any thread exists, brings `lo` up and puts
// 2001:db8:14::10 and ::11 on it. Everything the test starts (NSD, the responder, the fleet)
// inherits that namespace, so no packet ever reaches the machine's own interfaces; the lab's
// 127.A.B.x addresses work there as usual (127/8 is on `lo`).
//
//   [2001:db8:14::10]  pebble-challtestsrv's HTTP-01 (and TLS-ALPN-01) listeners, beside the
//                      lab address (LocalFleet::Options::responder_extra_addresses)
//   [2001:db8:14::11]  a TLS-ALPN-01 server of this test (checks/testing/web_test_server.h):
//                      pebble-challtestsrv 2.4 answers an IP identifier's reverse-name SNI with
//                      a dNSName certificate, not the iPAddress one RFC 8738 §6 requires
//
// The fleet's lab ranges admit 2001:db8:14::/64 (LocalFleet::Options::lab_extra_cidrs).
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "checks/internal/tls_cert.h"
#include "checks/testing/tls_test_cert.h"
#include "checks/testing/web_test_server.h"
#include "lab/local_fleet.h"
#include "lab/openmpic_client.h"
#include "tests/integration/command.h"
#include "tests/integration/openmpic_fleet.h"

namespace mpic::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

constexpr char kResponderV6[] = "2001:db8:14::10";
constexpr char kTlsServerV6[] = "2001:db8:14::11";
constexpr char kLabRange[] = "2001:db8:14::/64";

// Why the namespace could not be set up ("" when it was); set by main().
std::string* namespace_error = nullptr;

std::string SetUpNamespace() {
  if (::unshare(CLONE_NEWNET) != 0) {
    return std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno) + " (needs root)";
  }
  const std::string ip = "/usr/sbin/ip";
  const std::vector<std::vector<std::string>> steps = {
      {ip, "link", "set", "lo", "up"},
      {ip, "-6", "addr", "add", std::string(kResponderV6) + "/128", "dev", "lo", "nodad"},
      {ip, "-6", "addr", "add", std::string(kTlsServerV6) + "/128", "dev", "lo", "nodad"}};
  for (const auto& argv : steps) {
    CommandResult r = RunCommand(argv, 10s);
    if (r.exit_code != 0) {
      std::string line;
      for (const auto& a : argv) line += a + " ";
      return line + "failed: " + r.err;
    }
  }
  return "";
}

// 43-character base64url token / thumbprint, distinct per call.
std::string Random43(char seed) {
  static int counter = 0;
  std::string s = std::to_string(::getpid()) + "v" + std::to_string(++counter) + seed;
  while (s.size() < 43) s += static_cast<char>('a' + (s.size() * 5 + seed) % 26);
  return s;
}

class OpenMpicIpv6LabTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_NE(namespace_error, nullptr);
    ASSERT_EQ(*namespace_error, "") << "network namespace";
    char tmpl[] = "/tmp/mpic-openmpic-ipv6.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = new std::string(tmpl);
    lab::LocalFleet::Options options;
    options.remotes = 4;
    options.effective_date = "2026-06-15";  // the phase a four-remote fleet meets
    options.dir = *dir_;
    options.bin_dir = BinDir();
    options.straggler_grace_ms = 200;
    options.lab_extra_cidrs = {kLabRange};
    options.responder_extra_addresses = {kResponderV6};
    auto fleet = lab::LocalFleet::Start(options, std::cerr, [] { return false; });
    ASSERT_TRUE(fleet.has_value()) << fleet.error().detail;
    fleet_ = fleet->release();
    auto connected = ConnectOpenMpic(*fleet_);
    ASSERT_TRUE(connected.has_value()) << connected.error().detail;
    client_ = connected->release();
    // A name whose only address is the responder's IPv6 one.
    auto set = fleet_->lab().Set("secure.lab.", "v6only.secure.lab.", "AAAA", {kResponderV6});
    ASSERT_TRUE(set.has_value()) << set.error();
  }

  static void TearDownTestSuite() {
    delete client_;
    client_ = nullptr;
    StopSuiteFleet(fleet_, dir_, ::testing::Test::HasFailure());
    delete fleet_;
    fleet_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(fleet_, nullptr);
    ASSERT_NE(client_, nullptr);
  }

  struct Reply {
    int status = 0;
    json body;
  };

  static Reply Post(const json& body) {
    auto reply = client_->Post("/mpic", body.dump());
    EXPECT_TRUE(reply.has_value()) << reply.error().detail;
    if (!reply) return {};
    return {reply->status, json::parse(reply->body, nullptr, false)};
  }

  static json Dcv(const std::string& target, json params, const std::string& trace) {
    return {{"check_type", "dcv"},
            {"domain_or_ip_target", target},
            {"dcv_check_parameters", std::move(params)},
            {"trace_identifier", trace}};
  }

  // The one audit record written for `trace`.
  static json AuditRecord(const std::string& trace) {
    std::ifstream audit(fleet_->audit_log());
    std::string line;
    json found;
    int count = 0;
    while (std::getline(audit, line)) {
      json record = json::parse(line, nullptr, false);
      if (!record.is_object() || !record.contains("api")) continue;
      if (record["api"].value("trace_identifier", "") != trace) continue;
      found = std::move(record);
      ++count;
    }
    EXPECT_EQ(count, 1) << trace << " in " << fleet_->audit_log();
    return found;
  }

  // Every perspective (the primary and each remote) passed and reports `address` as the one
  // it resolved or connected to.
  static void ExpectEveryPerspectiveUsed(const json& body, const std::string& address) {
    ASSERT_TRUE(body["perspectives"].is_array()) << body.dump();
    EXPECT_EQ(body["perspectives"].size(), 5u) << body.dump();  // the primary and 4 remotes
    for (const json& p : body["perspectives"]) {
      EXPECT_EQ(p["check_response"]["check_passed"], true) << p.dump();
      EXPECT_EQ(p["check_response"]["details"]["resolved_ip"], address) << p.dump();
    }
  }

  static std::string* dir_;
  static lab::LocalFleet* fleet_;
  static lab::OpenMpicClient* client_;
};

std::string* OpenMpicIpv6LabTest::dir_ = nullptr;
lab::LocalFleet* OpenMpicIpv6LabTest::fleet_ = nullptr;
lab::OpenMpicClient* OpenMpicIpv6LabTest::client_ = nullptr;

TEST_F(OpenMpicIpv6LabTest, Http01ForAnIpv6LiteralAndAWrongKeyAuthorization) {
  // RFC 8738 §3/§4: the perspectives fetch http://[2001:db8:14::10]/.well-known/... (the lab's
  // HTTP port in place of 80).
  const std::string token = Random43('h');
  const std::string ka = token + "." + Random43('t');
  ASSERT_TRUE(fleet_->AddHttp01(token, ka).has_value());
  Reply ok =
      Post(Dcv(kResponderV6,
               {{"validation_method", "acme-http-01"}, {"token", token}, {"key_authorization", ka}},
               "openmpic-ipv6-literal"));
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["is_valid"], true) << ok.body.dump();
  ExpectEveryPerspectiveUsed(ok.body, kResponderV6);
  const json& details = ok.body["perspectives"][0]["check_response"]["details"];
  EXPECT_EQ(details["response_url"],
            "http://[" + std::string(kResponderV6) + "]/.well-known/acme-challenge/" + token)
      << details.dump();
  json record = AuditRecord("openmpic-ipv6-literal");
  EXPECT_EQ(record.value("identifier", ""), kResponderV6) << record.dump();
  EXPECT_EQ(record.value("decision", ""), "CORROBORATED") << record.dump();
  EXPECT_NE(record["response"].dump().find(kResponderV6), std::string::npos) << record.dump();

  // The same target with a key authorization the responder does not serve: invalid on every
  // perspective, and audited as such.
  Reply bad = Post(Dcv(kResponderV6,
                       {{"validation_method", "acme-http-01"},
                        {"token", token},
                        {"key_authorization", token + "." + Random43('x')}},
                       "openmpic-ipv6-wrong"));
  ASSERT_EQ(bad.status, 200) << bad.body.dump();
  EXPECT_EQ(bad.body["is_valid"], false) << bad.body.dump();
  for (const json& p : bad.body["perspectives"]) {
    EXPECT_EQ(p["check_response"]["check_passed"], false) << p.dump();
    EXPECT_EQ(p["check_response"]["details"]["resolved_ip"], kResponderV6) << p.dump();
  }
  EXPECT_EQ(AuditRecord("openmpic-ipv6-wrong").value("decision", ""), "NOT_CORROBORATED");
}

TEST_F(OpenMpicIpv6LabTest, Http01ForANameWithOnlyAnAaaaRecord) {
  const std::string token = Random43('a');
  const std::string ka = token + "." + Random43('b');
  ASSERT_TRUE(fleet_->AddHttp01(token, ka).has_value());
  Reply ok =
      Post(Dcv("v6only.secure.lab",
               {{"validation_method", "acme-http-01"}, {"token", token}, {"key_authorization", ka}},
               "openmpic-ipv6-aaaa"));
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["is_valid"], true) << ok.body.dump();
  ExpectEveryPerspectiveUsed(ok.body, kResponderV6);
  json record = AuditRecord("openmpic-ipv6-aaaa");
  EXPECT_EQ(record.value("decision", ""), "CORROBORATED") << record.dump();
  EXPECT_NE(record["response"].dump().find(kResponderV6), std::string::npos) << record.dump();
}

TEST_F(OpenMpicIpv6LabTest, TlsAlpn01ForAnIpv6Literal) {
  // RFC 8738 §6: SNI is the ip6.arpa reverse name; the certificate's one SAN is the iPAddress.
  const std::string ka = Random43('s') + "." + Random43('u');
  auto cert = checks::testing::MakeTestCert(
      {{}, {kTlsServerV6}, 1, checks::testing::AcmeExtensionValue(ka)});
  ASSERT_TRUE(cert.has_value()) << cert.error();
  auto server = checks::testing::TestWebServer::Start(
      kTlsServerV6, [](checks::testing::ServerConnection&) {},
      checks::testing::TlsServerOptions{*cert, {"acme-tls/1"}, false}, fleet_->options().tls_port);
  ASSERT_TRUE(server.has_value()) << server.error();
  Reply ok =
      Post(Dcv(kTlsServerV6, {{"validation_method", "acme-tls-alpn-01"}, {"key_authorization", ka}},
               "openmpic-ipv6-tls"));
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["is_valid"], true) << ok.body.dump();
  ASSERT_TRUE(ok.body["perspectives"].is_array()) << ok.body.dump();
  for (const json& p : ok.body["perspectives"]) {
    EXPECT_EQ(p["check_response"]["check_passed"], true) << p.dump();
    EXPECT_EQ(p["check_response"]["details"]["common_name"], "IP:" + std::string(kTlsServerV6))
        << p.dump();
  }
  const std::string reverse =
      checks::internal::ReverseDnsName(asio::ip::make_address(kTlsServerV6));
  const auto names = (*server)->server_names();
  ASSERT_FALSE(names.empty());
  for (const std::string& name : names) EXPECT_EQ(name, reverse);
  json record = AuditRecord("openmpic-ipv6-tls");
  EXPECT_EQ(record.value("decision", ""), "CORROBORATED") << record.dump();
  EXPECT_NE(record["response"].dump().find(kTlsServerV6), std::string::npos) << record.dump();

  // Another key authorization than the certificate's acmeIdentifier: invalid.
  Reply bad = Post(Dcv(kTlsServerV6,
                       {{"validation_method", "acme-tls-alpn-01"},
                        {"key_authorization", Random43('w') + "." + Random43('k')}},
                       "openmpic-ipv6-tls-wrong"));
  ASSERT_EQ(bad.status, 200) << bad.body.dump();
  EXPECT_EQ(bad.body["is_valid"], false) << bad.body.dump();

  // pebble-challtestsrv 2.4 answers the reverse-name SNI with a certificate whose one SAN is
  // that name as a dNSName: not the iPAddress RFC 8738 §6 requires, so refused everywhere.
  const std::string pebble_ka = Random43('p') + "." + Random43('q');
  ASSERT_TRUE(
      fleet_
          ->AddTlsAlpn01(checks::internal::ReverseDnsName(asio::ip::make_address(kResponderV6)),
                         pebble_ka)
          .has_value());
  Reply dns_san = Post(Dcv(
      kResponderV6, {{"validation_method", "acme-tls-alpn-01"}, {"key_authorization", pebble_ka}},
      "openmpic-ipv6-tls-dns-san"));
  ASSERT_EQ(dns_san.status, 200) << dns_san.body.dump();
  EXPECT_EQ(dns_san.body["is_valid"], false) << dns_san.body.dump();
  for (const json& p : dns_san.body["perspectives"]) {
    const json& errors = p["check_response"]["errors"];
    ASSERT_TRUE(errors.is_array() && !errors.empty()) << p.dump();
    EXPECT_NE(errors[0].value("error_message", "").find("expected IP:" + std::string(kResponderV6)),
              std::string::npos)
        << p.dump();
  }
}

}  // namespace
}  // namespace mpic::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // Before any thread exists (the fleet's helpers, gtest's): the namespace is per thread.
  static std::string error = mpic::testing::SetUpNamespace();
  mpic::testing::namespace_error = &error;
  if (!error.empty()) std::cerr << "openmpic_ipv6_lab_test: " << error << "\n";
  return RUN_ALL_TESTS();
}
