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
#include <vector>

#include "checks/key_authorization.h"
#include "lab/http_post.h"
#include "lab/local_fleet.h"
#include "lab/openmpic_client.h"
#include "tests/integration/command.h"
#include "tests/integration/openmpic_fleet.h"

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

constexpr char kApiKeyName[] = "lab-ca";
constexpr char kApiKey[] = "lab-api-key-0123456789abcdef0123456789";

// The audit records written for `trace` (Open MPIC requests carry it in "api").
std::vector<json> AuditRecords(const std::string& audit_log, const std::string& trace) {
  std::vector<json> out;
  std::ifstream audit(audit_log);
  std::string line;
  while (std::getline(audit, line)) {
    json record = json::parse(line, nullptr, false);
    if (!record.is_object() || !record.contains("api")) continue;
    if (record["api"].value("trace_identifier", "") == trace) out.push_back(std::move(record));
  }
  return out;
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
    // An API key too, for a CA client that cannot do mutual TLS.
    const std::string keys = *dir_ + "/openmpic-keys";
    {
      std::ofstream out(keys);
      out << "# lab keys\n" << kApiKeyName << " " << kApiKey << "\n";
    }
    fs::permissions(keys, fs::perms::owner_read | fs::perms::owner_write);
    options.openmpic_api_keys_file = keys;
    auto fleet = lab::LocalFleet::Start(options, std::cerr, [] { return false; });
    ASSERT_TRUE(fleet.has_value()) << fleet.error().detail;
    fleet_ = fleet->release();
    ASSERT_FALSE(fleet_->primary().openmpic.empty());
    auto connected = ConnectOpenMpic(*fleet_);
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

  static json Caa(const std::string& target, const std::string& type,
                  const std::string& issuer = "ca.example") {
    return {{"check_type", "caa"},
            {"domain_or_ip_target", target},
            {"caa_check_parameters", {{"certificate_type", type}, {"caa_domains", {issuer}}}}};
  }

  // The primary's own check (listed first) in a 200 body.
  static const json& PrimaryCheck(const json& body) {
    static const json kNone = json::object();
    if (!body.contains("perspectives") || body["perspectives"].empty()) return kNone;
    return body["perspectives"][0]["check_response"];
  }

  // Every perspective's check failed with an error whose message contains `text`.
  static void ExpectEveryErrorSays(const json& body, const std::string& text) {
    ASSERT_TRUE(body["perspectives"].is_array()) << body.dump();
    ASSERT_FALSE(body["perspectives"].empty()) << body.dump();
    for (const json& p : body["perspectives"]) {
      const json& errors = p["check_response"]["errors"];
      ASSERT_TRUE(errors.is_array() && !errors.empty()) << p.dump();
      EXPECT_NE(errors[0].value("error_message", "").find(text), std::string::npos)
          << text << " not in " << p.dump();
    }
  }

  // Has the responder redirect `path` (a plain HTTP GET of it) to `target`.
  static void Redirect(const std::string& path, const std::string& target) {
    json body = {{"path", path}, {"targetURL", target}};
    auto reply = lab::HttpPost(fleet_->responder().management_address,
                               fleet_->options().management_port, "/add-redirect", body.dump(),
                               5s);
    ASSERT_TRUE(reply.has_value()) << reply.error().detail;
    ASSERT_EQ(reply->status, 200) << reply->body;
  }

  static std::unique_ptr<lab::OpenMpicClient> KeyClient(const std::string& key) {
    lab::OpenMpicClient::Options options;
    options.address = fleet_->primary().openmpic;
    options.tls.ca_file = fleet_->client_tls().ca_file;  // verifies the primary; no client cert
    options.tls.server_name = fleet_->client_tls().server_name;
    options.api_key = key;
    options.timeout = 60s;
    auto client = lab::OpenMpicClient::Connect(options);
    EXPECT_TRUE(client.has_value()) << client.error().detail;
    return client ? std::move(*client) : nullptr;
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

TEST_F(OpenMpicLabTest, BrMethodWebsiteChange) {
  // BR 3.2.2.4.18: the Random Value in /.well-known/pki-validation/<http_token_path>. The
  // responder serves only ACME paths, so the file redirects (302) to content it serves: the
  // redirect is followed as for HTTP-01 and shows in the details' response_history.
  const std::string value = Random43('W');
  const std::string holder = Random43('H');
  ASSERT_TRUE(fleet_->AddHttp01(holder, "mpic website-change: " + value + "\n").has_value());
  const std::string file = "mpic-" + std::to_string(::getpid()) + ".txt";
  const std::string path = "/.well-known/pki-validation/" + file;
  const std::string served = "http://http.secure.lab/.well-known/acme-challenge/" + holder;
  Redirect(path, served);
  json params = {{"validation_method", "website-change"},
                 {"challenge_value", value},
                 {"http_token_path", file}};
  Reply ok = Post(Dcv("http.secure.lab", params));
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["is_valid"], true) << ok.body.dump();
  EXPECT_EQ(ok.body["dcv_check_parameters"]["http_token_path"], file);
  EXPECT_EQ(ok.body["dcv_check_parameters"]["url_scheme"], "http");
  for (const json& p : ok.body["perspectives"]) {
    const json& response = p["check_response"];
    EXPECT_EQ(response["check_passed"], true) << p.dump();
    const json& details = response["details"];
    EXPECT_EQ(details["validation_method"], "website-change") << details.dump();
    ASSERT_EQ(details["response_history"].size(), 1u) << details.dump();
    EXPECT_EQ(details["response_history"][0]["url"], "http://http.secure.lab" + path);
    EXPECT_EQ(details["response_history"][0]["status_code"], 302);
    EXPECT_EQ(details["response_url"], served) << details.dump();
    EXPECT_EQ(details["response_status_code"], 200) << details.dump();
    EXPECT_EQ(details["resolved_ip"], fleet_->responder().http_address) << details.dump();
    EXPECT_TRUE(details["response_page"].is_string()) << details.dump();  // base64 first bytes
  }

  // The file holds something else than this Random Value: invalid, the page still reported.
  params["challenge_value"] = Random43('X');
  Reply bad = Post(Dcv("http.secure.lab", params));
  ASSERT_EQ(bad.status, 200) << bad.body.dump();
  EXPECT_EQ(bad.body["is_valid"], false) << bad.body.dump();
  EXPECT_EQ(PrimaryCheck(bad.body)["check_passed"], false);
  EXPECT_EQ(PrimaryCheck(bad.body)["details"]["response_status_code"], 200) << bad.body.dump();
  EXPECT_TRUE(PrimaryCheck(bad.body)["details"]["response_page"].is_string()) << bad.body.dump();
}

TEST_F(OpenMpicLabTest, BrMethodsContactTxt) {
  // BR 3.2.2.4.14 / .16: the address or number at _validation-contactemail / -contactphone.
  SetDns("_validation-contactemail.ct.secure.lab.", "TXT", "\"owner@ct.example\"");
  SetDns("_validation-contactphone.ct.secure.lab.", "TXT", "\"+1 555 0100\"");
  auto contact = [](const std::string& method, const std::string& value) {
    return Post(Dcv("ct.secure.lab", {{"validation_method", method}, {"challenge_value", value}}));
  };
  Reply email = contact("contact-email-txt", "owner@ct.example");
  ASSERT_EQ(email.status, 200) << email.body.dump();
  EXPECT_EQ(email.body["is_valid"], true) << email.body.dump();
  EXPECT_EQ(email.body["dcv_check_parameters"]["dns_name_prefix"], "_validation-contactemail");
  const json& details = PrimaryCheck(email.body)["details"];
  EXPECT_EQ(details["found_at"], "_validation-contactemail.ct.secure.lab") << details.dump();
  EXPECT_EQ(details["ad_flag"], true) << details.dump();
  Reply phone = contact("contact-phone-txt", "+15550100");
  ASSERT_EQ(phone.status, 200) << phone.body.dump();
  EXPECT_EQ(phone.body["is_valid"], true) << phone.body.dump();
  EXPECT_EQ(PrimaryCheck(phone.body)["details"]["found_at"],
            "_validation-contactphone.ct.secure.lab");

  Reply other_email = contact("contact-email-txt", "someone-else@ct.example");
  ASSERT_EQ(other_email.status, 200) << other_email.body.dump();
  EXPECT_EQ(other_email.body["is_valid"], false) << other_email.body.dump();
  Reply other_phone = contact("contact-phone-txt", "+15550199");
  ASSERT_EQ(other_phone.status, 200) << other_phone.body.dump();
  EXPECT_EQ(other_phone.body["is_valid"], false) << other_phone.body.dump();
}

TEST_F(OpenMpicLabTest, BrMethodsContactCaaWithTreeClimbing) {
  // BR 3.2.2.4.13 / .17: the contactemail / contactphone CAA property, found by the RFC 8659
  // climb (nothing at www.ck, the RRset at ck).
  auto set = fleet_->lab().Set("secure.lab.", "ck.secure.lab.", "CAA",
                               {"0 issue \"ca.example\"", "0 contactemail \"admin@ck.example\"",
                                "0 contactphone \"+44 20 7946 0000\""});
  ASSERT_TRUE(set.has_value()) << set.error();
  auto contact = [](const std::string& method, const std::string& value) {
    return Post(
        Dcv("www.ck.secure.lab", {{"validation_method", method}, {"challenge_value", value}}));
  };
  Reply email = contact("contact-email-caa", "admin@ck.example");
  ASSERT_EQ(email.status, 200) << email.body.dump();
  EXPECT_EQ(email.body["is_valid"], true) << email.body.dump();
  EXPECT_EQ(PrimaryCheck(email.body)["details"]["found_at"], "ck.secure.lab")
      << email.body.dump();
  Reply phone = contact("contact-phone-caa", "+442079460000");
  ASSERT_EQ(phone.status, 200) << phone.body.dump();
  EXPECT_EQ(phone.body["is_valid"], true) << phone.body.dump();

  Reply other_email = contact("contact-email-caa", "admin@elsewhere.example");
  ASSERT_EQ(other_email.status, 200) << other_email.body.dump();
  EXPECT_EQ(other_email.body["is_valid"], false) << other_email.body.dump();
  Reply other_phone = contact("contact-phone-caa", "+442079460001");
  ASSERT_EQ(other_phone.status, 200) << other_phone.body.dump();
  EXPECT_EQ(other_phone.body["is_valid"], false) << other_phone.body.dump();
}

TEST_F(OpenMpicLabTest, BrMethodReverseAddressLookup) {
  // BR 3.2.2.5.3: the PTR record of the address names the domain. The lab's root does not
  // delegate in-addr.arpa, so the reverse name lives in the signed root zone (outside the
  // RFC 6303 ranges libunbound answers locally).
  auto set = fleet_->lab().Set(".", "21.3.0.192.in-addr.arpa.", "PTR", {"Host.Rev.secure.lab."});
  ASSERT_TRUE(set.has_value()) << set.error();
  auto lookup = [](const std::string& name) {
    return Post(Dcv("192.0.3.21", {{"validation_method", "reverse-address-lookup"},
                                   {"challenge_value", name}}));
  };
  Reply ok = lookup("host.rev.secure.lab");
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["is_valid"], true) << ok.body.dump();
  const json& details = PrimaryCheck(ok.body)["details"];
  EXPECT_EQ(details["found_at"], "21.3.0.192.in-addr.arpa") << details.dump();
  EXPECT_EQ(details["ad_flag"], true) << details.dump();
  Reply bad = lookup("other.rev.secure.lab");
  ASSERT_EQ(bad.status, 200) << bad.body.dump();
  EXPECT_EQ(bad.body["is_valid"], false) << bad.body.dump();
  // A name target is refused: this method validates an address.
  Reply name = Post(Dcv("rev.secure.lab", {{"validation_method", "reverse-address-lookup"},
                                           {"challenge_value", "host.rev.secure.lab"}}));
  ASSERT_EQ(name.status, 400) << name.body.dump();
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

TEST_F(OpenMpicLabTest, ApiKeyInsteadOfAClientCertificate) {
  const std::string ka = Random43('k') + "." + Random43('l');
  SetDns("_acme-challenge.key.secure.lab.", "TXT", "\"" + checks::Dns01TxtValue(ka) + "\"");
  json body = Dcv("key.secure.lab", {{"validation_method", "acme-dns-01"},
                                      {"key_authorization", ka}});
  body["trace_identifier"] = "openmpic-lab-api-key";
  auto keyed = KeyClient(kApiKey);
  ASSERT_NE(keyed, nullptr);
  auto ok = keyed->Post("/mpic", body.dump());
  ASSERT_TRUE(ok.has_value()) << ok.error().detail;
  ASSERT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(json::parse(ok->body, nullptr, false)["is_valid"], true) << ok->body;
  auto records = AuditRecords(fleet_->audit_log(), "openmpic-lab-api-key");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["api"]["client"], std::string("api-key:") + kApiKeyName);

  // A wrong key, or none (and no certificate): 401, nothing validated or audited.
  for (const std::string& key : {std::string("wrong-key-0123456789abcdef0123456789"),
                                 std::string()}) {
    auto refused_client = KeyClient(key);
    ASSERT_NE(refused_client, nullptr);
    body["trace_identifier"] = "openmpic-lab-api-key-refused";
    auto refused = refused_client->Post("/mpic", body.dump());
    ASSERT_TRUE(refused.has_value()) << refused.error().detail;
    EXPECT_EQ(refused->status, 401) << refused->body;
    EXPECT_EQ(json::parse(refused->body, nullptr, false).value("is_valid", false), false);
  }
  EXPECT_TRUE(AuditRecords(fleet_->audit_log(), "openmpic-lab-api-key-refused").empty());
}

