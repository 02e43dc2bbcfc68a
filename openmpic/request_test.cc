#include "openmpic/request.h"

#include <gtest/gtest.h>

#include <string>

#include "openmpic/methods.h"

namespace mpic::openmpic {
namespace {

using json = nlohmann::json;

constexpr char kToken[] = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
constexpr char kKeyAuthorization[] =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
// base64url(SHA-256(kKeyAuthorization)) and its hex form.
constexpr char kDnsDigest[] = "1PU7xr2eSsx6Yd_RDsdINIwh7ZNZO1o5iidbjwv7SY8";

DecodeOptions Options() {
  DecodeOptions options;
  options.default_caa_domains = {"ca.example"};
  return options;
}

json HttpRequest() {
  return {{"check_type", "dcv"},
          {"domain_or_ip_target", "www.Example.com"},
          {"trace_identifier", "ac2d0392-8699-4037-a0e0-0a6db1ff8b89"},
          {"dcv_check_parameters",
           {{"validation_method", "acme-http-01"},
            {"token", kToken},
            {"key_authorization", kKeyAuthorization}}}};
}

// The issue types of a rejected body, in order.
std::vector<std::string> IssueTypes(const std::string& body, const DecodeOptions& options) {
  auto decoded = DecodeRequest(body, options);
  std::vector<std::string> types;
  if (decoded) return types;
  for (const ValidationIssue& issue : decoded.error()) types.push_back(issue.issue_type);
  return types;
}

std::vector<std::string> IssueTypes(const json& body) {
  return IssueTypes(body.dump(), Options());
}

TEST(DecodeRequestTest, Http01MapsToV1) {
  auto decoded = DecodeRequest(HttpRequest().dump(), Options());
  ASSERT_TRUE(decoded) << ValidationErrorBody(decoded.error()).dump();
  EXPECT_EQ(decoded->check_type, CheckType::kDcv);
  EXPECT_EQ(decoded->domain_or_ip_target, "www.Example.com");
  EXPECT_EQ(decoded->identifier, "www.example.com");
  EXPECT_EQ(decoded->validate.identifier(), "www.example.com");
  EXPECT_EQ(decoded->validate.method(), v1::HTTP_01);
  EXPECT_EQ(decoded->validate.token(), kToken);
  EXPECT_EQ(decoded->validate.key_authorization(), kKeyAuthorization);
  EXPECT_TRUE(decoded->validate.skip_caa());
  EXPECT_FALSE(decoded->validate.skip_dcv());
  EXPECT_EQ(decoded->trace_identifier, "ac2d0392-8699-4037-a0e0-0a6db1ff8b89");
  EXPECT_FALSE(decoded->orchestration.present);
  EXPECT_EQ(decoded->echo_parameters["require_exact_case"], true);
  EXPECT_TRUE(decoded->echo_parameters["http_headers"].is_null());
}

TEST(DecodeRequestTest, Dns01WithKeyAuthorizationAndWildcard) {
  json body = {{"check_type", "dcv"},
               {"domain_or_ip_target", "*.example.com"},
               {"dcv_check_parameters",
                {{"validation_method", "acme-dns-01"}, {"key_authorization", kKeyAuthorization}}}};
  auto decoded = DecodeRequest(body.dump(), Options());
  ASSERT_TRUE(decoded) << ValidationErrorBody(decoded.error()).dump();
  EXPECT_EQ(decoded->validate.method(), v1::DNS_01);
  EXPECT_TRUE(decoded->wildcard);
  EXPECT_TRUE(decoded->validate.wildcard());
  EXPECT_EQ(decoded->validate.identifier(), "example.com");
  EXPECT_EQ(decoded->validate.key_authorization(), kKeyAuthorization);
  EXPECT_FALSE(decoded->key_authorization_sha256);
}

TEST(DecodeRequestTest, Dns01HashOnlyNeedsBackendSupport) {
  json body = {{"check_type", "dcv"},
               {"domain_or_ip_target", "example.com"},
               {"dcv_check_parameters",
                {{"validation_method", "acme-dns-01"}, {"key_authorization_hash", kDnsDigest}}}};
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"unsupported-key-authorization-hash"});
  DecodeOptions options = Options();
  options.accept_key_authorization_hash = true;
  auto decoded = DecodeRequest(body.dump(), options);
  ASSERT_TRUE(decoded) << ValidationErrorBody(decoded.error()).dump();
  ASSERT_TRUE(decoded->key_authorization_sha256);
  EXPECT_EQ((*decoded->key_authorization_sha256)[0], 0xd4);  // '1P' -> 0xd4...
  EXPECT_TRUE(decoded->validate.key_authorization().empty());
  // mpic.v1 carries the digest to the primary and its perspectives.
  ASSERT_EQ(decoded->validate.key_authorization_sha256().size(), 32u);
  EXPECT_EQ(static_cast<uint8_t>(decoded->validate.key_authorization_sha256()[0]), 0xd4);
  EXPECT_EQ(decoded->echo_parameters["key_authorization_hash"], kDnsDigest);
}

