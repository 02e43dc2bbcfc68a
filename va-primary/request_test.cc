#include "va-primary/request.h"

#include <gtest/gtest.h>

#include <array>

#include "checks/key_authorization.h"

namespace mpic::va_primary {
namespace {

constexpr char kToken[] = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
constexpr char kKeyAuth[] =
    "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

v1::ValidateRequest Dns01() {
  v1::ValidateRequest r;
  r.set_identifier("WWW.Example.COM.");
  r.set_method(v1::DNS_01);
  r.set_key_authorization(kKeyAuth);
  r.add_caa_issuer_domains("ca.example");
  r.set_account_uri("https://ca.example/acct/1");
  return r;
}

std::string Error(const v1::ValidateRequest& r) {
  auto checked = CheckValidateRequest(r);
  if (checked) return "";
  EXPECT_EQ(checked.error().type, ProblemType::kMalformed);
  return checked.error().detail;
}

TEST(RequestTest, AcceptsAndNormalizesDns01) {
  auto r = CheckValidateRequest(Dns01());
  ASSERT_TRUE(r.has_value()) << r.error().detail;
  EXPECT_EQ(r->identifier, "www.example.com");
  EXPECT_EQ(r->dcv, checks::Method::kDns01);
  EXPECT_TRUE(r->caa);
  EXPECT_FALSE(r->is_ip);
  EXPECT_EQ(r->caa_issuer_domains, std::vector<std::string>{"ca.example"});
}

TEST(RequestTest, Http01NeedsAMatchingToken) {
  v1::ValidateRequest r = Dns01();
  r.set_method(v1::HTTP_01);
  EXPECT_NE(Error(r).find("token"), std::string::npos);
  r.set_token(kToken);
  EXPECT_EQ(Error(r), "");
  r.set_token("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  EXPECT_NE(Error(r).find("does not start with the token"), std::string::npos);
}

TEST(RequestTest, SmimeCaaTravelsToPrimaryAndRemotes) {
  v1::ValidateRequest r = Dns01();
  r.set_certificate_type(v1::CERTIFICATE_TYPE_S_MIME);
  auto checked = CheckValidateRequest(r);
  ASSERT_TRUE(checked.has_value()) << checked.error().detail;
  EXPECT_TRUE(checked->caa_smime);
  EXPECT_TRUE(CaaCheckRequest(*checked, checks::Clock::now()).caa_smime);
  v1::CheckRequest remote = RemoteCheckRequest(*checked, "id-1");
  EXPECT_EQ(remote.caa().certificate_type(), v1::CERTIFICATE_TYPE_S_MIME);
  auto plan = perspective::CheckPlanFromProto(remote, checks::Clock::now());
  ASSERT_TRUE(plan.has_value()) << plan.error().detail;
  ASSERT_TRUE(plan->caa.has_value());
  EXPECT_TRUE(plan->caa->caa_smime);
  // TLS (the default) stays TLS on the wire.
  auto tls = CheckValidateRequest(Dns01());
  ASSERT_TRUE(tls.has_value());
  EXPECT_EQ(RemoteCheckRequest(*tls, "id-2").caa().certificate_type(),
            v1::CERTIFICATE_TYPE_TLS_SERVER);

  v1::ValidateRequest wild = r;
  wild.set_wildcard(true);
  EXPECT_NE(Error(wild).find("wildcard"), std::string::npos);
  v1::ValidateRequest no_caa = r;
  no_caa.set_skip_caa(true);
  EXPECT_NE(Error(no_caa).find("certificate_type"), std::string::npos);
  v1::ValidateRequest unknown = Dns01();
  unknown.set_certificate_type(static_cast<v1::CertificateType>(7));
  EXPECT_NE(Error(unknown).find("certificate_type"), std::string::npos);
}

TEST(RequestTest, KeyAuthorizationDigestForDns01AndTlsAlpn01) {
  const std::array<uint8_t, 32> digest = checks::Sha256(kKeyAuth);
  const std::string bytes(reinterpret_cast<const char*>(digest.data()), digest.size());
  v1::ValidateRequest r = Dns01();
  r.clear_key_authorization();
  r.set_key_authorization_sha256(bytes);
  auto checked = CheckValidateRequest(r);
  ASSERT_TRUE(checked.has_value()) << checked.error().detail;
  ASSERT_TRUE(checked->key_authorization_sha256.has_value());
  EXPECT_EQ(*checked->key_authorization_sha256, digest);
  EXPECT_EQ(DcvCheckRequest(*checked, checks::Clock::now()).key_authorization_sha256, digest);
  v1::CheckRequest remote = RemoteCheckRequest(*checked, "id-3");
  EXPECT_EQ(remote.dcv().key_authorization_sha256(), bytes);
  auto plan = perspective::CheckPlanFromProto(remote, checks::Clock::now());
  ASSERT_TRUE(plan.has_value()) << plan.error().detail;
  ASSERT_TRUE(plan->dcv.has_value());
  EXPECT_EQ(plan->dcv->key_authorization_sha256, digest);
  EXPECT_TRUE(plan->dcv->key_authorization.empty());

  v1::ValidateRequest tls = r;
  tls.set_method(v1::TLS_ALPN_01);
  EXPECT_EQ(Error(tls), "");
  v1::ValidateRequest both = r;
  both.set_key_authorization(kKeyAuth);
  EXPECT_NE(Error(both).find("not both"), std::string::npos);
  v1::ValidateRequest short_digest = r;
  short_digest.set_key_authorization_sha256(bytes.substr(0, 31));
  EXPECT_NE(Error(short_digest).find("32 octets"), std::string::npos);
  v1::ValidateRequest http = r;
  http.set_method(v1::HTTP_01);
  http.set_token(kToken);
  EXPECT_NE(Error(http).find("DNS_01 and TLS_ALPN_01"), std::string::npos);
}

TEST(RequestTest, RefusesGarbage) {
  v1::ValidateRequest r = Dns01();
  r.set_identifier("");
  EXPECT_NE(Error(r).find("identifier is required"), std::string::npos);
  r.set_identifier("bad name!.example");
  EXPECT_NE(Error(r).find("identifier"), std::string::npos);
  r.set_identifier(std::string(300, 'a'));
  EXPECT_NE(Error(r).find("identifier"), std::string::npos);
  r.set_identifier("*.example.com");
  EXPECT_NE(Error(r).find("identifier"), std::string::npos);

  r = Dns01();
  r.set_method(v1::METHOD_UNSPECIFIED);
  EXPECT_NE(Error(r).find("method is required"), std::string::npos);
  r.set_method(v1::CAA);
  EXPECT_NE(Error(r).find("not a DCV method"), std::string::npos);
  r.set_method(static_cast<v1::Method>(77));
  EXPECT_NE(Error(r).find("not a DCV method"), std::string::npos);

  r = Dns01();
  r.set_key_authorization("not a key authorization");
  EXPECT_NE(Error(r).find("key authorization"), std::string::npos);
  r.set_key_authorization(".abc");
  EXPECT_NE(Error(r).find("key authorization"), std::string::npos);

  r = Dns01();
  r.clear_caa_issuer_domains();
  EXPECT_NE(Error(r).find("caa_issuer_domains is required"), std::string::npos);
  r.add_caa_issuer_domains("not a domain");
  EXPECT_NE(Error(r).find("not a domain name"), std::string::npos);
  r.clear_caa_issuer_domains();
  for (int i = 0; i < 17; ++i) r.add_caa_issuer_domains("ca.example");
  EXPECT_NE(Error(r).find("at most"), std::string::npos);

  r = Dns01();
  r.set_account_uri("has space");
  EXPECT_NE(Error(r).find("account_uri"), std::string::npos);

  r = Dns01();
  r.set_skip_caa(true);
  r.set_skip_dcv(true);
  EXPECT_NE(Error(r).find("nothing to validate"), std::string::npos);
}

TEST(RequestTest, IpIdentifiers) {
  v1::ValidateRequest r = Dns01();
  r.set_identifier("192.0.2.7");
  r.set_skip_caa(true);
  EXPECT_NE(Error(r).find("DNS-01"), std::string::npos);
  r.set_method(v1::HTTP_01);
  r.set_token(kToken);
  EXPECT_EQ(Error(r), "");
  r.set_skip_caa(false);
  EXPECT_NE(Error(r).find("CAA does not apply"), std::string::npos);
  r.set_skip_caa(true);
  r.set_identifier("2001:DB8::1");
  auto checked = CheckValidateRequest(r);
  ASSERT_TRUE(checked.has_value());
  EXPECT_TRUE(checked->is_ip);
  EXPECT_EQ(checked->identifier, "2001:db8::1");
}

TEST(RequestTest, WildcardsOnlyWithDns01) {
  v1::ValidateRequest r = Dns01();
  r.set_wildcard(true);
  EXPECT_EQ(Error(r), "");
  r.set_method(v1::HTTP_01);
  r.set_token(kToken);
  EXPECT_NE(Error(r).find("wildcard"), std::string::npos);
}

TEST(RequestTest, CaaOnly) {
  v1::ValidateRequest r;
  r.set_identifier("example.com");
  r.set_skip_dcv(true);
  r.add_caa_issuer_domains("ca.example");
  auto checked = CheckValidateRequest(r);
  ASSERT_TRUE(checked.has_value()) << checked.error().detail;
  EXPECT_FALSE(checked->dcv.has_value());
  v1::CheckRequest remote = RemoteCheckRequest(*checked, "id");
  EXPECT_FALSE(remote.has_dcv());
  EXPECT_TRUE(remote.has_caa());
  r.set_token(kToken);
  EXPECT_NE(Error(r).find("skip_dcv"), std::string::npos);
}

TEST(RequestTest, BuildsTheSameChecksForPrimaryAndRemotes) {
  v1::ValidateRequest in = Dns01();
  in.set_attempt(2);
  auto r = CheckValidateRequest(in);
  ASSERT_TRUE(r.has_value());
  const auto deadline = checks::Clock::now();
  checks::CheckRequest dcv = DcvCheckRequest(*r, deadline);
  EXPECT_EQ(dcv.method, checks::Method::kDns01);
  EXPECT_EQ(dcv.identifier, "www.example.com");
  EXPECT_EQ(dcv.key_authorization, kKeyAuth);
  checks::CheckRequest caa = CaaCheckRequest(*r, deadline);
  EXPECT_EQ(caa.method, checks::Method::kCaa);
  EXPECT_EQ(caa.caa_validation_method, "dns-01");
  EXPECT_EQ(caa.account_uri, "https://ca.example/acct/1");

  v1::CheckRequest remote = RemoteCheckRequest(*r, "abc");
  EXPECT_EQ(remote.request_id(), "abc");
  EXPECT_EQ(remote.identifier(), "www.example.com");
  EXPECT_EQ(remote.attempt(), 2u);
  EXPECT_EQ(remote.dcv().method(), v1::DNS_01);
  EXPECT_EQ(remote.dcv().key_authorization(), kKeyAuth);
  EXPECT_EQ(remote.caa().validation_method(), "dns-01");
  EXPECT_EQ(remote.caa().issuer_domains(0), "ca.example");
}

TEST(RequestTest, BrMethodsTakeAChallengeValueNotAKeyAuthorization) {
  v1::ValidateRequest r = Dns01();
  r.set_method(v1::DNS_CHANGE);
  EXPECT_NE(Error(r).find("challenge_value is required"), std::string::npos) << Error(r);
  r.set_challenge_value("Rv7Qx2mK9pLc4TzW8yHn");
  EXPECT_NE(Error(r).find("key_authorization given with"), std::string::npos) << Error(r);
  r.clear_key_authorization();
  r.set_dns_name_prefix("_pki-validation");
  r.set_require_exact_case(false);
  r.set_wildcard(true);  // a DNS method may validate a wildcard
  auto checked = CheckValidateRequest(r);
  ASSERT_TRUE(checked) << checked.error().detail;
  EXPECT_EQ(checked->dcv, checks::Method::kDnsChange);
  v1::CheckRequest remote = RemoteCheckRequest(*checked, "id");
  EXPECT_EQ(remote.dcv().method(), v1::DNS_CHANGE);
  EXPECT_EQ(remote.dcv().challenge_value(), "Rv7Qx2mK9pLc4TzW8yHn");
  EXPECT_EQ(remote.dcv().dns_name_prefix(), "_pki-validation");
  EXPECT_TRUE(remote.dcv().has_require_exact_case());
  EXPECT_FALSE(remote.dcv().require_exact_case());
  EXPECT_EQ(remote.caa().validation_method(), "ca-dns-change");  // RFC 8657 §4
  EXPECT_EQ(DcvCheckRequest(*checked, checks::Clock::now()).challenge_value,
            "Rv7Qx2mK9pLc4TzW8yHn");
  EXPECT_EQ(CaaCheckRequest(*checked, checks::Clock::now()).caa_validation_method,
            "ca-dns-change");
  // Not on an ACME method; not with an IP except where the method validates one.
  v1::ValidateRequest acme = Dns01();
  acme.set_challenge_value("x");
  EXPECT_FALSE(CheckValidateRequest(acme));
  r.set_wildcard(false);
  r.set_identifier("192.0.2.1");
  r.set_skip_caa(true);
  EXPECT_FALSE(CheckValidateRequest(r));
  r.set_method(v1::REVERSE_ADDRESS_LOOKUP);
  r.clear_dns_name_prefix();
  r.set_challenge_value("host.example.com");
  EXPECT_TRUE(CheckValidateRequest(r)) << Error(r);
  r.set_identifier("host.example.com");
  EXPECT_FALSE(CheckValidateRequest(r));
  // website-change cannot validate a wildcard (BR §3.2.2.4.18).
  v1::ValidateRequest web = Dns01();
  web.set_method(v1::WEBSITE_CHANGE);
  web.clear_key_authorization();
  web.set_challenge_value("Rv7Qx2mK9pLc4TzW8yHn");
  web.set_http_token_path("p.txt");
  EXPECT_TRUE(CheckValidateRequest(web)) << Error(web);
  web.set_wildcard(true);
  EXPECT_FALSE(CheckValidateRequest(web));
}

}  // namespace
}  // namespace mpic::va_primary

namespace mpic::va_primary {
namespace {

// dns-persist-01 (BR §3.2.2.4.22): no token or key authorization, but the account and the CA's
// issuer names are required (also with skip_caa), and travel to the remotes in the DCV params.
TEST(RequestTest, DnsPersist01) {
  v1::ValidateRequest r = Dns01();
  r.set_method(v1::DNS_PERSIST_01);
  r.clear_key_authorization();
  r.set_account_uri("https://ca.example/acct/1");
  r.set_wildcard(true);
  r.set_skip_caa(true);
  r.set_persist_domain("Example.COM");
  auto checked = CheckValidateRequest(r);
  ASSERT_TRUE(checked) << checked.error().detail;
  EXPECT_EQ(checked->dcv, checks::Method::kDnsPersist01);
  EXPECT_EQ(checked->persist_domain, "example.com");
  const v1::CheckRequest remote = RemoteCheckRequest(*checked, "id");
  EXPECT_EQ(remote.dcv().method(), v1::DNS_PERSIST_01);
  EXPECT_EQ(remote.dcv().account_uri(), "https://ca.example/acct/1");
  ASSERT_EQ(remote.dcv().issuer_domains_size(), 1);
  EXPECT_FALSE(remote.has_caa());
  const checks::CheckRequest own = DcvCheckRequest(*checked, checks::Clock::now());
  EXPECT_EQ(own.account_uri, "https://ca.example/acct/1");
  EXPECT_EQ(own.persist_domain, "example.com");

  v1::ValidateRequest no_account = r;
  no_account.clear_account_uri();
  EXPECT_NE(Error(no_account).find("account_uri is required"), std::string::npos);
  v1::ValidateRequest no_issuer = r;
  no_issuer.clear_caa_issuer_domains();
  EXPECT_NE(Error(no_issuer).find("caa_issuer_domains is required"), std::string::npos);
  v1::ValidateRequest with_ka = r;
  with_ka.set_key_authorization("a.b");
  EXPECT_FALSE(CheckValidateRequest(with_ka));
  v1::ValidateRequest persist_on_dns01 = Dns01();
  persist_on_dns01.set_persist_domain("example.com");
  EXPECT_FALSE(CheckValidateRequest(persist_on_dns01));
}

TEST(RequestTest, DnsAccount01NeedsTheAccount) {
  v1::ValidateRequest r = Dns01();
  r.set_method(v1::DNS_ACCOUNT_01);
  r.clear_account_uri();
  EXPECT_NE(Error(r).find("account_uri is required"), std::string::npos);
  r.set_account_uri("https://ca.example/acct/1");
  auto checked = CheckValidateRequest(r);
  ASSERT_TRUE(checked) << checked.error().detail;
  EXPECT_EQ(RemoteCheckRequest(*checked, "id").dcv().account_uri(), "https://ca.example/acct/1");
  r.set_identifier("192.0.2.1");
  r.set_skip_caa(true);
  EXPECT_FALSE(CheckValidateRequest(r));
}

}  // namespace
}  // namespace mpic::va_primary