TEST_F(OpenMpicLabTest, KeyAuthorizationHashAsTheSpecSendsIt) {
  // acme-dns-01: the TXT value itself (base64url SHA-256); acme-tls-alpn-01: 64 hex digits.
  const std::string ka = Random43('s') + "." + Random43('u');
  SetDns("_acme-challenge.hash.secure.lab.", "TXT", "\"" + checks::Dns01TxtValue(ka) + "\"");
  Reply ok = Post(Dcv("hash.secure.lab", {{"validation_method", "acme-dns-01"},
                                           {"key_authorization_hash", checks::Dns01TxtValue(ka)}}));
  ASSERT_EQ(ok.status, 200) << ok.body.dump();
  EXPECT_EQ(ok.body["is_valid"], true) << ok.body.dump();
  EXPECT_EQ(ok.body["dcv_check_parameters"]["key_authorization_hash"], checks::Dns01TxtValue(ka));
  const std::string other = Random43('y') + "." + Random43('z');
  Reply bad = Post(Dcv("hash.secure.lab", {{"validation_method", "acme-dns-01"},
                                            {"key_authorization_hash",
                                             checks::Dns01TxtValue(other)}}));
  ASSERT_EQ(bad.status, 200) << bad.body.dump();
  EXPECT_EQ(bad.body["is_valid"], false);

  const std::string tls_ka = Random43('o') + "." + Random43('p');
  ASSERT_TRUE(fleet_->AddTlsAlpn01("tls.secure.lab", tls_ka).has_value());
  Reply tls = Post(Dcv("tls.secure.lab", {{"validation_method", "acme-tls-alpn-01"},
                                          {"key_authorization_hash",
                                           checks::Hex(checks::Sha256(tls_ka))}}));
  ASSERT_EQ(tls.status, 200) << tls.body.dump();
  EXPECT_EQ(tls.body["is_valid"], true) << tls.body.dump();
}

