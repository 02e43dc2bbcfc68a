#include "perspective/wire.h"

#include <gtest/gtest.h>

namespace mpic::perspective {
namespace {

using checks::Method;

// The inverse conversions exist only here: they prove the wire form loses nothing.
template <typename Repeated>
std::vector<std::string> ToVector(const Repeated& values) {
  return std::vector<std::string>(values.begin(), values.end());
}
template <typename Repeated>
void Append(const std::vector<std::string>& values, Repeated* out) {
  for (const auto& v : values) out->Add(std::string(v));
}

Result<Error> ProblemFromProto(const v1::Problem& problem) {
  Error e;
  if (!ParseProblemType(problem.type(), &e.type)) {
    return Fail(ProblemType::kMalformed, "unknown problem type \"" + problem.type() + "\"");
  }
  e.detail = problem.detail();
  return e;
}


checks::Evidence EvidenceFromProto(const v1::Evidence& ev) {
  checks::Evidence out;
  for (const auto& l : ev.lookups()) {
    checks::DnsLookupEvidence x;
    x.name = l.name();
    x.type = l.type();
    x.rcode = l.rcode();
    x.dnssec = l.dnssec();
    x.why_bogus = l.why_bogus();
    x.cname_chain = ToVector(l.cname_chain());
    x.records = ToVector(l.records());
    x.error = l.error();
    x.elapsed_ms = l.elapsed_ms();
    out.lookups.push_back(std::move(x));
  }
  out.addresses_resolved = ToVector(ev.addresses_resolved());
  out.address_used = ev.address_used();
  for (const auto& h : ev.http_hops()) {
    checks::HttpHopEvidence x;
    x.url = h.url();
    x.address = h.address();
    x.status = h.status();
    x.location = h.location();
    x.error = h.error();
    out.http_hops.push_back(std::move(x));
  }
  out.http_body = ev.http_body();
  out.txt_values = ToVector(ev.txt_values());
  out.caa_name = ev.caa_name();
  out.caa_records = ToVector(ev.caa_records());
  out.cert_sans = ToVector(ev.cert_sans());
  out.cert_sha256 = ev.cert_sha256();
  out.acme_identifier_hex = ev.acme_identifier_hex();
  out.alpn = ev.alpn();
  return out;
}


Result<checks::CheckResult> OutcomeFromProto(const v1::CheckOutcome& outcome) {
  checks::CheckResult r;
  auto method = MethodFromProto(outcome.method());
  if (!method) return Fail(method.error());
  r.method = *method;
  r.identifier = outcome.identifier();
  r.valid = outcome.valid();
  if (outcome.has_problem()) {
    auto problem = ProblemFromProto(outcome.problem());
    if (!problem) return Fail(problem.error());
    r.problem = std::move(*problem);
  }
  if (r.valid == r.problem.has_value()) {
    return Fail(ProblemType::kMalformed, r.valid ? "outcome is valid but carries a problem"
                                                 : "outcome is invalid but carries no problem");
  }
  r.evidence = EvidenceFromProto(outcome.evidence());
  double us = outcome.duration_ms() * 1000.0;
  if (!(us >= 0) || us > 1e15) us = 0;  // NaN, negative or absurd: not a duration
  r.duration = std::chrono::microseconds(static_cast<int64_t>(us));
  return r;
}


v1::CheckRequest CheckPlanToProto(const CheckPlan& plan) {
  v1::CheckRequest r;
  r.set_request_id(plan.request_id);
  const checks::CheckRequest* any = plan.dcv ? &*plan.dcv : plan.caa ? &*plan.caa : nullptr;
  if (any) {
    r.set_identifier(any->identifier);
    r.set_wildcard(any->wildcard);
  }
  if (plan.dcv) {
    v1::DcvParams* dcv = r.mutable_dcv();
    dcv->set_method(MethodToProto(plan.dcv->method));
    dcv->set_token(plan.dcv->token);
    dcv->set_key_authorization(plan.dcv->key_authorization);
  }
  if (plan.caa) {
    v1::CaaParams* caa = r.mutable_caa();
    Append(plan.caa->caa_issuer_domains, caa->mutable_issuer_domains());
    caa->set_account_uri(plan.caa->account_uri);
    caa->set_validation_method(plan.caa->caa_validation_method);
  }
  return r;
}



checks::Evidence FullEvidence() {
  checks::Evidence ev;
  checks::DnsLookupEvidence l;
  l.name = "_acme-challenge.www.secure.lab.";
  l.type = "TXT";
  l.rcode = "NOERROR";
  l.dnssec = "secure";
  l.why_bogus = "none";
  l.cname_chain = {"a.lab.", "b.lab."};
  l.records = {"x. 60 IN TXT \"v\""};
  l.error = "e";
  l.elapsed_ms = 1.5;
  ev.lookups = {l, checks::DnsLookupEvidence{}};
  ev.addresses_resolved = {"192.0.2.1", "2001:db8::1"};
  ev.address_used = "192.0.2.1";
  ev.http_hops = {{"http://a/", "192.0.2.1:80", 301, "http://b/", ""},
                  {"http://b/", "", 0, "", "refused"}};
  ev.http_body = "body";
  ev.txt_values = {"v1", "v2"};
  ev.caa_name = "secure.lab.";
  ev.caa_records = {"0 issue \"ca.example\""};
  ev.cert_sans = {"www.example"};
  ev.cert_sha256 = "ab";
  ev.acme_identifier_hex = "cd";
  ev.alpn = "acme-tls/1";
  return ev;
}

void ExpectSame(const checks::Evidence& a, const checks::Evidence& b) {
  EXPECT_EQ(nlohmann::ordered_json(checks::ToJson(a)).dump(),
            nlohmann::ordered_json(checks::ToJson(b)).dump());
  ASSERT_EQ(a.lookups.size(), b.lookups.size());
  for (size_t i = 0; i < a.lookups.size(); ++i) {
    EXPECT_EQ(a.lookups[i].why_bogus, b.lookups[i].why_bogus);
    EXPECT_EQ(a.lookups[i].error, b.lookups[i].error);
    EXPECT_EQ(a.lookups[i].cname_chain, b.lookups[i].cname_chain);
  }
}

TEST(ConvertTest, MethodsRoundTrip) {
  for (Method m : {Method::kHttp01, Method::kDns01, Method::kTlsAlpn01, Method::kCaa}) {
    auto back = MethodFromProto(MethodToProto(m));
    ASSERT_TRUE(back) << back.error().detail;
    EXPECT_EQ(*back, m);
  }
  EXPECT_FALSE(MethodFromProto(v1::METHOD_UNSPECIFIED));
  EXPECT_FALSE(MethodFromProto(static_cast<v1::Method>(42)));
  EXPECT_TRUE(DcvMethodFromProto(v1::DNS_01));
  auto caa = DcvMethodFromProto(v1::CAA);
  ASSERT_FALSE(caa);
  EXPECT_EQ(caa.error().type, ProblemType::kMalformed);
  EXPECT_NE(caa.error().detail.find("CAA"), std::string::npos);
  EXPECT_FALSE(DcvMethodFromProto(static_cast<v1::Method>(42)));
}

TEST(ConvertTest, EveryMethodRoundTrips) {
  for (Method m : checks::kAllMethods) {
    auto back = MethodFromProto(MethodToProto(m));
    ASSERT_TRUE(back) << checks::MethodName(m);
    EXPECT_EQ(*back, m);
    EXPECT_EQ(DcvMethodFromProto(MethodToProto(m)).has_value(), m != Method::kCaa);
  }
  EXPECT_EQ(MethodToProto(Method::kReverseAddressLookup), v1::REVERSE_ADDRESS_LOOKUP);
}

TEST(ConvertTest, RirsRoundTrip) {
  for (v1::Rir rir : {v1::ARIN, v1::RIPE_NCC, v1::APNIC, v1::LACNIC, v1::AFRINIC}) {
    auto back = ParseRir(RirName(rir));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, rir);
    auto by_enum_name = ParseRir(v1::Rir_Name(rir));
    ASSERT_TRUE(by_enum_name) << v1::Rir_Name(rir);
    EXPECT_EQ(*by_enum_name, rir);
  }
  EXPECT_EQ(RirName(v1::RIPE_NCC), "ripe");
  EXPECT_EQ(*ParseRir("RIPE NCC"), v1::RIPE_NCC);
  EXPECT_EQ(RirName(v1::RIR_UNSPECIFIED), "");
  EXPECT_EQ(RirDisplayName(v1::RIPE_NCC), "RIPE NCC");
  EXPECT_EQ(RirDisplayName(v1::AFRINIC), "AFRINIC");
  EXPECT_EQ(RirDisplayName(v1::RIR_UNSPECIFIED), "");
  EXPECT_EQ(ParseRir(RirDisplayName(v1::RIPE_NCC)).value(), v1::RIPE_NCC);
  EXPECT_FALSE(ParseRir("moon"));
  EXPECT_FALSE(ParseRir(""));
}

TEST(ConvertTest, ProblemsAsUrns) {
  for (ProblemType t :
       {ProblemType::kConnection, ProblemType::kDns, ProblemType::kUnauthorized,
        ProblemType::kIncorrectResponse, ProblemType::kTls, ProblemType::kCaa,
        ProblemType::kRejectedIdentifier, ProblemType::kMalformed, ProblemType::kServerInternal}) {
    v1::Problem p = ProblemToProto(Error{t, "why"});
    EXPECT_TRUE(p.type().starts_with("urn:ietf:params:acme:error:")) << p.type();
    auto back = ProblemFromProto(p);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, (Error{t, "why"}));
  }
  v1::Problem bad;
  bad.set_type("urn:example:nope");
  EXPECT_FALSE(ProblemFromProto(bad));
}