TEST(DecodeRequestTest, DigestEncodingsAreChecked) {
  DecodeOptions options = Options();
  options.accept_key_authorization_hash = true;
  auto body = [](std::string method, std::string hash) {
    return json{{"check_type", "dcv"},
                {"domain_or_ip_target", "example.com"},
                {"dcv_check_parameters",
                 {{"validation_method", method}, {"key_authorization_hash", hash}}}}
        .dump();
  };
  const std::string hex(64, 'a');
  EXPECT_TRUE(DecodeRequest(body("acme-tls-alpn-01", hex), options));
  EXPECT_EQ(IssueTypes(body("acme-tls-alpn-01", kDnsDigest), options),
            std::vector<std::string>{"invalid-key-authorization-hash"});
  EXPECT_EQ(IssueTypes(body("acme-dns-01", hex), options),
            std::vector<std::string>{"invalid-key-authorization-hash"});
  // Non-canonical last character (low bits set) and padding are refused.
  EXPECT_EQ(IssueTypes(body("acme-dns-01", std::string(kDnsDigest).substr(0, 42) + "9"), options),
            std::vector<std::string>{"invalid-key-authorization-hash"});
  EXPECT_EQ(IssueTypes(body("acme-dns-01", std::string(kDnsDigest) + "="), options),
            std::vector<std::string>{"invalid-key-authorization-hash"});
}

TEST(DecodeRequestTest, CaaDefaultsAndEcho) {
  json body = {{"check_type", "caa"}, {"domain_or_ip_target", "example.com"}};
  auto decoded = DecodeRequest(body.dump(), Options());
  ASSERT_TRUE(decoded) << ValidationErrorBody(decoded.error()).dump();
  EXPECT_TRUE(decoded->validate.skip_dcv());
  EXPECT_FALSE(decoded->validate.skip_caa());
  ASSERT_EQ(decoded->validate.caa_issuer_domains_size(), 1);
  EXPECT_EQ(decoded->validate.caa_issuer_domains(0), "ca.example");
  EXPECT_EQ(decoded->certificate_type, "tls-server");
  EXPECT_EQ(decoded->echo_parameters,
            (json{{"certificate_type", "tls-server"},
                  {"caa_domains", nullptr},
                  {"allow_lookup_failure", false}}));

  body["caa_check_parameters"] = {{"caa_domains", {"Other.CA."}}};
  decoded = DecodeRequest(body.dump(), Options());
  ASSERT_TRUE(decoded);
  ASSERT_EQ(decoded->validate.caa_issuer_domains_size(), 1);
  EXPECT_EQ(decoded->validate.caa_issuer_domains(0), "other.ca");

  // Empty list: the configured default (Open MPIC's rule); no default configured: refused.
  body["caa_check_parameters"] = {{"caa_domains", json::array()}};
  EXPECT_TRUE(DecodeRequest(body.dump(), Options()));
  EXPECT_EQ(IssueTypes(body.dump(), DecodeOptions{}), std::vector<std::string>{"missing-field"});
}

