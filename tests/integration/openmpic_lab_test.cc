// The Open MPIC REST API end to end: one real fleet (lab/local_fleet.h: NSD lab, the challenge
// responder, va-primary with eight va-remote processes, four per validation) and POST /mpic
// over mutual TLS with the CA-side certificate, as a CA's Open MPIC client sends it. Every body
// the server answers is checked against openmpic/openapi.json's schemas with Debian's
// python3-jsonschema (openmpic/schema_test.py --samples). One fleet start for every case.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "checks/key_authorization.h"
#include "lab/local_fleet.h"
#include "lab/openmpic_client.h"
#include "tests/integration/command.h"

namespace mpic::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

// 43-character base64url token / thumbprint, distinct per call.
std::string Random43(char seed) {
  static int counter = 0;
  std::string s = std::to_string(::getpid()) + "x" + std::to_string(++counter) + seed;
  while (s.size() < 43) s += static_cast<char>('a' + (s.size() * 7 + seed) % 26);
  return s;
}

class OpenMpicLabTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/mpic-openmpic-lab.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = new std::string(tmpl);
    lab::LocalFleet::Options options;
    options.remotes = 8;
    options.remotes_per_validation = 4;  // two disjoint cohorts for max_attempts 2
    options.effective_date = "2026-06-15";
    options.dir = *dir_;
    options.bin_dir = BinDir();
    options.straggler_grace_ms = 200;
    options.openmpic_max_attempts = 2;
    auto fleet = lab::LocalFleet::Start(options, std::cerr, [] { return false; });
    ASSERT_TRUE(fleet.has_value()) << fleet.error().detail;
    fleet_ = fleet->release();
    ASSERT_FALSE(fleet_->primary().openmpic.empty());
    lab::OpenMpicClient::Options client;
    client.address = fleet_->primary().openmpic;
    client.tls = fleet_->client_tls();
    client.timeout = 60s;
    auto connected = lab::OpenMpicClient::Connect(client);
    ASSERT_TRUE(connected.has_value()) << connected.error().detail;
    client_ = connected->release();
    samples_ = new std::ofstream(*dir_ + "/samples.jsonl");
    SetDns("http.secure.lab.", "A", fleet_->responder().http_address);
    SetDns("tls.secure.lab.", "A", fleet_->responder().tls_address);
  }

  static void TearDownTestSuite() {
    delete client_;
    client_ = nullptr;
    delete samples_;
    samples_ = nullptr;
    if (fleet_ != nullptr) fleet_->Stop(&std::cerr);
    delete fleet_;
    fleet_ = nullptr;
    if (dir_ != nullptr && !::testing::Test::HasFailure()) {
      std::error_code ec;
      fs::remove_all(*dir_, ec);
    }
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(fleet_, nullptr);
    ASSERT_NE(client_, nullptr);
  }

  static void SetDns(const std::string& name, const std::string& type, const std::string& rdata) {
    auto set = fleet_->lab().Set("secure.lab.", name, type, {rdata});
    ASSERT_TRUE(set.has_value()) << set.error();
  }

  struct Reply {
    int status = 0;
    json body;
  };

  // POSTs `body`; records the answer with the schema it must follow.
  static Reply Post(const json& body) {
    auto reply = client_->Post("/mpic", body.dump());
    EXPECT_TRUE(reply.has_value()) << reply.error().detail;
    if (!reply) return {};
    Reply out{reply->status, json::parse(reply->body, nullptr, false)};
    std::string schema = "Error";
    if (out.status == 200) {
      schema = body.value("check_type", "") == "caa" ? "CaaResponse" : "DcvResponse";
    } else if (out.status == 400) {
      schema = "ValidationFailed";
    }
    Record(schema, out.body);
    return out;
  }

  static void Record(const std::string& schema, const json& body) {
    *samples_ << json{{"schema", schema}, {"body", body}}.dump() << "\n";
    samples_->flush();
  }

  static json Dcv(const std::string& target, json params, json orchestration = nullptr) {
    json body = {{"check_type", "dcv"},
                 {"domain_or_ip_target", target},
                 {"dcv_check_parameters", std::move(params)}};
    if (!orchestration.is_null()) body["orchestration_parameters"] = std::move(orchestration);
    return body;
  }

  static std::set<std::string> Codes(const json& perspectives) {
    std::set<std::string> codes;
    for (const json& p : perspectives) codes.insert(p.value("perspective_code", ""));
    return codes;
  }

  static std::string* dir_;
  static lab::LocalFleet* fleet_;
  static lab::OpenMpicClient* client_;
  static std::ofstream* samples_;
};