TEST(ConvertTest, EvidenceRoundTrip) {
  checks::Evidence ev = FullEvidence();
  v1::Evidence wire;
  EvidenceToProto(ev, &wire);
  EXPECT_EQ(wire.lookups_size(), 2);
  EXPECT_EQ(wire.http_hops(0).status(), 301);
  EXPECT_EQ(wire.alpn(), "acme-tls/1");
  // Through bytes, as on the wire.
  v1::Evidence parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire.SerializeAsString()));
  ExpectSame(ev, EvidenceFromProto(parsed));
}

TEST(ConvertTest, OutcomeRoundTripValidAndInvalid) {
  checks::CheckResult ok;
  ok.method = Method::kDns01;
  ok.identifier = "www.secure.lab";
  ok.valid = true;
  ok.evidence = FullEvidence();
  ok.duration = std::chrono::microseconds(12345);
  v1::CheckOutcome wire = OutcomeToProto(ok);
  EXPECT_EQ(wire.method(), v1::DNS_01);
  EXPECT_TRUE(wire.valid());
  EXPECT_FALSE(wire.has_problem());
  EXPECT_DOUBLE_EQ(wire.duration_ms(), 12.345);
  auto back = OutcomeFromProto(wire);
  ASSERT_TRUE(back) << back.error().detail;
  EXPECT_EQ(back->method, ok.method);
  EXPECT_EQ(back->identifier, ok.identifier);
  EXPECT_TRUE(back->valid);
  EXPECT_FALSE(back->problem);
  EXPECT_EQ(back->duration, ok.duration);
  ExpectSame(back->evidence, ok.evidence);

  checks::CheckResult bad;
  bad.method = Method::kCaa;
  bad.identifier = "x.lab";
  bad.problem = Error{ProblemType::kCaa, "forbidden"};
  wire = OutcomeToProto(bad);
  EXPECT_FALSE(wire.valid());
  EXPECT_EQ(wire.problem().type(), "urn:ietf:params:acme:error:caa");
  back = OutcomeFromProto(wire);
  ASSERT_TRUE(back);
  EXPECT_FALSE(back->valid);
  EXPECT_EQ(*back->problem, *bad.problem);
}