TEST(DecodeRequestTest, CaaRules) {
  json body = {{"check_type", "caa"}, {"domain_or_ip_target", "*.example.com"}};
  auto decoded = DecodeRequest(body.dump(), Options());
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->validate.wildcard());  // issuewild governs (RFC 8659 §4.3)

  body["caa_check_parameters"] = {{"certificate_type", "code-signing"}};
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-certificate-type"});
  body["caa_check_parameters"] = {{"certificate_type", "s-mime"}};
  body["domain_or_ip_target"] = "example.com";
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"unsupported-certificate-type"});
  DecodeOptions smime = Options();
  smime.accept_smime = true;
  decoded = DecodeRequest(body.dump(), smime);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->certificate_type, "s-mime");
  EXPECT_EQ(decoded->validate.certificate_type(), v1::CERTIFICATE_TYPE_S_MIME);
  // Email addresses have no wildcard form (RFC 9495).
  body["domain_or_ip_target"] = "*.example.com";
  EXPECT_EQ(IssueTypes(body.dump(), smime),
            std::vector<std::string>{"invalid-domain-or-ip-target"});
  body["domain_or_ip_target"] = "*.example.com";

  body["caa_check_parameters"] = {{"allow_lookup_failure", true}};
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"unsupported-allow-lookup-failure"});
  body["caa_check_parameters"] = {{"allow_lookup_failure", false}};
  EXPECT_TRUE(IssueTypes(body).empty());
  body["caa_check_parameters"] = {{"caa_domains", "ca.example"}};
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-field-type"});
  body["caa_check_parameters"] = {{"caa_domains", {"not a domain"}}};
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-caa-domains"});
  body["caa_check_parameters"] = {{"caa_domains", json::array({1})}};
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-field-type"});
  json many = json::array();
  for (int i = 0; i < 17; ++i) many.push_back("ca" + std::to_string(i) + ".example");
  body["caa_check_parameters"] = {{"caa_domains", many}};
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-caa-domains"});

  body = {{"check_type", "caa"}, {"domain_or_ip_target", "192.0.2.1"}};
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-domain-or-ip-target"});
  // DCV parameters on a CAA request are an unknown field, not silently dropped.
  body = {{"check_type", "caa"},
          {"domain_or_ip_target", "example.com"},
          {"dcv_check_parameters", {{"validation_method", "acme-dns-01"}}}};
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"unknown-field"});
}

struct TargetCase {
  std::string target;
  std::string method;
  bool ok;
  std::string identifier;  // when ok
};

class TargetTest : public testing::TestWithParam<TargetCase> {};

TEST_P(TargetTest, Rules) {
  const TargetCase& c = GetParam();
  json params = {{"validation_method", c.method}, {"key_authorization", kKeyAuthorization}};
  if (c.method == "acme-http-01") params["token"] = kToken;
  json body = {{"check_type", "dcv"},
               {"domain_or_ip_target", c.target},
               {"dcv_check_parameters", params}};
  auto decoded = DecodeRequest(body.dump(), Options());
  ASSERT_EQ(decoded.has_value(), c.ok)
      << c.target << " " << (decoded ? "" : ValidationErrorBody(decoded.error()).dump());
  if (decoded) {
    EXPECT_EQ(decoded->identifier, c.identifier);
  } else {
    EXPECT_EQ(decoded.error().front().issue_type, "invalid-domain-or-ip-target");
  }
}

INSTANTIATE_TEST_SUITE_P(
    DomainOrIpTarget, TargetTest,
    testing::Values(
        TargetCase{"example.com", "acme-http-01", true, "example.com"},
        TargetCase{"EXAMPLE.com", "acme-dns-01", true, "example.com"},
        TargetCase{"xn--bcher-kva.example", "acme-dns-01", true, "xn--bcher-kva.example"},
        TargetCase{"192.0.2.10", "acme-http-01", true, "192.0.2.10"},
        TargetCase{"2001:DB8:0:0::1", "acme-tls-alpn-01", true, "2001:db8::1"},
        TargetCase{"*.example.com", "acme-dns-01", true, "example.com"},
        TargetCase{"*.example.com", "acme-http-01", false, ""},
        TargetCase{"*.example.com", "acme-tls-alpn-01", false, ""},
        TargetCase{"192.0.2.10", "acme-dns-01", false, ""},
        TargetCase{"*.192.0.2.10", "acme-dns-01", false, ""},
        TargetCase{"*.*.example.com", "acme-dns-01", false, ""},
        TargetCase{"example.com.", "acme-dns-01", false, ""},
        TargetCase{"bücher.example", "acme-dns-01", false, ""},
        TargetCase{"exa mple.com", "acme-dns-01", false, ""},
        TargetCase{"_acme.example.com", "acme-dns-01", false, ""},
        TargetCase{"localhost", "acme-http-01", false, ""},
        TargetCase{"1.2.3", "acme-http-01", false, ""},
        TargetCase{"01.2.3.4", "acme-http-01", false, ""},
        TargetCase{"fe80::1%eth0", "acme-http-01", false, ""},
        TargetCase{"[2001:db8::1]", "acme-http-01", false, ""},
        TargetCase{"-bad.example.com", "acme-http-01", false, ""},
        TargetCase{std::string(64, 'a') + ".example", "acme-http-01", false, ""},
        TargetCase{"", "acme-http-01", false, ""}));

