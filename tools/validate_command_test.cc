#include "tools/validate_command.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

namespace mpic::tools {
namespace {

v1::PerspectiveResult Result(const std::string& name, v1::Rir rir, bool valid) {
  v1::PerspectiveResult r;
  r.mutable_perspective()->set_name(name);
  r.mutable_perspective()->set_rir(rir);
  r.set_status(v1::ANSWERED);
  r.set_corroborates(valid);
  r.set_latency_ms(12.34);
  v1::CheckOutcome* dcv = r.mutable_dcv();
  dcv->set_method(v1::DNS_01);
  dcv->set_valid(valid);
  dcv->mutable_evidence()->add_txt_values("abc");
  dcv->mutable_evidence()->add_lookups()->set_dnssec("secure");
  if (!valid) {
    dcv->mutable_problem()->set_type("urn:ietf:params:acme:error:unauthorized");
    dcv->mutable_problem()->set_detail("wrong TXT");
  }
  v1::CheckOutcome* caa = r.mutable_caa();
  caa->set_method(v1::CAA);
  caa->set_valid(true);
  caa->mutable_evidence()->set_caa_name("secure.lab.");
  return r;
}

v1::ValidateResponse Sample() {
  v1::ValidateResponse response;
  response.set_request_id("req-1");
  response.set_decision(v1::NOT_CORROBORATED);
  response.mutable_problem()->set_type("urn:ietf:params:acme:error:unauthorized");
  response.mutable_problem()->set_detail("quorum not reached");
  *response.mutable_primary() = Result("us-east-iad-1", v1::ARIN, true);
  *response.add_remotes() = Result("eu-fra-1", v1::RIPE_NCC, false);
  v1::PerspectiveResult* late = response.add_remotes();
  late->mutable_perspective()->set_name("ap-sin-1");
  late->mutable_perspective()->set_rir(v1::APNIC);
  late->set_status(v1::TIMED_OUT);
  late->set_error("deadline exceeded after 5000 ms");
  response.set_quorum("0/2");
  response.set_policy("BR 3.2.2.9 phase 2026-06-15 (min 4 remotes)");
  response.set_phase("2026-06-15");
  response.set_enforced(true);
  v1::Divergence* d = response.add_divergences();
  d->set_field("dcv.txt_values");
  auto* value = d->add_values();
  value->set_value("abc");
  value->add_perspectives("us-east-iad-1");
  value->add_perspectives("eu-fra-1");
  return response;
}

TEST(PrintDecision, TableDecisionProblemAndDivergences) {
  std::ostringstream out;
  PrintDecision(Sample(), out);
  const std::string s = out.str();
  EXPECT_NE(s.find("PERSPECTIVE"), std::string::npos) << s;
  EXPECT_NE(s.find("us-east-iad-1 (primary)"), std::string::npos) << s;
  EXPECT_NE(s.find("TXT x1 (secure); CAA secure.lab."), std::string::npos) << s;
  EXPECT_NE(s.find("unauthorized"), std::string::npos) << s;
  EXPECT_NE(s.find("TIMED_OUT"), std::string::npos) << s;
  EXPECT_NE(s.find("deadline exceeded"), std::string::npos) << s;
  EXPECT_NE(s.find("12.3"), std::string::npos) << s;
  // The phase is inside the policy text: not repeated.
  EXPECT_NE(s.find("decision: NOT_CORROBORATED (quorum 0/2, policy BR 3.2.2.9 phase 2026-06-15 "
                   "(min 4 remotes), request_id req-1)"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("problem: unauthorized: quorum not reached"), std::string::npos) << s;
  EXPECT_NE(s.find("dcv.txt_values:"), std::string::npos) << s;
  EXPECT_NE(s.find("<- us-east-iad-1, eu-fra-1"), std::string::npos) << s;
  // Primary first, then remotes in response order.
  EXPECT_LT(s.find("us-east-iad-1 (primary)"), s.find("eu-fra-1"));
  EXPECT_LT(s.find("eu-fra-1"), s.find("ap-sin-1"));
}

TEST(PrintDecision, LogOnlyPhaseIsSaid) {
  v1::ValidateResponse response = Sample();
  response.set_enforced(false);
  response.clear_divergences();
  std::ostringstream out;
  PrintDecision(response, out);
  EXPECT_NE(out.str().find("NOT ENFORCED"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("divergences: none"), std::string::npos) << out.str();
}

TEST(ResponseJson, ProtoFieldNamesAndEnumsAsText) {
  auto j = nlohmann::json::parse(ResponseJson(Sample()));
  EXPECT_EQ(j["decision"], "NOT_CORROBORATED");
  EXPECT_EQ(j["request_id"], "req-1");
  EXPECT_EQ(j["remotes"][1]["status"], "TIMED_OUT");
  EXPECT_EQ(j["primary"]["dcv"]["evidence"]["txt_values"][0], "abc");
}

TEST(ParseDcvMethod, NamesRoundTrip) {
  for (auto m : {v1::HTTP_01, v1::DNS_01, v1::TLS_ALPN_01, v1::DNS_PERSIST_01, v1::DNS_ACCOUNT_01,
                 v1::DNS_CHANGE, v1::WEBSITE_CHANGE, v1::IP_ADDRESS, v1::CONTACT_EMAIL_TXT,
                 v1::CONTACT_EMAIL_CAA, v1::CONTACT_PHONE_TXT, v1::CONTACT_PHONE_CAA,
                 v1::REVERSE_ADDRESS_LOOKUP}) {
    EXPECT_EQ(ParseDcvMethod(DcvMethodName(m)), m);
  }
  EXPECT_EQ(ParseDcvMethod("Reverse-Address-Lookup"), v1::REVERSE_ADDRESS_LOOKUP);
  EXPECT_EQ(ParseDcvMethod("DNS-01"), v1::DNS_01);
  EXPECT_EQ(ParseDcvMethod("caa"), std::nullopt);
  EXPECT_EQ(ParseDcvMethod("dns01"), std::nullopt);
}

TEST(DescribeStatus, NamesTheCode) {
  EXPECT_EQ(DescribeStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "refused")),
            "grpc UNAVAILABLE: refused");
  EXPECT_EQ(DescribeStatus(grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "")),
            "grpc UNAUTHENTICATED");
}

}  // namespace
}  // namespace mpic::tools