TEST_F(OpenMpicLabTest, CaaForSmimeUsesIssuemail) {
  // RFC 9495: issuemail governs S/MIME; issue does not (and issuemail does not govern TLS).
  auto both = fleet_->lab().Set("secure.lab.", "mail.secure.lab.", "CAA",
                                {"0 issue \";\"", "0 issuemail \"ca.example\""});
  ASSERT_TRUE(both.has_value()) << both.error();
  json smime = Caa("mail.secure.lab", "s-mime");
  smime["trace_identifier"] = "openmpic-lab-smime";
  Reply permit = Post(smime);
  ASSERT_EQ(permit.status, 200) << permit.body.dump();
  EXPECT_EQ(permit.body["is_valid"], true) << permit.body.dump();
  EXPECT_EQ(permit.body["caa_check_parameters"]["certificate_type"], "s-mime");
  Reply tls = Post(Caa("mail.secure.lab", "tls-server"));
  ASSERT_EQ(tls.status, 200) << tls.body.dump();
  EXPECT_EQ(tls.body["is_valid"], false) << tls.body.dump();
  auto records = AuditRecords(fleet_->audit_log(), "openmpic-lab-smime");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].value("certificate_type", ""), "s-mime");

  // Deny: issuemail names another CA. Critical unknown tag: denied for S/MIME too.
  SetDns("mail2.secure.lab.", "CAA", "0 issuemail \"other-ca.example\"");
  Reply deny = Post(Caa("mail2.secure.lab", "s-mime"));
  ASSERT_EQ(deny.status, 200) << deny.body.dump();
  EXPECT_EQ(deny.body["is_valid"], false) << deny.body.dump();
  auto crit = fleet_->lab().Set("secure.lab.", "mail3.secure.lab.", "CAA",
                                {"128 tbs \"x\"", "0 issuemail \"ca.example\""});
  ASSERT_TRUE(crit.has_value()) << crit.error();
  Reply critical = Post(Caa("mail3.secure.lab", "s-mime"));
  ASSERT_EQ(critical.status, 200) << critical.body.dump();
  EXPECT_EQ(critical.body["is_valid"], false) << critical.body.dump();
}