TEST(DecodeRequestTest, JsonShapeErrors) {
  EXPECT_EQ(IssueTypes("{", Options()), std::vector<std::string>{"malformed-json"});
  EXPECT_EQ(IssueTypes("", Options()), std::vector<std::string>{"malformed-json"});
  EXPECT_EQ(IssueTypes("{} x", Options()), std::vector<std::string>{"malformed-json"});
  EXPECT_EQ(IssueTypes("/*c*/{}", Options()), std::vector<std::string>{"malformed-json"});
  EXPECT_EQ(IssueTypes("[]", Options()), std::vector<std::string>{"invalid-request-body"});
  EXPECT_EQ(IssueTypes("\"dcv\"", Options()), std::vector<std::string>{"invalid-request-body"});
  EXPECT_EQ(IssueTypes("{\"a\":\"\xff\"}", Options()), std::vector<std::string>{"malformed-json"});
  EXPECT_EQ(IssueTypes(R"({"check_type":"caa","check_type":"dcv"})", Options()),
            std::vector<std::string>{"duplicate-field"});
  std::string deep = R"({"check_type":"caa","domain_or_ip_target":"example.com","x":)" +
                     std::string(40, '[') + std::string(40, ']') + "}";
  EXPECT_EQ(IssueTypes(deep, Options()), std::vector<std::string>{"malformed-json"});
  EXPECT_EQ(IssueTypes(json::object()),
            (std::vector<std::string>{"missing-field", "missing-field"}));
}

TEST(DecodeRequestTest, TopLevelRules) {
  json body = HttpRequest();
  body["extra"] = 1;
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"unknown-field"});
  body = HttpRequest();
  body["check_type"] = "both";
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-check-type"});
  body["check_type"] = 1;
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-field-type"});
  body = HttpRequest();
  body["domain_or_ip_target"] = json::array({"example.com"});
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-field-type"});
  body = HttpRequest();
  body["trace_identifier"] = std::string(300, 'x');
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-trace-identifier"});
  body["trace_identifier"] = "tab\there";
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-trace-identifier"});
  body["trace_identifier"] = nullptr;  // null is "absent"
  EXPECT_TRUE(IssueTypes(body).empty());
  body = HttpRequest();
  body.erase("dcv_check_parameters");
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"missing-field"});
  body["dcv_check_parameters"] = "acme-http-01";
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-field-type"});
}

TEST(DecodeRequestTest, OrchestrationParametersTypes) {
  json body = HttpRequest();
  body["orchestration_parameters"] = {{"perspective_count", 6}, {"quorum_count", 4},
                                      {"max_attempts", 2}, {"cohort_for_single_attempt", nullptr}};
  auto decoded = DecodeRequest(body.dump(), Options());
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->orchestration.present);
  EXPECT_EQ(decoded->orchestration.perspective_count, 6);
  EXPECT_EQ(decoded->orchestration.quorum_count, 4);
  EXPECT_EQ(decoded->orchestration.max_attempts, 2);
  EXPECT_FALSE(decoded->orchestration.cohort_for_single_attempt);

  for (json bad : {json(3.0), json("3"), json(true), json::array({3}), json(1e30),
                   json(18446744073709551615ull)}) {
    body["orchestration_parameters"] = {{"perspective_count", bad}};
    EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-field-type"}) << bad.dump();
  }
  body["orchestration_parameters"] = {{"perspectives", json::array({"us-east-1"})}};
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"unknown-field"});
  body["orchestration_parameters"] = 5;
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-field-type"});
}