namespace mpic::tools {
namespace {

std::vector<std::string> Grpc(std::vector<std::string> more) {
  std::vector<std::string> args = {"--primary", "127.0.0.1:1", "--ca-cert", "ca.pem", "--cert",
                                   "c.pem", "--key", "c.key", "--identifier", "example.com"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(ValidateRequestForArgs, DnsPersist01Parameters) {
  auto request = ValidateRequestForArgs(
      Grpc({"--method", "dns-persist-01", "--issuer-domain", "ca.example", "--issuer-domain",
            "ca2.example", "--account-uri", "https://ca.example/acct/1", "--persist-domain",
            "example.com", "--wildcard", "--skip-caa"}));
  ASSERT_TRUE(request) << request.error().detail;
  EXPECT_EQ(request->method(), v1::DNS_PERSIST_01);
  ASSERT_EQ(request->caa_issuer_domains_size(), 2);
  EXPECT_EQ(request->caa_issuer_domains(1), "ca2.example");
  EXPECT_EQ(request->account_uri(), "https://ca.example/acct/1");
  EXPECT_EQ(request->persist_domain(), "example.com");
  EXPECT_TRUE(request->wildcard());
  EXPECT_TRUE(request->key_authorization().empty());

  // The draft-02 hashed accounturi: a prefix and the account's key thumbprints.
  request = ValidateRequestForArgs(
      Grpc({"--method", "dns-persist-01", "--issuer-domain", "ca.example",
            "--account-hash-prefix", "https://ca.example/acct-hash/", "--account-key-thumbprint",
            "t1", "--account-key-thumbprint", "t2", "--skip-caa"}));
  ASSERT_TRUE(request) << request.error().detail;
  EXPECT_EQ(request->account_hash_prefix(), "https://ca.example/acct-hash/");
  ASSERT_EQ(request->account_key_thumbprints_size(), 2);
  EXPECT_EQ(request->account_key_thumbprints(0), "t1");
}

TEST(ValidateRequestForArgs, DnsPersist01Refusals) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  for (const Case& c : std::vector<Case>{
           {{"--method", "dns-persist-01", "--account-uri", "https://a/1", "--skip-caa"},
            "--issuer-domain"},
           {{"--method", "dns-persist-01", "--issuer-domain", "ca.example", "--skip-caa"},
            "--account-uri"},
           {{"--method", "dns-persist-01", "--issuer-domain", "ca.example",
             "--account-hash-prefix", "https://a/", "--skip-caa"},
            "--account-key-thumbprint"},
           {{"--method", "dns-persist-01", "--issuer-domain", "ca.example", "--account-uri",
             "https://a/1", "--account-key-thumbprint", "t", "--skip-caa"},
            "--account-hash-prefix"},
           {{"--method", "dns-01", "--key-authorization", "t.k", "--issuer-domain", "ca.example",
             "--skip-caa"},
            "dns-persist-01"},
       }) {
    auto request = ValidateRequestForArgs(Grpc(c.args));
    ASSERT_FALSE(request) << c.says;
    EXPECT_NE(request.error().detail.find(c.says), std::string::npos) << request.error().detail;
  }
}

TEST(ValidateRequestForArgs, CertificateTypeForCaa) {
  auto smime = ValidateRequestForArgs(
      Grpc({"--skip-dcv", "--caa-issuer", "ca.example", "--certificate-type", "s-mime"}));
  ASSERT_TRUE(smime) << smime.error().detail;
  EXPECT_EQ(smime->certificate_type(), v1::CERTIFICATE_TYPE_S_MIME);
  auto tls = ValidateRequestForArgs(Grpc({"--skip-dcv", "--caa-issuer", "ca.example"}));
  ASSERT_TRUE(tls) << tls.error().detail;
  EXPECT_EQ(tls->certificate_type(), v1::CERTIFICATE_TYPE_TLS_SERVER);
  EXPECT_FALSE(ValidateRequestForArgs(
      Grpc({"--skip-dcv", "--caa-issuer", "ca.example", "--certificate-type", "code-signing"})));
  EXPECT_FALSE(ValidateRequestForArgs(Grpc({"--method", "dns-01", "--key-authorization", "t.k",
                                            "--skip-caa", "--certificate-type", "s-mime"})));
  auto body = OpenMpicBodyForArgs({"--api", "openmpic", "--openmpic-url", "http://127.0.0.1:1",
                                   "--identifier", "example.com", "--skip-dcv", "--caa-issuer",
                                   "ca.example", "--certificate-type", "s-mime"});
  ASSERT_TRUE(body) << body.error().detail;
  EXPECT_EQ(nlohmann::json::parse(*body)["caa_check_parameters"]["certificate_type"], "s-mime");
}

TEST(OpenMpicBodyForArgs, MapsDnsPersistAndBrMethods) {
  const std::vector<std::string> base = {"--api", "openmpic", "--openmpic-url",
                                         "http://127.0.0.1:1", "--identifier", "example.com"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = base;
    args.insert(args.end(), more.begin(), more.end());
    auto body = OpenMpicBodyForArgs(args);
    return body ? nlohmann::json::parse(*body) : nlohmann::json(body.error().detail);
  };
  nlohmann::json body = with({"--method", "dns-persist-01", "--issuer-domain", "ca.example",
                              "--account-uri", "https://ca.example/acct/1"});
  ASSERT_TRUE(body.is_object()) << body.dump();
  EXPECT_EQ(body["check_type"], "dcv");
  const nlohmann::json& persist = body["dcv_check_parameters"];
  EXPECT_EQ(persist["validation_method"], "dns-persistent");
  EXPECT_EQ(persist["issuer_domain_names"], nlohmann::json::array({"ca.example"}));
  EXPECT_EQ(persist["expected_account_uri"], "https://ca.example/acct/1");

  body = with({"--method", "dns-change", "--challenge-value", "rv", "--dns-name-prefix",
               "_pki", "--dns-record-type", "TXT", "--require-exact-match", "--ignore-case"});
  ASSERT_TRUE(body.is_object()) << body.dump();
  EXPECT_EQ(body["dcv_check_parameters"],
            (nlohmann::json{{"validation_method", "dns-change"},
                            {"challenge_value", "rv"},
                            {"dns_name_prefix", "_pki"},
                            {"dns_record_type", "TXT"},
                            {"require_exact_match", true},
                            {"require_exact_case", false}}));

  body = with({"--method", "website-change", "--challenge-value", "rv", "--http-token-path",
               "a.txt", "--url-scheme", "https"});
  ASSERT_TRUE(body.is_object()) << body.dump();
  EXPECT_EQ(body["dcv_check_parameters"]["validation_method"], "website-change");
  EXPECT_EQ(body["dcv_check_parameters"]["http_token_path"], "a.txt");
  EXPECT_EQ(body["dcv_check_parameters"]["url_scheme"], "https");

  body = with({"--method", "dns-persist-01", "--issuer-domain", "ca.example",
               "--account-hash-prefix", "https://a/", "--account-key-thumbprint", "t"});
  ASSERT_TRUE(body.is_string());
  EXPECT_NE(body.get<std::string>().find("no Open MPIC field"), std::string::npos);
  body = with({"--method", "dns-account-01", "--account-uri", "https://a/1"});
  ASSERT_TRUE(body.is_string()) << body.dump();
}

}  // namespace
}  // namespace mpic::tools