std::string* OpenMpicLabTest::dir_ = nullptr;
lab::LocalFleet* OpenMpicLabTest::fleet_ = nullptr;
lab::OpenMpicClient* OpenMpicLabTest::client_ = nullptr;
std::ofstream* OpenMpicLabTest::samples_ = nullptr;

TEST_F(OpenMpicLabTest, AcmeHttp01ValidAndInvalid) {
  const std::string token = Random43('h');
  const std::string ka = token + "." + Random43('t');
  ASSERT_TRUE(fleet_->AddHttp01(token, ka).has_value());
  Reply ok = Post(Dcv("http.secure.lab", {{"validation_method", "acme-http-01"},
                                          {"token", token},
                                          {"key_authorization", ka}}));
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["is_valid"], true) << ok.body.dump();
  EXPECT_EQ(ok.body["mpic_completed"], true);
  EXPECT_EQ(ok.body["actual_orchestration_parameters"]["perspective_count"], 4);

  Reply bad = Post(Dcv("http.secure.lab", {{"validation_method", "acme-http-01"},
                                           {"token", token},
                                           {"key_authorization", token + "." + Random43('x')}}));
  ASSERT_EQ(bad.status, 200);
  EXPECT_EQ(bad.body["is_valid"], false) << bad.body.dump();
}

TEST_F(OpenMpicLabTest, AcmeDns01ValidAndInvalidWithTheTraceIdentifierAudited) {
  const std::string ka = Random43('d') + "." + Random43('e');
  SetDns("_acme-challenge.dns.secure.lab.", "TXT", "\"" + checks::Dns01TxtValue(ka) + "\"");
  json body = Dcv("dns.secure.lab", {{"validation_method", "acme-dns-01"},
                                      {"key_authorization", ka}});
  body["trace_identifier"] = "openmpic-lab-trace-1";
  Reply ok = Post(body);
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["is_valid"], true) << ok.body.dump();
  EXPECT_EQ(ok.body["trace_identifier"], "openmpic-lab-trace-1");

  Reply bad = Post(Dcv("dns.secure.lab", {{"validation_method", "acme-dns-01"},
                                          {"key_authorization", Random43('f') + "." +
                                                                    Random43('g')}}));
  ASSERT_EQ(bad.status, 200);
  EXPECT_EQ(bad.body["is_valid"], false);

  // The audit record names the API, the trace identifier and the client certificate.
  std::ifstream audit(fleet_->audit_log());
  std::string line;
  bool found = false;
  while (std::getline(audit, line)) {
    json record = json::parse(line, nullptr, false);
    if (!record.is_object() || !record.contains("api")) continue;
    if (record["api"].value("trace_identifier", "") != "openmpic-lab-trace-1") continue;
    found = true;
    EXPECT_EQ(record["api"]["name"], "openmpic");
    EXPECT_EQ(record["api"]["client"], "cert:mpic-ca-client");
    EXPECT_EQ(record["decision"], "CORROBORATED");
  }
  EXPECT_TRUE(found) << "no audit record with the trace identifier in " << fleet_->audit_log();
}

TEST_F(OpenMpicLabTest, AcmeTlsAlpn01ValidAndInvalid) {
  const std::string ka = Random43('a') + "." + Random43('b');
  ASSERT_TRUE(fleet_->AddTlsAlpn01("tls.secure.lab", ka).has_value());
  Reply ok = Post(Dcv("tls.secure.lab", {{"validation_method", "acme-tls-alpn-01"},
                                         {"key_authorization", ka}}));
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["is_valid"], true) << ok.body.dump();
  Reply bad = Post(Dcv("tls.secure.lab", {{"validation_method", "acme-tls-alpn-01"},
                                          {"key_authorization", Random43('c') + "." +
                                                                    Random43('d')}}));
  ASSERT_EQ(bad.status, 200);
  EXPECT_EQ(bad.body["is_valid"], false);
}