TEST(DecodeRequestTest, DnsPersistentMapsToV1) {
  json body = {{"check_type", "dcv"},
               {"domain_or_ip_target", "www.example.com"},
               {"dcv_check_parameters",
                {{"validation_method", "dns-persistent"},
                 {"issuer_domain_names", {"CA.Example", "ca2.example"}},
                 {"expected_account_uri", "https://ca.example/acme/acct/42"}}}};
  auto decoded = DecodeRequest(body.dump(), Options());
  ASSERT_TRUE(decoded) << ValidationErrorBody(decoded.error()).dump();
  EXPECT_EQ(decoded->validate.method(), v1::DNS_PERSIST_01);
  ASSERT_EQ(decoded->validate.caa_issuer_domains_size(), 2);
  EXPECT_EQ(decoded->validate.caa_issuer_domains(0), "ca.example");
  EXPECT_EQ(decoded->validate.account_uri(), "https://ca.example/acme/acct/42");
  EXPECT_TRUE(decoded->validate.skip_caa());
  EXPECT_EQ(decoded->echo_parameters["dns_name_prefix"], "_validation-persist");
  EXPECT_EQ(decoded->echo_parameters["require_exact_case"], false);

  json bad = body;
  bad["dcv_check_parameters"].erase("issuer_domain_names");
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"missing-field"});
  bad = body;
  bad["dcv_check_parameters"]["issuer_domain_names"] = json::array();
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-issuer-domain-names"});
  bad = body;
  bad["dcv_check_parameters"]["expected_account_uri"] = "not a uri";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-expected-account-uri"});
  bad = body;
  bad["dcv_check_parameters"]["dns_record_type"] = "CNAME";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-dns-record-type"});
  bad = body;
  bad["dcv_check_parameters"]["dns_name_prefix"] = "_acme-challenge";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-dns-name-prefix"});
  bad = body;
  bad["dcv_check_parameters"]["token"] = "x";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"unknown-field"});
}

json BrRequest(const std::string& target, json params) {
  return {{"check_type", "dcv"}, {"domain_or_ip_target", target},
          {"dcv_check_parameters", std::move(params)}};
}

TEST(DecodeRequestTest, DnsChangeMapsToV1) {
  json body = BrRequest("www.example.com", {{"validation_method", "dns-change"},
                                            {"challenge_value", "Rand0m-Value"},
                                            {"dns_name_prefix", "_pki-validation"},
                                            {"dns_record_type", "CNAME"},
                                            {"require_exact_match", true},
                                            {"require_exact_case", false}});
  auto decoded = DecodeRequest(body.dump(), Options());
  ASSERT_TRUE(decoded) << ValidationErrorBody(decoded.error()).dump();
  const v1::ValidateRequest& v = decoded->validate;
  EXPECT_EQ(v.method(), v1::DNS_CHANGE);
  EXPECT_EQ(v.identifier(), "www.example.com");
  EXPECT_EQ(v.challenge_value(), "Rand0m-Value");
  EXPECT_EQ(v.dns_name_prefix(), "_pki-validation");
  EXPECT_EQ(v.dns_record_type(), "CNAME");
  EXPECT_TRUE(v.require_exact_match());
  ASSERT_TRUE(v.has_require_exact_case());
  EXPECT_FALSE(v.require_exact_case());
  EXPECT_TRUE(v.key_authorization().empty());
  EXPECT_EQ(decoded->echo_parameters["dns_name_prefix"], "_pki-validation");

  // Open MPIC defaults: substring match, exact case left to the check (echoed true).
  json minimal = BrRequest("*.example.com", {{"validation_method", "dns-change"},
                                             {"challenge_value", "v"},
                                             {"dns_record_type", "TXT"}});
  decoded = DecodeRequest(minimal.dump(), Options());
  ASSERT_TRUE(decoded) << ValidationErrorBody(decoded.error()).dump();
  EXPECT_FALSE(decoded->validate.require_exact_match());
  EXPECT_FALSE(decoded->validate.has_require_exact_case());
  EXPECT_TRUE(decoded->validate.wildcard());
  EXPECT_EQ(decoded->echo_parameters["require_exact_case"], true);
  EXPECT_EQ(decoded->echo_parameters["require_exact_match"], false);
  EXPECT_TRUE(decoded->echo_parameters["dns_name_prefix"].is_null());

  json bad = minimal;
  bad["dcv_check_parameters"]["dns_record_type"] = "A";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-dns-record-type"});
  bad = minimal;
  bad["dcv_check_parameters"].erase("dns_record_type");
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"missing-field"});
  for (const char* prefix : {"pki", "_a.b", "_", "_x y"}) {
    bad = minimal;
    bad["dcv_check_parameters"]["dns_name_prefix"] = prefix;
    EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-dns-name-prefix"}) << prefix;
  }
  bad = minimal;
  bad["dcv_check_parameters"]["challenge_value"] = "";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-challenge-value"});
  bad = minimal;
  bad["dcv_check_parameters"].erase("challenge_value");
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"missing-field"});
  bad = minimal;
  bad["domain_or_ip_target"] = "192.0.2.1";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-domain-or-ip-target"});
  bad = minimal;
  bad["dcv_check_parameters"]["http_token_path"] = "x";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"unknown-field"});
}

