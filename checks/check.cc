#include "checks/check.h"

#include "checks/caa.h"
#include "checks/contact.h"
#include "checks/dns_change.h"
#include "checks/ip_address.h"
#include "checks/reverse_lookup.h"
#include "checks/website_change.h"
#include "checks/dns01.h"
#include "checks/dns_account01.h"
#include "checks/dns_persist01.h"
#include "checks/http01.h"
#include "checks/tls_alpn01.h"

namespace mpic::checks {

using nlohmann::ordered_json;

std::string_view MethodName(Method method) {
  switch (method) {
    case Method::kHttp01:
      return "http-01";
    case Method::kDns01:
      return "dns-01";
    case Method::kTlsAlpn01:
      return "tls-alpn-01";
    case Method::kCaa:
      return "caa";
    case Method::kDnsPersist01:
      return "dns-persist-01";
    case Method::kDnsAccount01:
      return "dns-account-01";
    case Method::kDnsChange:
      return "dns-change";
    case Method::kWebsiteChange:
      return "website-change";
    case Method::kIpAddress:
      return "ip-address";
    case Method::kContactEmailTxt:
      return "contact-email-txt";
    case Method::kContactEmailCaa:
      return "contact-email-caa";
    case Method::kContactPhoneTxt:
      return "contact-phone-txt";
    case Method::kContactPhoneCaa:
      return "contact-phone-caa";
    case Method::kReverseAddressLookup:
      return "reverse-address-lookup";
  }
  return "unknown";
}

std::string CaaValidationMethodName(Method method) {
  switch (method) {
    case Method::kCaa:
      return "";
    case Method::kHttp01:
    case Method::kDns01:
    case Method::kTlsAlpn01:
    case Method::kDnsPersist01:
    case Method::kDnsAccount01:
      return std::string(MethodName(method));
    default:
      return "ca-" + std::string(MethodName(method));
  }
}

Result<Method> ParseMethod(std::string_view text) {
  std::string known;
  for (Method m : kAllMethods) {
    if (MethodName(m) == text) return m;
    known += (known.empty() ? "" : ", ") + std::string(MethodName(m));
  }
  return Fail(ProblemType::kMalformed,
              "unknown method \"" + std::string(text) + "\" (" + known + ")");
}

void RecordLookup(const resolver::LookupResult& result, std::string_view name, uint16_t type,
                  Evidence* evidence) {
  DnsLookupEvidence e;
  e.name = std::string(name);
  e.type = dns::RrTypeName(type);
  const resolver::Answer* answer = nullptr;
  if (result) {
    answer = &*result;
  } else {
    e.error = result.error().error.detail;
    if (result.error().answer) answer = &*result.error().answer;
  }
  if (answer) {
    e.name = answer->name;
    e.rcode = dns::RcodeName(answer->rcode);
    e.dnssec = std::string(resolver::DnssecStatusName(answer->dnssec));
    e.why_bogus = answer->why_bogus;
    e.cname_chain = answer->cname_chain;
    for (const auto& rr : answer->records) e.records.push_back(dns::ToPresentation(rr));
    e.elapsed_ms = static_cast<double>(answer->elapsed.count()) / 1000.0;
  }
  evidence->lookups.push_back(std::move(e));
}

ordered_json ToJson(const Evidence& ev) {
  ordered_json j = ordered_json::object();
  if (!ev.lookups.empty()) {
    ordered_json lookups = ordered_json::array();
    for (const auto& l : ev.lookups) {
      ordered_json x;
      x["name"] = l.name;
      x["type"] = l.type;
      x["rcode"] = l.rcode;
      x["dnssec"] = l.dnssec;
      if (!l.why_bogus.empty()) x["why_bogus"] = l.why_bogus;
      if (!l.cname_chain.empty()) x["cname_chain"] = l.cname_chain;
      x["records"] = l.records;
      if (!l.error.empty()) x["error"] = l.error;
      x["elapsed_ms"] = l.elapsed_ms;
      lookups.push_back(std::move(x));
    }
    j["dns"] = std::move(lookups);
  }
  if (!ev.addresses_resolved.empty()) j["addresses_resolved"] = ev.addresses_resolved;
  if (!ev.address_used.empty()) j["address_used"] = ev.address_used;
  if (!ev.http_hops.empty()) {
    ordered_json hops = ordered_json::array();
    for (const auto& h : ev.http_hops) {
      ordered_json x;
      x["url"] = h.url;
      if (!h.address.empty()) x["address"] = h.address;
      if (h.status != 0) x["status"] = h.status;
      if (!h.location.empty()) x["location"] = h.location;
      if (!h.error.empty()) x["error"] = h.error;
      hops.push_back(std::move(x));
    }
    j["http"] = std::move(hops);
    j["http_body"] = ev.http_body;
  }
  if (!ev.txt_values.empty()) j["txt_values"] = ev.txt_values;
  if (!ev.caa_name.empty()) j["caa_name"] = ev.caa_name;
  if (!ev.caa_records.empty() || !ev.caa_name.empty()) j["caa_records"] = ev.caa_records;
  if (!ev.cert_sans.empty()) j["cert_sans"] = ev.cert_sans;
  if (!ev.cert_sha256.empty()) j["cert_sha256"] = ev.cert_sha256;
  if (!ev.acme_identifier_hex.empty()) j["acme_identifier"] = ev.acme_identifier_hex;
  if (!ev.alpn.empty()) j["alpn"] = ev.alpn;
  if (!ev.persist_records.empty()) {
    ordered_json records = ordered_json::array();
    for (const auto& r : ev.persist_records) {
      records.push_back({{"value", r.value}, {"verdict", r.verdict}, {"reason", r.reason}});
    }
    j["persist_records"] = std::move(records);
  }
  if (!ev.persist_accounturi.empty()) j["persist_accounturi"] = ev.persist_accounturi;
  if (ev.persist_until) j["persist_until"] = *ev.persist_until;
  if (!ev.matched_value.empty()) j["matched_value"] = ev.matched_value;
  return j;
}

ordered_json ToJson(const CheckResult& r) {
  ordered_json j;
  j["method"] = std::string(MethodName(r.method));
  j["identifier"] = r.identifier;
  j["outcome"] = r.valid ? "valid" : "invalid";
  if (r.problem) {
    j["problem"] = {{"type", ProblemTypeUrn(r.problem->type)}, {"detail", r.problem->detail}};
  } else {
    j["problem"] = nullptr;
  }
  j["evidence"] = ToJson(r.evidence);
  j["duration_ms"] = static_cast<double>(r.duration.count()) / 1000.0;
  return j;
}

void RunCheck(asio::any_io_executor executor, CheckDeps deps, CheckRequest request,
              std::function<void(CheckResult)> done) {
  // Fail closed on anything a check might forget: the verdict is valid only with no problem.
  auto start = deps.clock.Now();
  auto finish = [done = std::move(done), deps, start,
                 method = request.method](CheckResult result) mutable {
    if (result.problem) result.valid = false;
    if (!result.valid && !result.problem) {
      result.problem = Error{ProblemType::kServerInternal, "check ended without a verdict"};
    }
    result.duration =
        std::chrono::duration_cast<std::chrono::microseconds>(deps.clock.Now() - start);
    deps.metrics.ObserveCheck(method, result.valid,
                              static_cast<double>(result.duration.count()) / 1e6);
    done(std::move(result));
  };
  switch (request.method) {
    case Method::kHttp01:
      return RunHttp01(std::move(executor), deps, std::move(request), std::move(finish));
    case Method::kDns01:
      return RunDns01(std::move(executor), deps, std::move(request), std::move(finish));
    case Method::kTlsAlpn01:
      return RunTlsAlpn01(std::move(executor), deps, std::move(request), std::move(finish));
    case Method::kCaa:
      return RunCaa(std::move(executor), deps, std::move(request), std::move(finish));
    case Method::kDnsPersist01:
      return RunDnsPersist01(std::move(executor), deps, std::move(request), std::move(finish));
    case Method::kDnsAccount01:
      return RunDnsAccount01(std::move(executor), deps, std::move(request), std::move(finish));
    case Method::kDnsChange:
      return RunDnsChange(std::move(executor), deps, std::move(request), std::move(finish));
    case Method::kWebsiteChange:
      return RunWebsiteChange(std::move(executor), deps, std::move(request), std::move(finish));
    case Method::kIpAddress:
      return RunIpAddress(std::move(executor), deps, std::move(request), std::move(finish));
    case Method::kContactEmailTxt:
    case Method::kContactEmailCaa:
    case Method::kContactPhoneTxt:
    case Method::kContactPhoneCaa:
      return RunContact(std::move(executor), deps, std::move(request), std::move(finish));
    case Method::kReverseAddressLookup:
      return RunReverseLookup(std::move(executor), deps, std::move(request), std::move(finish));
  }
  CheckResult r;
  r.method = request.method;
  r.identifier = request.identifier;
  r.problem = Error{ProblemType::kMalformed, "unknown method"};
  asio::post(executor, [finish = std::move(finish), r = std::move(r)]() mutable {
    finish(std::move(r));
  });
}

}  // namespace mpic::checks