TEST_F(OpenMpicLabTest, CaaIssuewildAndCriticalTags) {
  auto set = fleet_->lab().Set("secure.lab.", "wc.secure.lab.", "CAA",
                               {"0 issue \"other-ca.example\"", "0 issuewild \"ca.example\""});
  ASSERT_TRUE(set.has_value()) << set.error();
  Reply wild = Post(Caa("*.wc.secure.lab", "tls-server"));
  ASSERT_EQ(wild.status, 200) << wild.body.dump();
  EXPECT_EQ(wild.body["is_valid"], true) << wild.body.dump();
  Reply plain = Post(Caa("wc.secure.lab", "tls-server"));
  ASSERT_EQ(plain.status, 200) << plain.body.dump();
  EXPECT_EQ(plain.body["is_valid"], false) << plain.body.dump();
  auto crit = fleet_->lab().Set("secure.lab.", "crit.secure.lab.", "CAA",
                                {"128 tbs \"x\"", "0 issue \"ca.example\""});
  ASSERT_TRUE(crit.has_value()) << crit.error();
  Reply critical = Post(Caa("crit.secure.lab", "tls-server"));
  ASSERT_EQ(critical.status, 200) << critical.body.dump();
  EXPECT_EQ(critical.body["is_valid"], false) << critical.body.dump();
  EXPECT_EQ(PrimaryCheck(critical.body)["details"]["caa_record_present"], true)
      << critical.body.dump();
}