TEST(DecodeRequestTest, WebsiteChangeMapsToV1) {
  json body = BrRequest("example.com", {{"validation_method", "website-change"},
                                        {"challenge_value", "token-123"},
                                        {"http_token_path", "mpic.txt"},
                                        {"url_scheme", "https"}});
  auto decoded = DecodeRequest(body.dump(), Options());
  ASSERT_TRUE(decoded) << ValidationErrorBody(decoded.error()).dump();
  EXPECT_EQ(decoded->validate.method(), v1::WEBSITE_CHANGE);
  EXPECT_EQ(decoded->validate.challenge_value(), "token-123");
  EXPECT_EQ(decoded->validate.http_token_path(), "mpic.txt");
  EXPECT_EQ(decoded->validate.url_scheme(), "https");
  EXPECT_TRUE(decoded->validate.match_regex().empty());
  EXPECT_EQ(decoded->echo_parameters["require_exact_case"], true);

  json plain = body;
  plain["dcv_check_parameters"].erase("url_scheme");
  plain["dcv_check_parameters"]["match_regex"] = "";
  plain["dcv_check_parameters"]["http_headers"] = json::object();
  decoded = DecodeRequest(plain.dump(), Options());
  ASSERT_TRUE(decoded) << ValidationErrorBody(decoded.error()).dump();
  EXPECT_EQ(decoded->validate.url_scheme(), "http");

  json bad = body;
  bad["dcv_check_parameters"]["match_regex"] = "tok.*";
  auto refused = DecodeRequest(bad.dump(), Options());
  ASSERT_FALSE(refused);
  ASSERT_EQ(refused.error().size(), 1u);
  EXPECT_EQ(refused.error()[0].issue_type, "unsupported-match-regex");
  EXPECT_NE(refused.error()[0].message.find("match_regex"), std::string::npos);
  bad = body;
  bad["dcv_check_parameters"]["http_headers"] = {{"User-Agent", "x"}};
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"unsupported-http-headers"});
  bad = body;
  bad["dcv_check_parameters"]["url_scheme"] = "ftp";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-url-scheme"});
  for (const char* path : {"../secret", "/abs", "a?b", "a b", ""}) {
    bad = body;
    bad["dcv_check_parameters"]["http_token_path"] = path;
    EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-http-token-path"}) << path;
  }
  bad = body;
  bad["dcv_check_parameters"]["dns_name_prefix"] = "_x";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"unknown-field"});
  bad = body;
  bad["domain_or_ip_target"] = "*.example.com";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-domain-or-ip-target"});
}