TEST(ConvertTest, OutcomeFailsClosed) {
  checks::CheckResult contradictory;
  contradictory.valid = true;
  contradictory.problem = Error{ProblemType::kDns, "x"};
  EXPECT_FALSE(OutcomeToProto(contradictory).valid());

  checks::CheckResult no_verdict;  // invalid without a problem
  EXPECT_EQ(OutcomeToProto(no_verdict).problem().type(),
            "urn:ietf:params:acme:error:serverInternal");

  v1::CheckOutcome wire;
  wire.set_method(v1::DNS_01);
  wire.set_valid(true);
  wire.mutable_problem()->set_type("urn:ietf:params:acme:error:dns");
  EXPECT_FALSE(OutcomeFromProto(wire));  // valid with a problem
  wire.clear_problem();
  wire.set_valid(false);
  EXPECT_FALSE(OutcomeFromProto(wire));  // invalid without one
  wire.set_valid(true);
  wire.set_method(v1::METHOD_UNSPECIFIED);
  EXPECT_FALSE(OutcomeFromProto(wire));
  wire.set_method(v1::DNS_01);
  wire.set_duration_ms(-5);
  auto r = OutcomeFromProto(wire);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->duration.count(), 0);
}

v1::CheckRequest DnsAndCaa() {
  v1::CheckRequest r;
  r.set_request_id("req-1");
  r.set_identifier("www.secure.lab");
  r.set_wildcard(true);
  r.mutable_dcv()->set_method(v1::DNS_01);
  r.mutable_dcv()->set_key_authorization("tok.thumb");
  r.mutable_dcv()->set_token("tok");
  r.mutable_caa()->add_issuer_domains("ca.example");
  r.mutable_caa()->set_account_uri("https://ca.example/acct/1");
  return r;
}