TEST_F(OpenMpicLabTest, CaaPermitAndDeny) {
  // secure.lab. carries CAA 0 issue "ca.example".
  json permit = {{"check_type", "caa"},
                 {"domain_or_ip_target", "www.secure.lab"},
                 {"caa_check_parameters",
                  {{"certificate_type", "tls-server"}, {"caa_domains", {"ca.example"}}}}};
  Reply ok = Post(permit);
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["is_valid"], true) << ok.body.dump();
  json deny = permit;
  deny["caa_check_parameters"]["caa_domains"] = {"other-ca.example"};
  Reply refused = Post(deny);
  ASSERT_EQ(refused.status, 200) << refused.body.dump();
  EXPECT_EQ(refused.body["is_valid"], false) << refused.body.dump();
}

TEST_F(OpenMpicLabTest, DnsPersistentValidAndInvalid) {
  // draft-ietf-acme-dns-persist: "<issuer domain name>; accounturi=<uri>" at
  // _validation-persist.<domain>.
  const std::string account = "https://ca.example/acme/acct/4711";
  SetDns("_validation-persist.persist.secure.lab.", "TXT",
         "\"ca.example; accounturi=" + account + "\"");
  json params = {{"validation_method", "dns-persistent"},
                 {"issuer_domain_names", {"ca.example"}},
                 {"expected_account_uri", account}};
  Reply ok = Post(Dcv("persist.secure.lab", params));
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["is_valid"], true) << ok.body.dump();
  params["expected_account_uri"] = "https://ca.example/acme/acct/1";
  Reply bad = Post(Dcv("persist.secure.lab", params));
  ASSERT_EQ(bad.status, 200) << bad.body.dump();
  EXPECT_EQ(bad.body["is_valid"], false);
  Reply missing = Post(Dcv("persist.secure.lab", {{"validation_method", "dns-persistent"}}));
  ASSERT_EQ(missing.status, 400) << missing.body.dump();
  EXPECT_EQ(missing.body["error"], "request-validation-failed");
}

TEST_F(OpenMpicLabTest, BrMethodsDnsChangeAndIpAddress) {
  // BR §3.2.2.4.7: the Random Value in a TXT record under one "_" label of the name.
  const std::string value = Random43('v');
  SetDns("_pki-validation.change.secure.lab.", "TXT", "\"" + value + "\"");
  json params = {{"validation_method", "dns-change"},
                 {"challenge_value", value},
                 {"dns_name_prefix", "_pki-validation"},
                 {"dns_record_type", "TXT"},
                 {"require_exact_match", true}};
  Reply ok = Post(Dcv("change.secure.lab", params));
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["is_valid"], true) << ok.body.dump();
  ASSERT_FALSE(ok.body["perspectives"].empty());
  const json& details = ok.body["perspectives"][0]["check_response"]["details"];
  EXPECT_EQ(details["validation_method"], "dns-change") << details.dump();
  EXPECT_EQ(details["found_at"], "_pki-validation.change.secure.lab") << details.dump();
  EXPECT_EQ(details["records_seen"], json::array({value})) << details.dump();
  params["challenge_value"] = Random43('w');
  Reply bad = Post(Dcv("change.secure.lab", params));
  ASSERT_EQ(bad.status, 200) << bad.body.dump();
  EXPECT_EQ(bad.body["is_valid"], false) << bad.body.dump();
  params["challenge_value"] = value;
  params["dns_name_prefix"] = "no-underscore";
  Reply refused = Post(Dcv("change.secure.lab", params));
  ASSERT_EQ(refused.status, 400) << refused.body.dump();
  EXPECT_EQ(refused.body["validation_issues"][0]["issue_type"], "invalid-dns-name-prefix");

  // BR §3.2.2.4.8: the name's A record holds the address (the responder's, set up above).
  const std::string address = fleet_->responder().http_address;
  json ip = {{"validation_method", "ip-address"},
             {"challenge_value", address},
             {"dns_record_type", "A"}};
  Reply ip_ok = Post(Dcv("http.secure.lab", ip));
  ASSERT_EQ(ip_ok.status, 200) << ip_ok.body.dump();
  EXPECT_EQ(ip_ok.body["is_valid"], true) << ip_ok.body.dump();
  ip["challenge_value"] = "192.0.2.99";
  Reply ip_bad = Post(Dcv("http.secure.lab", ip));
  ASSERT_EQ(ip_bad.status, 200) << ip_bad.body.dump();
  EXPECT_EQ(ip_bad.body["is_valid"], false) << ip_bad.body.dump();
}