TEST(DecodeRequestTest, IpAddressMapsToV1) {
  json body = BrRequest("host.example.com", {{"validation_method", "ip-address"},
                                             {"challenge_value", "2001:DB8:0::7"},
                                             {"dns_record_type", "AAAA"}});
  auto decoded = DecodeRequest(body.dump(), Options());
  ASSERT_TRUE(decoded) << ValidationErrorBody(decoded.error()).dump();
  EXPECT_EQ(decoded->validate.method(), v1::IP_ADDRESS);
  EXPECT_EQ(decoded->validate.identifier(), "host.example.com");
  EXPECT_EQ(decoded->validate.challenge_value(), "2001:db8::7");  // RFC 5952
  EXPECT_EQ(decoded->validate.dns_record_type(), "AAAA");

  json bad = body;
  bad["dcv_check_parameters"]["dns_record_type"] = "A";  // an IPv6 address in an A record
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-dns-record-type"});
  bad = body;
  bad["dcv_check_parameters"]["dns_record_type"] = "TXT";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-dns-record-type"});
  bad = body;
  bad["dcv_check_parameters"]["challenge_value"] = "host.example.com";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-challenge-value"});
  bad = body;
  bad["dcv_check_parameters"]["dns_name_prefix"] = "_x";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-dns-name-prefix"});
  bad = body;
  bad["domain_or_ip_target"] = "2001:db8::7";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-domain-or-ip-target"});
}

TEST(DecodeRequestTest, ContactMethodsMapToV1) {
  struct Case {
    const char* name;
    v1::Method method;
    const char* value;
    const char* type;
    const char* prefix;  // the one accepted non-empty dns_name_prefix, or ""
  };
  for (const Case& c : {Case{"contact-email-txt", v1::CONTACT_EMAIL_TXT, "dns@example.com", "TXT",
                             "_validation-contactemail"},
                        Case{"contact-email-caa", v1::CONTACT_EMAIL_CAA, "dns@example.com", "CAA",
                             ""},
                        Case{"contact-phone-txt", v1::CONTACT_PHONE_TXT, "+1 555 0100", "TXT",
                             "_validation-contactphone"},
                        Case{"contact-phone-caa", v1::CONTACT_PHONE_CAA, "+1 555 0100", "CAA",
                             ""}}) {
    json body = BrRequest("example.com",
                          {{"validation_method", c.name}, {"challenge_value", c.value}});
    auto decoded = DecodeRequest(body.dump(), Options());
    ASSERT_TRUE(decoded) << c.name << ValidationErrorBody(decoded.error()).dump();
    EXPECT_EQ(decoded->validate.method(), c.method) << c.name;
    EXPECT_EQ(decoded->validate.challenge_value(), c.value) << c.name;
    EXPECT_TRUE(decoded->validate.dns_name_prefix().empty()) << c.name;
    EXPECT_EQ(decoded->echo_parameters["dns_record_type"], c.type) << c.name;
    EXPECT_EQ(decoded->echo_parameters["require_exact_case"], false) << c.name;

    json with = body;
    with["dcv_check_parameters"]["dns_record_type"] = c.type;
    if (*c.prefix) with["dcv_check_parameters"]["dns_name_prefix"] = c.prefix;
    EXPECT_TRUE(DecodeRequest(with.dump(), Options())) << c.name;
    json bad = body;
    bad["dcv_check_parameters"]["dns_name_prefix"] = "_pki-validation";
    EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-dns-name-prefix"}) << c.name;
    bad = body;
    bad["dcv_check_parameters"]["dns_record_type"] = std::string(c.type) == "TXT" ? "CAA" : "TXT";
    EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-dns-record-type"}) << c.name;
    bad = body;
    bad["domain_or_ip_target"] = "192.0.2.1";
    EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-domain-or-ip-target"}) << c.name;
  }
}

TEST(DecodeRequestTest, ReverseAddressLookupMapsToV1) {
  json body = BrRequest("192.0.2.7", {{"validation_method", "reverse-address-lookup"},
                                      {"challenge_value", "Host.Example.com."}});
  auto decoded = DecodeRequest(body.dump(), Options());
  ASSERT_TRUE(decoded) << ValidationErrorBody(decoded.error()).dump();
  EXPECT_EQ(decoded->validate.method(), v1::REVERSE_ADDRESS_LOOKUP);
  EXPECT_EQ(decoded->validate.identifier(), "192.0.2.7");
  EXPECT_EQ(decoded->validate.challenge_value(), "host.example.com");
  EXPECT_EQ(decoded->echo_parameters["dns_record_type"], "PTR");

  json bad = body;
  bad["domain_or_ip_target"] = "example.com";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-domain-or-ip-target"});
  bad = body;
  bad["dcv_check_parameters"]["challenge_value"] = "not a name";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-challenge-value"});
  bad = body;
  bad["dcv_check_parameters"]["dns_record_type"] = "A";
  EXPECT_EQ(IssueTypes(bad), std::vector<std::string>{"invalid-dns-record-type"});
}