TEST(ConvertTest, RequestToPlan) {
  auto deadline = checks::Clock::now() + std::chrono::seconds(3);
  auto plan = CheckPlanFromProto(DnsAndCaa(), deadline);
  ASSERT_TRUE(plan) << plan.error().detail;
  EXPECT_EQ(plan->request_id, "req-1");
  ASSERT_TRUE(plan->dcv);
  ASSERT_TRUE(plan->caa);
  EXPECT_EQ(plan->dcv->method, Method::kDns01);
  EXPECT_EQ(plan->dcv->identifier, "www.secure.lab");
  EXPECT_TRUE(plan->dcv->wildcard);
  EXPECT_EQ(plan->dcv->key_authorization, "tok.thumb");
  EXPECT_EQ(plan->dcv->token, "tok");
  EXPECT_EQ(plan->dcv->deadline, deadline);
  EXPECT_EQ(plan->caa->method, Method::kCaa);
  EXPECT_EQ(plan->caa->caa_issuer_domains, std::vector<std::string>{"ca.example"});
  EXPECT_EQ(plan->caa->account_uri, "https://ca.example/acct/1");
  EXPECT_EQ(plan->caa->caa_validation_method, "dns-01");  // defaulted from the DCV method
  EXPECT_TRUE(plan->caa->wildcard);
  EXPECT_EQ(plan->caa->deadline, deadline);

  // And back to the wire.
  v1::CheckRequest again = CheckPlanToProto(*plan);
  v1::CheckRequest expected = DnsAndCaa();
  expected.mutable_caa()->set_validation_method("dns-01");
  EXPECT_EQ(again.SerializeAsString(), expected.SerializeAsString());
}

