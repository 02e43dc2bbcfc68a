#include "openmpic/testing/samples.h"

#include <string>

namespace mpic::openmpic::testing {
namespace {

constexpr int64_t kTimestamp = 1765000000123456789;

v1::PerspectiveResult Perspective(const std::string& name, v1::Method method, bool valid) {
  v1::PerspectiveResult result;
  result.mutable_perspective()->set_name(name);
  result.set_status(v1::ANSWERED);
  result.set_corroborates(valid);
  v1::CheckOutcome* outcome = method == v1::CAA ? result.mutable_caa() : result.mutable_dcv();
  outcome->set_method(method);
  outcome->set_identifier("www.example.com");
  outcome->set_valid(valid);
  if (!valid) {
    outcome->mutable_problem()->set_type("urn:ietf:params:acme:error:unauthorized");
    outcome->mutable_problem()->set_detail("the key authorization did not match");
  }
  result.set_latency_ms(12.5);
  return result;
}

void AddHttpEvidence(v1::PerspectiveResult& result) {
  v1::Evidence* evidence = result.mutable_dcv()->mutable_evidence();
  v1::HttpHop* first = evidence->add_http_hops();
  first->set_url("http://www.example.com/.well-known/acme-challenge/tok");
  first->set_address("192.0.2.10");
  first->set_status(302);
  first->set_location("/final");
  v1::HttpHop* last = evidence->add_http_hops();
  last->set_url("http://www.example.com/final");
  last->set_address("192.0.2.10");
  last->set_status(200);
  evidence->set_address_used("192.0.2.10");
  evidence->add_addresses_resolved("192.0.2.10");
  evidence->set_http_body("tok.thumb");
}

void AddDnsEvidence(v1::PerspectiveResult& result) {
  v1::Evidence* evidence = result.mutable_dcv()->mutable_evidence();
  v1::DnsLookup* lookup = evidence->add_lookups();
  lookup->set_name("_acme-challenge.example.com.");
  lookup->set_type("TXT");
  lookup->set_rcode("NOERROR");
  lookup->set_dnssec("secure");
  lookup->add_cname_chain("alias.example.net.");
  lookup->add_records("\"abc\"");
  evidence->add_txt_values("abc");
}

DecodedRequest Decoded(const std::string& body) {
  DecodeOptions options;
  options.default_caa_domains = {"ca.example"};
  auto decoded = DecodeRequest(body, options);
  return decoded ? *decoded : DecodedRequest{};
}

v1::ValidateResponse Response(v1::Decision decision, const std::string& quorum) {
  v1::ValidateResponse response;
  response.set_request_id("req-1");
  response.set_decision(decision);
  response.set_quorum(quorum);
  response.set_policy("BR 3.2.2.9 phase 2026-06-15");
  response.set_phase("2026-06-15");
  response.set_enforced(true);
  if (decision != v1::CORROBORATED) {
    response.mutable_problem()->set_type("urn:ietf:params:acme:error:unauthorized");
    response.mutable_problem()->set_detail("quorum not met");
  }
  return response;
}

}  // namespace

Sample HttpSample(bool valid) {
  Sample sample;
  sample.request = Decoded(
      R"({"check_type":"dcv","domain_or_ip_target":"www.Example.com","trace_identifier":"trace-1",
          "dcv_check_parameters":{"validation_method":"acme-http-01",
          "token":"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
          "key_authorization":"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.)"
      R"(9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"}})");
  sample.orchestration = Orchestration{4, 3, 1, std::nullopt, false};
  v1::ValidateResponse response =
      Response(valid ? v1::CORROBORATED : v1::NOT_CORROBORATED, valid ? "4/4" : "2/4");
  *response.mutable_primary() = Perspective("primary", v1::HTTP_01, true);
  AddHttpEvidence(*response.mutable_primary());
  for (int i = 0; i < 4; ++i) {
    v1::PerspectiveResult* remote = response.add_remotes();
    *remote = Perspective("remote-" + std::to_string(i), v1::HTTP_01, valid || (i != 0 && i != 3));
    AddHttpEvidence(*remote);
  }
  if (!valid) {
    v1::PerspectiveResult* late = response.mutable_remotes(3);
    late->set_status(v1::TIMED_OUT);
    late->set_error("deadline exceeded after 5000 ms");
    late->clear_dcv();
  }
  sample.result.final = AttemptResult{response, kTimestamp};
  return sample;
}

Sample DnsSample() {
  Sample sample;
  sample.request = Decoded(
      R"({"check_type":"dcv","domain_or_ip_target":"example.com",
          "orchestration_parameters":{"perspective_count":4,"max_attempts":2},
          "dcv_check_parameters":{"validation_method":"acme-dns-01",
          "key_authorization":"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.)"
      R"(9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"}})");
  sample.orchestration = Orchestration{4, 3, 2, std::nullopt, false};
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool valid = attempt == 1;
    v1::ValidateResponse response =
        Response(valid ? v1::CORROBORATED : v1::NOT_CORROBORATED, valid ? "4/4" : "1/4");
    *response.mutable_primary() = Perspective("primary", v1::DNS_01, true);
    AddDnsEvidence(*response.mutable_primary());
    for (int i = 0; i < 4; ++i) {
      v1::PerspectiveResult* remote = response.add_remotes();
      *remote = Perspective("remote-" + std::to_string(attempt * 4 + i), v1::DNS_01,
                            valid || i == 0);
      AddDnsEvidence(*remote);
    }
    AttemptResult result{response, kTimestamp + attempt};
    if (valid) {
      sample.result.final = result;
    } else {
      sample.result.earlier.push_back(result);
    }
  }
  return sample;
}

Sample CaaSample() {
  Sample sample;
  sample.request = Decoded(R"({"check_type":"caa","domain_or_ip_target":"www.example.com"})");
  sample.orchestration = Orchestration{4, 3, 1, std::nullopt, false};
  v1::ValidateResponse response = Response(v1::CORROBORATED, "4/4");
  *response.mutable_primary() = Perspective("primary", v1::CAA, true);
  response.mutable_primary()->mutable_caa()->mutable_evidence()->set_caa_name("example.com.");
  response.mutable_primary()->mutable_caa()->mutable_evidence()->add_caa_records(
      "0 issue \"ca.example\"");
  for (int i = 0; i < 4; ++i) {
    *response.add_remotes() = Perspective("remote-" + std::to_string(i), v1::CAA, true);
  }
  sample.result.final = AttemptResult{response, kTimestamp};
  return sample;
}

BackendResult MakeResult(const v1::ValidateRequest& request, int remotes, int ok) {
  const v1::Method method = request.skip_dcv() ? v1::CAA : request.method();
  v1::ValidateResponse response = Response(ok == remotes ? v1::CORROBORATED : v1::NOT_CORROBORATED,
                                           std::to_string(ok) + "/" + std::to_string(remotes));
  *response.mutable_primary() = Perspective("primary", method, true);
  for (int i = 0; i < remotes; ++i) {
    *response.add_remotes() = Perspective("remote-" + std::to_string(i), method, i < ok);
  }
  BackendResult result;
  result.final = AttemptResult{response, kTimestamp};
  return result;
}

}  // namespace mpic::openmpic::testing