TEST(DecodeRequestTest, MethodTable) {
  for (const MethodInfo& info : Methods()) {
    json body = {{"check_type", "dcv"},
                 {"domain_or_ip_target", "example.com"},
                 {"dcv_check_parameters", {{"validation_method", info.name}}}};
    auto types = IssueTypes(body);
    if (info.v1_method == v1::METHOD_UNSPECIFIED) {
      EXPECT_EQ(types, std::vector<std::string>{"unsupported-validation-method"}) << info.name;
    } else {
      EXPECT_EQ(MethodName(info.v1_method), info.name);
      EXPECT_FALSE(types.empty());  // parameters missing
    }
  }
  EXPECT_NE(FindMethod("dns-persistent"), nullptr);
  EXPECT_EQ(FindMethod("http-01"), nullptr);
  json body = {{"check_type", "dcv"},
               {"domain_or_ip_target", "example.com"},
               {"dcv_check_parameters", {{"validation_method", "http-01"}}}};
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-validation-method"});
  body["dcv_check_parameters"] = json::object();
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"missing-field"});
}

TEST(DecodeRequestTest, Http01ParameterRules) {
  json body = HttpRequest();
  body["dcv_check_parameters"]["token"] = "short";
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-token"});
  body = HttpRequest();
  body["dcv_check_parameters"]["key_authorization"] = "no-dot";
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-key-authorization"});
  body["dcv_check_parameters"]["key_authorization"] =
      std::string("A") + std::string(kKeyAuthorization).substr(1);
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-key-authorization"});
  body = HttpRequest();
  body["dcv_check_parameters"].erase("key_authorization");
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"missing-field"});
  body = HttpRequest();
  body["dcv_check_parameters"]["http_headers"] = {{"User-Agent", "ca.example"}};
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"unsupported-http-headers"});
  body["dcv_check_parameters"]["http_headers"] = json::object();
  EXPECT_TRUE(IssueTypes(body).empty());
  body["dcv_check_parameters"]["require_exact_case"] = false;
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"unsupported-require-exact-case"});
  body["dcv_check_parameters"]["require_exact_case"] = "true";
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"invalid-field-type"});
  body["dcv_check_parameters"]["require_exact_case"] = true;
  body["dcv_check_parameters"]["challenge_value"] = "x";
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"unknown-field"});
}

TEST(DecodeRequestTest, DigestMethodRules) {
  json body = {{"check_type", "dcv"},
               {"domain_or_ip_target", "example.com"},
               {"dcv_check_parameters",
                {{"validation_method", "acme-tls-alpn-01"},
                 {"key_authorization", kKeyAuthorization},
                 {"key_authorization_hash", std::string(64, '0')}}}};
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"conflicting-fields"});
  body["dcv_check_parameters"].erase("key_authorization_hash");
  body["dcv_check_parameters"]["require_exact_case"] = false;  // meaningless for a digest
  EXPECT_TRUE(IssueTypes(body).empty());
  body["dcv_check_parameters"].erase("key_authorization");
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"missing-field"});
  body["dcv_check_parameters"]["validation_method"] = "acme-dns-01";
  body["dcv_check_parameters"]["require_exact_case"] = false;
  body["dcv_check_parameters"]["key_authorization"] = kKeyAuthorization;
  EXPECT_EQ(IssueTypes(body), std::vector<std::string>{"unsupported-require-exact-case"});
}

TEST(DecodeRequestTest, ErrorBodyShape) {
  auto decoded = DecodeRequest("{", Options());
  ASSERT_FALSE(decoded);
  json body = ValidationErrorBody(decoded.error());
  EXPECT_EQ(body["error"], "request-validation-failed");
  ASSERT_EQ(body["validation_issues"].size(), 1u);
  EXPECT_EQ(body["validation_issues"][0]["issue_type"], "malformed-json");
  EXPECT_TRUE(body["validation_issues"][0]["message"].is_string());
}

}  // namespace
}  // namespace mpic::openmpic