TEST(ConvertTest, CaaOnlyKeepsItsValidationMethod) {
  v1::CheckRequest r = DnsAndCaa();
  r.clear_dcv();
  r.mutable_caa()->set_validation_method("http-01");
  auto plan = CheckPlanFromProto(r, checks::Clock::now());
  ASSERT_TRUE(plan);
  EXPECT_FALSE(plan->dcv);
  EXPECT_EQ(plan->caa->caa_validation_method, "http-01");
}

TEST(ConvertTest, BrMethodParametersReachTheCheck) {
  v1::CheckRequest r = DnsAndCaa();
  v1::DcvParams* dcv = r.mutable_dcv();
  dcv->set_method(v1::DNS_CHANGE);
  dcv->clear_token();
  dcv->clear_key_authorization();
  dcv->set_challenge_value("Rv7Qx2mK9pLc4TzW8yHn");
  dcv->set_dns_name_prefix("_pki-validation");
  dcv->set_dns_record_type("CNAME");
  dcv->set_require_exact_match(true);
  dcv->set_http_token_path("p.txt");
  dcv->set_url_scheme("https");
  r.mutable_caa()->clear_validation_method();
  auto plan = CheckPlanFromProto(r, checks::Clock::now());
  ASSERT_TRUE(plan) << plan.error().detail;
  EXPECT_EQ(plan->dcv->method, Method::kDnsChange);
  EXPECT_EQ(plan->dcv->challenge_value, "Rv7Qx2mK9pLc4TzW8yHn");
  EXPECT_EQ(plan->dcv->dns_name_prefix, "_pki-validation");
  EXPECT_EQ(plan->dcv->dns_record_type, "CNAME");
  EXPECT_TRUE(plan->dcv->require_exact_match);
  EXPECT_FALSE(plan->dcv->require_exact_case.has_value());  // absent: the method's default
  EXPECT_EQ(plan->dcv->http_token_path, "p.txt");
  EXPECT_EQ(plan->dcv->url_scheme, "https");
  // RFC 8657 §4: a non-ACME method's CAA name carries the "ca-" prefix.
  EXPECT_EQ(plan->caa->caa_validation_method, "ca-dns-change");
  dcv->set_require_exact_case(false);
  plan = CheckPlanFromProto(r, checks::Clock::now());
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->dcv->require_exact_case, std::optional<bool>(false));
  checks::Evidence evidence;
  evidence.matched_value = "v=Rv7Qx2mK9pLc4TzW8yHn";
  checks::CheckResult result;
  result.method = Method::kDnsChange;
  result.valid = true;
  result.evidence = evidence;
  v1::CheckOutcome outcome = OutcomeToProto(result);
  EXPECT_EQ(outcome.method(), v1::DNS_CHANGE);
  EXPECT_EQ(outcome.evidence().matched_value(), "v=Rv7Qx2mK9pLc4TzW8yHn");
}

TEST(ConvertTest, MalformedRequests) {
  auto now = checks::Clock::now();
  v1::CheckRequest none = DnsAndCaa();
  none.clear_dcv();
  none.clear_caa();
  auto e = CheckPlanFromProto(none, now);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().type, ProblemType::kMalformed);
  EXPECT_NE(e.error().detail.find("no check"), std::string::npos);

  v1::CheckRequest no_id = DnsAndCaa();
  no_id.clear_identifier();
  EXPECT_FALSE(CheckPlanFromProto(no_id, now));

  for (v1::Method m : {v1::METHOD_UNSPECIFIED, v1::CAA, static_cast<v1::Method>(99)}) {
    v1::CheckRequest bad = DnsAndCaa();
    bad.mutable_dcv()->set_method(m);
    auto r = CheckPlanFromProto(bad, now);
    ASSERT_FALSE(r) << m;
    EXPECT_EQ(r.error().type, ProblemType::kMalformed);
  }
}

}  // namespace
}  // namespace mpic::perspective