TEST_F(OpenMpicLabTest, AQuorumBelowTheBrTableIsA400) {
  const std::string ka = Random43('q') + "." + Random43('r');
  Reply r = Post(Dcv("dns.secure.lab",
                     {{"validation_method", "acme-dns-01"}, {"key_authorization", ka}},
                     {{"perspective_count", 4}, {"quorum_count", 2}}));
  ASSERT_EQ(r.status, 400) << r.body.dump();
  ASSERT_TRUE(r.body["validation_issues"].is_array());
  EXPECT_EQ(r.body["validation_issues"][0]["issue_type"], "invalid-quorum-count") << r.body.dump();
  Reply monitoring = Post(Dcv("dns.secure.lab",
                              {{"validation_method", "acme-dns-01"}, {"key_authorization", ka}},
                              {{"quorum_count", 0}}));
  ASSERT_EQ(monitoring.status, 400) << monitoring.body.dump();
  EXPECT_EQ(monitoring.body["validation_issues"][0]["issue_type"], "monitoring-mode-disabled");
}

TEST_F(OpenMpicLabTest, TwoAttemptsUseDisjointCohorts) {
  // Nothing is published for this key authorization: both attempts fail, the first is
  // reported in previous_attempt_results, on other remotes than the second.
  Reply r = Post(Dcv("dns.secure.lab",
                     {{"validation_method", "acme-dns-01"},
                      {"key_authorization", Random43('m') + "." + Random43('n')}},
                     {{"max_attempts", 2}}));
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["is_valid"], false);
  EXPECT_EQ(r.body["actual_orchestration_parameters"]["attempt_count"], 2) << r.body.dump();
  ASSERT_TRUE(r.body["previous_attempt_results"].is_array()) << r.body.dump();
  ASSERT_EQ(r.body["previous_attempt_results"].size(), 1u);
  std::set<std::string> first = Codes(r.body["previous_attempt_results"][0]);
  std::set<std::string> second = Codes(r.body["perspectives"]);
  const std::string primary = fleet_->primary().identity.name();
  first.erase(primary);
  second.erase(primary);
  EXPECT_EQ(first.size(), 4u);
  EXPECT_EQ(second.size(), 4u);
  for (const std::string& code : second) EXPECT_EQ(first.count(code), 0u) << code;
}

TEST_F(OpenMpicLabTest, HealthConfigzAndNotFound) {
  auto health = client_->Get("/healthz");
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
  Record("Health", json::parse(health->body, nullptr, false));
  auto configz = client_->Get("/configz");
  ASSERT_TRUE(configz.has_value());
  EXPECT_EQ(configz->status, 200);
  Record("Configz", json::parse(configz->body, nullptr, false));
  auto missing = client_->Get("/nowhere");
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 404);
  Record("Error", json::parse(missing->body, nullptr, false));
}

// Last (gtest runs a suite's tests in order): every body recorded above, against the schemas.
TEST_F(OpenMpicLabTest, ZzEveryBodyMatchesTheSchema) {
  samples_->flush();
  const std::string source = MPIC_SOURCE_DIR;
  CommandResult r = RunCommand({"/usr/bin/python3", source + "/openmpic/schema_test.py",
                                "--samples", *dir_ + "/samples.jsonl",
                                source + "/openmpic/openapi.json"},
                               60s);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("0 failures"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace mpic::testing