TEST_F(OpenMpicLabTest, WildcardAndCnameChainWithDns01) {
  const std::string ka = Random43('w') + "." + Random43('c');
  const std::string txt = "\"" + checks::Dns01TxtValue(ka) + "\"";
  SetDns("_acme-challenge.wild.secure.lab.", "TXT", txt);
  Reply wild = Post(Dcv("*.wild.secure.lab", {{"validation_method", "acme-dns-01"},
                                              {"key_authorization", ka}}));
  ASSERT_EQ(wild.status, 200) << wild.body.dump();
  EXPECT_EQ(wild.body["is_valid"], true) << wild.body.dump();
  EXPECT_EQ(wild.body["domain_or_ip_target"], "*.wild.secure.lab");
  // A wildcard by HTTP-01 is refused (RFC 8555 §7.1.3).
  Reply http = Post(Dcv("*.wild.secure.lab", {{"validation_method", "acme-http-01"},
                                              {"token", ka.substr(0, ka.find('.'))},
                                              {"key_authorization", ka}}));
  ASSERT_EQ(http.status, 400) << http.body.dump();

  // The challenge name is an alias, two hops from the TXT record.
  SetDns("cn-target.secure.lab.", "TXT", txt);
  SetDns("cn-hop.secure.lab.", "CNAME", "cn-target.secure.lab.");
  SetDns("_acme-challenge.cn.secure.lab.", "CNAME", "cn-hop.secure.lab.");
  Reply chain = Post(Dcv("cn.secure.lab", {{"validation_method", "acme-dns-01"},
                                           {"key_authorization", ka}}));
  ASSERT_EQ(chain.status, 200) << chain.body.dump();
  EXPECT_EQ(chain.body["is_valid"], true) << chain.body.dump();
  const json& details = PrimaryCheck(chain.body)["details"];
  ASSERT_TRUE(details["cname_chain"].is_array()) << details.dump();
  EXPECT_FALSE(details["cname_chain"].empty()) << details.dump();
}

TEST_F(OpenMpicLabTest, DnssecBogusAndUnreachableNameServerFailClosed) {
  // The right value, but in a zone whose signatures do not validate.
  const std::string ka = Random43('b') + "." + Random43('g');
  auto set = fleet_->lab().Set("bogus.lab.", "_acme-challenge.www.bogus.lab.", "TXT",
                               {"\"" + checks::Dns01TxtValue(ka) + "\""});
  ASSERT_TRUE(set.has_value()) << set.error();
  Reply bogus = Post(Dcv("www.bogus.lab", {{"validation_method", "acme-dns-01"},
                                           {"key_authorization", ka}}));
  ASSERT_EQ(bogus.status, 200) << bogus.body.dump();
  EXPECT_EQ(bogus.body["is_valid"], false) << bogus.body.dump();
  EXPECT_TRUE(PrimaryCheck(bogus.body)["errors"].is_array()) << bogus.body.dump();
  // dead.lab.'s server never answers: the check ends at its bound, denied (slowest case here).
  Reply dead = Post(Caa("x.dead.lab", "tls-server"));
  ASSERT_EQ(dead.status, 200) << dead.body.dump();
  EXPECT_EQ(dead.body["is_valid"], false) << dead.body.dump();
  EXPECT_TRUE(PrimaryCheck(dead.body)["errors"].is_array()) << dead.body.dump();
}

TEST_F(OpenMpicLabTest, RedirectsToForbiddenAddressesAndPortsFail) {
  // The content is served at the redirect target too, so only the policy can say no.
  const std::string token = Random43('r');
  const std::string ka = token + "." + Random43('i');
  ASSERT_TRUE(fleet_->AddHttp01(token, ka).has_value());
  const std::string private_token = Random43('P');
  Redirect("/.well-known/acme-challenge/" + private_token,
           "http://10.0.0.1/.well-known/acme-challenge/" + token);
  const std::string port_token = Random43('Q');
  const uint16_t port = fleet_->options().management_port;
  Redirect("/.well-known/acme-challenge/" + port_token,
           "http://http.secure.lab:" + std::to_string(port) + "/.well-known/acme-challenge/" +
               token);
  // Every perspective refuses, each with the rule that said no: the address policy (before
  // any connect to 10.0.0.1) and the port rule (only the HTTP and HTTPS ports, BR 3.2.2.4.19).
  const std::vector<std::pair<std::string, std::string>> cases = {
      {private_token, "address 10.0.0.1 is in"},
      {port_token, "port " + std::to_string(port) + " is not allowed"}};
  for (const auto& [t, refusal] : cases) {
    Reply r = Post(Dcv("http.secure.lab", {{"validation_method", "acme-http-01"},
                                           {"token", t},
                                           {"key_authorization", t + ka.substr(ka.find('.'))}}));
    ASSERT_EQ(r.status, 200) << r.body.dump();
    EXPECT_EQ(r.body["is_valid"], false) << r.body.dump();
    ExpectEveryErrorSays(r.body, refusal);
  }
}

TEST_F(OpenMpicLabTest, Ipv6TargetIsNormalizedAndHeldToTheAddressPolicy) {
  // ::1 is outside the fleet's lab range (its own 127.A.B.0/24): refused before any connect.
  const std::string token = Random43('6');
  const std::string ka = token + "." + Random43('v');
  Reply r = Post(Dcv("0:0:0:0:0:0:0:1", {{"validation_method", "acme-http-01"},
                                          {"token", token},
                                          {"key_authorization", ka}}));
  ASSERT_EQ(r.status, 200) << r.body.dump();
  EXPECT_EQ(r.body["is_valid"], false) << r.body.dump();
  EXPECT_EQ(r.body["domain_or_ip_target"], "0:0:0:0:0:0:0:1");  // echoed as sent
  EXPECT_TRUE(PrimaryCheck(r.body)["errors"].is_array()) << r.body.dump();
  ASSERT_FALSE(PrimaryCheck(r.body)["errors"].empty()) << r.body.dump();
  // The perspectives were asked about the RFC 5952 form.
  EXPECT_NE(PrimaryCheck(r.body)["errors"][0].value("error_message", "").find("::1"),
            std::string::npos)
      << r.body.dump();
  // DNS-01 cannot validate an IP address (RFC 8738 §7).
  Reply dns = Post(Dcv("::1", {{"validation_method", "acme-dns-01"}, {"key_authorization", ka}}));
  EXPECT_EQ(dns.status, 400) << dns.body.dump();
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
