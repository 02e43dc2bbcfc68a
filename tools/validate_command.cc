#include "tools/validate_command.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "lab/flags.h"
#include "lab/openmpic_client.h"
#include "perspective/wire.h"
#include "tools/check_command.h"

namespace mpic::tools {

using lab::Flags;

namespace {

tl::unexpected<Error> Usage(std::string why) {
  return Fail(ProblemType::kMalformed, std::move(why));
}

constexpr const char* kUsage =
    "usage: mpic validate --primary ADDR --ca-cert FILE --cert FILE --key FILE\n"
    "                     --method METHOD --identifier NAME\n"
    "                     [--token T] [--key-authorization KA] [--caa-issuer DOMAIN]...\n"
    "                     [--challenge-value V] [--dns-name-prefix _LABEL]\n"
    "                     [--dns-record-type T] [--require-exact-match]\n"
    "                     [--require-exact-case | --ignore-case]\n"
    "                     [--http-token-path PATH] [--url-scheme http|https]\n"
    "                     [--account-uri URI] [--wildcard] [--skip-caa] [--skip-dcv]\n"
    "                     [--certificate-type tls-server|s-mime]\n"
    "                     [--issuer-domain DOMAIN]... [--persist-domain NAME]\n"
    "                     [--account-hash-prefix PREFIX --account-key-thumbprint T...]\n"
    "                     [--attempt N] [--timeout-ms N] [--server-name NAME] [--json]\n"
    "       mpic validate --api openmpic --openmpic-url URL [--ca-cert F --cert F --key F]\n"
    "                     [--api-key-file F] --method M --identifier NAME\n"
    "                     [--key-authorization KA | the dns-persist-01 or BR method flags]\n"
    "                     [--skip-dcv --caa-issuer DOMAIN...] [--perspective-count N]\n"
    "                     [--quorum-count N] [--max-attempts N] [--trace-id ID] [--json]\n"
    "  METHOD: http-01, dns-01, tls-alpn-01, dns-persist-01, dns-account-01, or one of the\n"
    "  BR methods (dns-change, website-change, ip-address, contact-email-txt,\n"
    "  contact-email-caa, contact-phone-txt, contact-phone-caa, reverse-address-lookup),\n"
    "  which take --challenge-value instead of a key authorization (docs/validation-methods.md).\n"
    "  dns-persist-01 takes the CA's issuer domain names (--issuer-domain, or --caa-issuer:\n"
    "  one list) and --account-uri (or the hashed form: --account-hash-prefix and the account\n"
    "  key's --account-key-thumbprint, current key first); --persist-domain names the domain\n"
    "  holding _validation-persist when it is not the identifier; --wildcard asks for\n"
    "  policy=wildcard scope.\n"
    "  ADDR is host:port of a va-primary; --cert/--key are a client certificate signed by\n"
    "  the fleet CA (--ca-cert). --server-name: the name the primary's certificate carries,\n"
    "  when it is not ADDR's host. Exit 0 when a decision came back (corroborated or not),\n"
    "  1 when the RPC failed, 2 for bad usage.\n"
    "  --api openmpic: POST /mpic to the primary's Open MPIC REST API (docs/openmpic.md) at\n"
    "  URL (https://127.0.0.1:PORT as `mpic fleet up` prints; http:// for a plaintext lab\n"
    "  server; loopback only); --skip-dcv sends a caa check. --api-key-file: \"name value\",\n"
    "  its value sent in x-api-key. Exit 0 for a 200 answer, 1 otherwise.\n";

constexpr std::string_view kAcmeErrorPrefix = "urn:ietf:params:acme:error:";
constexpr size_t kMaxCell = 56;

std::string Truncate(std::string s, size_t max = kMaxCell) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (s.size() <= max) return s;
  return s.substr(0, max - 3) + "...";
}

std::string ShortProblem(const std::string& type) {
  if (type.starts_with(kAcmeErrorPrefix)) return type.substr(kAcmeErrorPrefix.size());
  return type;
}

std::string StatusName(v1::PerspectiveStatus status) {
  std::string name = v1::PerspectiveStatus_Name(status);
  return name.empty() ? "?" : name;
}

std::string FormatMs(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", ms);
  return buf;
}

// The piece of evidence that best shows what this perspective saw.
std::string EvidenceSummary(const v1::CheckOutcome& outcome) {
  const v1::Evidence& e = outcome.evidence();
  std::string dnssec;
  if (e.lookups_size() > 0 && !e.lookups(0).dnssec().empty()) {
    dnssec = " (" + e.lookups(0).dnssec() + ")";
  }
  switch (outcome.method()) {
    case v1::HTTP_01: {
      std::string s = !e.address_used().empty()         ? e.address_used()
                      : e.addresses_resolved_size() > 0 ? e.addresses_resolved(0)
                                                        : "no address";
      if (e.http_hops_size() > 0) {
        const v1::HttpHop& last = e.http_hops(e.http_hops_size() - 1);
        if (last.status() != 0) s += " HTTP " + std::to_string(last.status());
        if (e.http_hops_size() > 1) s += " after " + std::to_string(e.http_hops_size()) + " hops";
      }
      return s + dnssec;
    }
    case v1::TLS_ALPN_01: {
      std::string s = !e.address_used().empty() ? e.address_used() : "no address";
      if (!e.cert_sha256().empty()) s += " cert " + e.cert_sha256().substr(0, 8);
      return s + dnssec;
    }
    case v1::DNS_01:
      return "TXT x" + std::to_string(e.txt_values_size()) + dnssec;
    case v1::CAA:
      return e.caa_name().empty() ? "no CAA" : "CAA " + e.caa_name();
    default:
      // The BR methods beyond ACME: what matched the challenge value.
      if (!e.matched_value().empty()) return "matched " + e.matched_value() + dnssec;
      return "";
  }
}

struct Row {
  std::string name, rir, status, verdict, problem, evidence, latency;
};

Row MakeRow(const v1::PerspectiveResult& r, bool primary) {
  Row row;
  row.name = r.perspective().name() + (primary ? " (primary)" : "");
  row.rir = std::string(perspective::RirDisplayName(r.perspective().rir()));
  if (row.rir.empty()) row.rir = "-";
  row.status = StatusName(r.status());
  if (r.status() == v1::ANSWERED) {
    row.verdict = r.corroborates() ? "valid" : "invalid";
  } else {
    row.verdict = "-";
    row.problem = r.error();
  }
  std::vector<std::string> evidence;
  for (const v1::CheckOutcome* o :
       {r.has_dcv() ? &r.dcv() : nullptr, r.has_caa() ? &r.caa() : nullptr}) {
    if (o == nullptr) continue;
    if (!o->valid() && row.problem.empty()) row.problem = ShortProblem(o->problem().type());
    evidence.push_back(EvidenceSummary(*o));
  }
  for (size_t i = 0; i < evidence.size(); ++i) row.evidence += (i ? "; " : "") + evidence[i];
  if (row.problem.empty()) row.problem = "-";
  if (row.evidence.empty()) row.evidence = "-";
  row.name = Truncate(row.name, 32);
  row.problem = Truncate(row.problem, 40);
  row.evidence = Truncate(row.evidence);
  row.latency = r.latency_ms() > 0 ? FormatMs(r.latency_ms()) : "-";
  return row;
}

}  // namespace

std::string DcvMethodName(v1::Method method) {
  auto m = perspective::MethodFromProto(method);
  return m ? std::string(checks::MethodName(*m)) : "unspecified";
}

void PrintDecision(const v1::ValidateResponse& response, std::ostream& out) {
  std::vector<Row> rows;
  rows.push_back({"PERSPECTIVE", "RIR", "STATUS", "VERDICT", "PROBLEM", "EVIDENCE", "MS"});
  if (response.has_primary()) rows.push_back(MakeRow(response.primary(), true));
  for (const auto& remote : response.remotes()) rows.push_back(MakeRow(remote, false));

  size_t w[6] = {0, 0, 0, 0, 0, 0};
  for (const Row& r : rows) {
    const std::string* cells[6] = {&r.name, &r.rir, &r.status, &r.verdict, &r.problem, &r.evidence};
    for (int i = 0; i < 6; ++i) w[i] = std::max(w[i], cells[i]->size());
  }
  for (const Row& r : rows) {
    const std::string* cells[6] = {&r.name, &r.rir, &r.status, &r.verdict, &r.problem, &r.evidence};
    std::string line = "  ";
    for (int i = 0; i < 6; ++i) {
      line += *cells[i];
      line.append(w[i] - cells[i]->size() + 2, ' ');
    }
    line.append(r.latency.size() < 6 ? 6 - r.latency.size() : 0, ' ');
    line += r.latency;
    out << line << "\n";
  }

  std::string decision = v1::Decision_Name(response.decision());
  if (decision.empty()) decision = "UNKNOWN";
  out << "decision: " << decision << " (quorum "
      << (response.quorum().empty() ? "-" : response.quorum()) << ", policy "
      << (response.policy().empty() ? "-" : response.policy());
  if (!response.phase().empty() && response.policy().find(response.phase()) == std::string::npos) {
    out << ", phase " << response.phase();
  }
  if (!response.enforced()) out << ", NOT ENFORCED (log-only)";
  out << ", request_id " << (response.request_id().empty() ? "-" : response.request_id()) << ")\n";
  if (response.has_problem() && !response.problem().type().empty()) {
    out << "problem: " << ShortProblem(response.problem().type()) << ": "
        << response.problem().detail() << "\n";
  }
  if (response.divergences_size() == 0) {
    out << "divergences: none\n";
  } else {
    out << "divergences:\n";
    for (const auto& d : response.divergences()) {
      out << "  " << d.field() << ":\n";
      for (const auto& v : d.values()) {
        std::string who;
        for (int i = 0; i < v.perspectives_size(); ++i) {
          who += (i ? ", " : "") + v.perspectives(i);
        }
        out << "    " << Truncate(v.value().empty() ? "(none)" : v.value(), 72) << "  <- " << who
            << "\n";
      }
    }
  }
}

std::string ResponseJson(const v1::ValidateResponse& response) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(response, &json, options).ok()) return "{}";
  return json;
}

namespace {

Flags MakeFlags() {
  return Flags({{"primary", Flags::kValue},
                {"api", Flags::kValue},
                {"openmpic-url", Flags::kValue},
                {"api-key-file", Flags::kValue},
                {"perspective-count", Flags::kValue},
                {"quorum-count", Flags::kValue},
                {"max-attempts", Flags::kValue},
                {"trace-id", Flags::kValue},
                {"ca-cert", Flags::kValue},
                {"cert", Flags::kValue},
                {"key", Flags::kValue},
                {"server-name", Flags::kValue},
                {"method", Flags::kValue},
                {"identifier", Flags::kValue},
                {"token", Flags::kValue},
                {"key-authorization", Flags::kValue},
                {"caa-issuer", Flags::kRepeated},
                {"account-uri", Flags::kValue},
                {"issuer-domain", Flags::kRepeated},
                {"persist-domain", Flags::kValue},
                {"account-hash-prefix", Flags::kValue},
                {"account-key-thumbprint", Flags::kRepeated},
                {"challenge-value", Flags::kValue},
                {"dns-name-prefix", Flags::kValue},
                {"dns-record-type", Flags::kValue},
                {"require-exact-match", Flags::kSwitch},
                {"require-exact-case", Flags::kSwitch},
                {"ignore-case", Flags::kSwitch},
                {"http-token-path", Flags::kValue},
                {"url-scheme", Flags::kValue},
                {"wildcard", Flags::kSwitch},
                {"certificate-type", Flags::kValue},
                {"skip-caa", Flags::kSwitch},
                {"skip-dcv", Flags::kSwitch},
                {"attempt", Flags::kValue},
                {"timeout-ms", Flags::kValue},
                {"json", Flags::kSwitch},
                {"help", Flags::kSwitch}});
}

// The ValidateRequest of the gRPC path (flags already parsed, --primary etc. checked apart).
// `dcv_only`: the Open MPIC path, whose DCV check has no CAA part (no --caa-issuer needed).
Result<v1::ValidateRequest> RequestFromFlags(const Flags& flags, bool dcv_only = false) {
  const bool skip_dcv = flags.Has("skip-dcv");
  if (!flags.Has("identifier")) return Usage("--identifier is required");
  v1::ValidateRequest request;
  request.set_identifier(*flags.Get("identifier"));
  if (request.identifier().empty()) return Usage("--identifier is empty");
  if (auto m = flags.Get("method")) {
    auto method = ParseDcvMethod(*m);
    if (!method) return Usage("--method must be a DCV method (see METHOD below)");
    request.set_method(*method);
  } else if (!skip_dcv) {
    return Usage("--method is required (or --skip-dcv for CAA only)");
  }
  // The BR methods beyond ACME: a challenge value and their own parameters, no key authorization.
  const bool br_method =
      request.method() >= v1::DNS_CHANGE && request.method() <= v1::REVERSE_ADDRESS_LOOKUP;
  if (flags.Has("require-exact-case") && flags.Has("ignore-case")) {
    return Usage("--require-exact-case and --ignore-case conflict");
  }
  for (const char* flag : {"challenge-value", "dns-name-prefix", "dns-record-type",
                           "require-exact-match", "require-exact-case", "ignore-case",
                           "http-token-path", "url-scheme"}) {
    if (flags.Has(flag) && !br_method) {
      return Usage(std::string("--") + flag + " is for the BR methods (dns-change, ...)");
    }
  }
  if (br_method && !skip_dcv) {
    auto value = flags.Get("challenge-value");
    if (!value || value->empty()) return Usage("--challenge-value is required");
    request.set_challenge_value(*value);
    request.set_dns_name_prefix(flags.Get("dns-name-prefix").value_or(""));
    request.set_dns_record_type(flags.Get("dns-record-type").value_or(""));
    request.set_require_exact_match(flags.Has("require-exact-match"));
    if (flags.Has("require-exact-case")) request.set_require_exact_case(true);
    if (flags.Has("ignore-case")) request.set_require_exact_case(false);
    request.set_http_token_path(flags.Get("http-token-path").value_or(""));
    request.set_url_scheme(flags.Get("url-scheme").value_or(""));
  }
  // dns-persist-01 has no key authorization either (its record names the account).
  if (!skip_dcv && !br_method && request.method() != v1::DNS_PERSIST_01) {
    auto ka = flags.Get("key-authorization");
    if (!ka || ka->empty()) return Usage("--key-authorization is required for DCV");
    request.set_key_authorization(*ka);
    std::string token = flags.Get("token").value_or("");
    // RFC 8555 §8.1: the key authorization starts with the token.
    if (token.empty()) token = ka->substr(0, ka->find('.'));
    if (!ka->starts_with(token + ".")) {
      return Usage("--key-authorization must be \"" + token + ".<thumbprint>\"");
    }
    request.set_token(token);
  }
  for (const auto& issuer : flags.GetAll("caa-issuer")) request.add_caa_issuer_domains(issuer);
  if (auto uri = flags.Get("account-uri")) request.set_account_uri(*uri);
  // dns-persist-01 (BR §3.2.2.4.22): the issuer domain names its record must name travel in
  // caa_issuer_domains (--issuer-domain adds to the --caa-issuer list), the account in
  // account_uri, or the draft-02 hashed form (prefix and JWK thumbprints, current key first);
  // --persist-domain: the name holding _validation-persist when not the identifier; wildcard
  // scope (policy=wildcard) is asked with --wildcard.
  const bool persist = request.method() == v1::DNS_PERSIST_01 && !skip_dcv;
  for (const char* flag :
       {"issuer-domain", "persist-domain", "account-hash-prefix", "account-key-thumbprint"}) {
    if (flags.Has(flag) && !persist) {
      return Usage(std::string("--") + flag + " is for --method dns-persist-01");
    }
  }
  if (persist) {
    for (const auto& issuer : flags.GetAll("issuer-domain")) {
      if (issuer.empty()) return Usage("--issuer-domain is empty");
      request.add_caa_issuer_domains(issuer);
    }
    if (request.caa_issuer_domains_size() == 0) {
      return Usage("dns-persist-01 needs the CA's issuer domain names (--issuer-domain)");
    }
    request.set_persist_domain(flags.Get("persist-domain").value_or(""));
    request.set_account_hash_prefix(flags.Get("account-hash-prefix").value_or(""));
    for (const auto& thumbprint : flags.GetAll("account-key-thumbprint")) {
      request.add_account_key_thumbprints(thumbprint);
    }
    if (!request.account_hash_prefix().empty() && request.account_key_thumbprints_size() == 0) {
      return Usage("--account-hash-prefix needs --account-key-thumbprint");
    }
    if (request.account_hash_prefix().empty() && request.account_key_thumbprints_size() > 0) {
      return Usage("--account-key-thumbprint needs --account-hash-prefix");
    }
    if (request.account_hash_prefix().empty() && request.account_uri().empty()) {
      return Usage("dns-persist-01 needs --account-uri (or --account-hash-prefix)");
    }
  }
  request.set_wildcard(flags.Has("wildcard"));
  request.set_skip_caa(flags.Has("skip-caa"));
  request.set_skip_dcv(skip_dcv);
  // CAA for an S/MIME certificate: the issuemail property (RFC 9495).
  auto smime = SmimeFromFlags(flags);
  if (!smime) return tl::unexpected(smime.error());
  if (*smime) request.set_certificate_type(v1::CERTIFICATE_TYPE_S_MIME);
  if (flags.Has("certificate-type") && request.skip_caa()) {
    return Usage("--certificate-type is for the CAA check (not with --skip-caa)");
  }
  if (!dcv_only && !request.skip_caa() && request.caa_issuer_domains_size() == 0) {
    return Usage("--caa-issuer is required unless --skip-caa");
  }
  auto attempt = flags.GetInt("attempt", 0, 1000);
  if (!attempt) return Usage(attempt.error().detail);
  request.set_attempt(static_cast<uint32_t>(attempt->value_or(0)));
  return request;
}

// The POST /mpic body of `--api openmpic`.
Result<nlohmann::json> OpenMpicBodyFromFlags(const Flags& flags) {
  using nlohmann::json;
  if (!flags.Has("identifier")) return Usage("--identifier is required");
  json body;
  body["domain_or_ip_target"] = *flags.Get("identifier");
  if (flags.Has("skip-dcv")) {
    body["check_type"] = "caa";
    json domains = json::array();
    for (const auto& issuer : flags.GetAll("caa-issuer")) domains.push_back(issuer);
    auto smime = SmimeFromFlags(flags);
    if (!smime) return tl::unexpected(smime.error());
    body["caa_check_parameters"] = {{"certificate_type", *smime ? "s-mime" : "tls-server"}};
    if (!domains.empty()) body["caa_check_parameters"]["caa_domains"] = std::move(domains);
  } else {
    auto m = flags.Get("method");
    if (!m) return Usage("--method is required (or --skip-dcv for a caa check)");
    auto method = ParseDcvMethod(*m);
    if (!method) return Usage("--method must be a DCV method (see METHOD below)");
    // The same checks and fields as the gRPC path, then their Open MPIC spelling.
    auto request = RequestFromFlags(flags, /*dcv_only=*/true);
    if (!request) return Fail(request.error());
    json params;
    switch (*method) {
      case v1::HTTP_01:
      case v1::DNS_01:
      case v1::TLS_ALPN_01:
        params["validation_method"] = *method == v1::HTTP_01  ? "acme-http-01"
                                      : *method == v1::DNS_01 ? "acme-dns-01"
                                                              : "acme-tls-alpn-01";
        if (*method == v1::HTTP_01) params["token"] = request->token();
        params["key_authorization"] = request->key_authorization();
        break;
      case v1::DNS_PERSIST_01: {
        if (!request->persist_domain().empty() || !request->account_hash_prefix().empty()) {
          return Usage("--persist-domain and --account-hash-prefix have no Open MPIC field");
        }
        params["validation_method"] = "dns-persistent";
        json names = json::array();
        for (const auto& name : request->caa_issuer_domains()) names.push_back(name);
        params["issuer_domain_names"] = std::move(names);
        params["expected_account_uri"] = request->account_uri();
        break;
      }
      default: {
        // The BR methods: Open MPIC names them as mpic does.
        if (*method < v1::DNS_CHANGE || *method > v1::REVERSE_ADDRESS_LOOKUP) {
          return Usage("--method " + *m + " has no Open MPIC mapping on this server");
        }
        params["validation_method"] = DcvMethodName(*method);
        params["challenge_value"] = request->challenge_value();
        if (!request->dns_name_prefix().empty()) {
          params["dns_name_prefix"] = request->dns_name_prefix();
        }
        if (!request->dns_record_type().empty()) {
          params["dns_record_type"] = request->dns_record_type();
        }
        if (*method == v1::DNS_CHANGE) {
          params["require_exact_match"] = request->require_exact_match();
        }
        if (request->has_require_exact_case()) {
          params["require_exact_case"] = request->require_exact_case();
        }
        if (*method == v1::WEBSITE_CHANGE) {
          params["http_token_path"] = request->http_token_path();
          if (!request->url_scheme().empty()) params["url_scheme"] = request->url_scheme();
        }
        break;
      }
    }
    body["check_type"] = "dcv";
    body["dcv_check_parameters"] = std::move(params);
  }
  json orchestration = json::object();
  for (const char* name : {"perspective-count", "quorum-count", "max-attempts"}) {
    auto value = flags.GetInt(name, 0, 64);
    if (!value) return Usage(value.error().detail);
    std::string key = name;
    std::replace(key.begin(), key.end(), '-', '_');
    if (*value) orchestration[key] = **value;
  }
  if (!orchestration.empty()) body["orchestration_parameters"] = std::move(orchestration);
  if (auto trace = flags.Get("trace-id")) body["trace_identifier"] = *trace;

  return body;
}

// `mpic validate --api openmpic`: the same request as an Open MPIC POST /mpic body.
int RunValidateOpenMpic(const Flags& flags, const std::function<int(const std::string&)>& usage,
                        std::ostream& out, std::ostream& err) {
  using nlohmann::json;
  const std::string url = flags.Get("openmpic-url").value_or("");
  const bool plaintext = url.starts_with("http://");
  if (!plaintext && !url.starts_with("https://")) {
    return usage("--openmpic-url must be https://HOST:PORT (or http:// for a lab server)");
  }
  std::string address = url.substr(plaintext ? 7 : 8);
  if (address.ends_with("/mpic")) address.resize(address.size() - 5);
  while (address.ends_with("/")) address.pop_back();

  auto built = OpenMpicBodyFromFlags(flags);
  if (!built) return usage(built.error().detail);
  const json& body = *built;

  lab::OpenMpicClient::Options options;
  options.address = address;
  options.plaintext = plaintext;
  options.tls.ca_file = flags.Get("ca-cert").value_or("");
  options.tls.cert_file = flags.Get("cert").value_or("");
  options.tls.key_file = flags.Get("key").value_or("");
  options.tls.server_name = flags.Get("server-name").value_or("");
  if (!plaintext && options.tls.ca_file.empty()) return usage("--ca-cert is required for https");
  if (auto file = flags.Get("api-key-file")) {
    std::ifstream in(*file);
    std::string name, value;
    if (!(in >> name >> value)) return usage("--api-key-file: expected \"name value\"");
    options.api_key = value;
  }
  auto timeout = flags.GetInt("timeout-ms", 1, 600000);
  if (!timeout) return usage(timeout.error().detail);
  options.timeout = std::chrono::milliseconds(timeout->value_or(60000));
  auto client = lab::OpenMpicClient::Connect(options);
  if (!client) {
    err << "mpic validate: " << url << ": " << client.error().detail << "\n";
    return 1;
  }
  const auto start = std::chrono::steady_clock::now();
  auto reply = (*client)->Post("/mpic", body.dump());
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!reply) {
    err << "mpic validate: " << url << ": " << reply.error().detail << "\n";
    return 1;
  }
  const json answer = json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
  if (flags.Has("json") || reply->status != 200 || !answer.is_object()) {
    (reply->status == 200 ? out : err) << reply->body << "\n";
    if (reply->status != 200) err << "mpic validate: HTTP " << reply->status << "\n";
    return reply->status == 200 ? 0 : 1;
  }
  out << body["check_type"].get<std::string>() << " " << *flags.Get("identifier") << " via "
      << url << "/mpic (" << FormatMs(ms) << " ms)\n";
  if (answer.contains("perspectives") && answer["perspectives"].is_array()) {
    for (const json& p : answer["perspectives"]) {
      const json& check = p.value("check_response", json::object());
      out << "  " << p.value("perspective_code", "?") << "  check_passed "
          << (check.value("check_passed", false) ? "true" : "false") << "\n";
    }
  }
  const json& mpic = answer.value("mpic", json::object());
  out << "is_valid: " << (answer.value("is_valid", false) ? "true" : "false")
      << " (mpic_completed " << (answer.value("mpic_completed", false) ? "true" : "false")
      << ", quorum " << mpic.value("quorum", "?") << ", attempts "
      << answer["actual_orchestration_parameters"].value("attempt_count", 0) << ", request_id "
      << mpic.value("request_id", "?") << ")\n";
  return 0;
}

}  // namespace

namespace {

// Parses `args` (the words after "validate") with the command's flag table.
Result<Flags> ParseArgs(const std::vector<std::string>& args) {
  std::vector<std::string> words = {"mpic", "validate"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  Flags flags = MakeFlags();
  if (auto st = flags.Parse(static_cast<int>(argv.size()), argv.data(), 2); !st) {
    return Fail(st.error());
  }
  return flags;
}

}  // namespace

Result<v1::ValidateRequest> ValidateRequestForArgs(const std::vector<std::string>& args) {
  auto flags = ParseArgs(args);
  if (!flags) return Fail(flags.error());
  return RequestFromFlags(*flags);
}

Result<std::string> OpenMpicBodyForArgs(const std::vector<std::string>& args) {
  auto flags = ParseArgs(args);
  if (!flags) return Fail(flags.error());
  auto body = OpenMpicBodyFromFlags(*flags);
  if (!body) return Fail(body.error());
  return body->dump();
}

int RunValidate(int argc, char** argv, int first, std::ostream& out, std::ostream& err) {
  Flags flags = MakeFlags();
  auto usage_error = [&](const std::string& why) {
    err << "mpic validate: " << why << "\n" << kUsage;
    return 2;
  };
  if (auto st = flags.Parse(argc, argv, first); !st) return usage_error(st.error().detail);
  if (flags.Has("help")) {
    out << kUsage;
    return 0;
  }
  if (!flags.positionals().empty()) {
    return usage_error("unexpected argument \"" + flags.positionals().front() + "\"");
  }
  const std::string api = flags.Get("api").value_or("grpc");
  if (api == "openmpic") {
    if (!flags.Has("openmpic-url")) return usage_error("--openmpic-url is required");
    if (!flags.Has("identifier")) return usage_error("--identifier is required");
    return RunValidateOpenMpic(flags, usage_error, out, err);
  }
  if (api != "grpc") return usage_error("--api must be grpc or openmpic");
  for (const char* required : {"primary", "ca-cert", "cert", "key", "identifier"}) {
    if (!flags.Has(required)) return usage_error(std::string("--") + required + " is required");
  }
  const bool skip_dcv = flags.Has("skip-dcv");
  if (skip_dcv && flags.Has("skip-caa")) {
    return usage_error("--skip-dcv and --skip-caa: nothing to do");
  }

  auto built = RequestFromFlags(flags);
  if (!built) return usage_error(built.error().detail);
  const v1::ValidateRequest& request = *built;
  auto timeout = flags.GetInt("timeout-ms", 1, 600000);
  if (!timeout) return usage_error(timeout.error().detail);

  const std::string address = *flags.Get("primary");
  if (address.find(':') == std::string::npos) return usage_error("--primary must be host:port");
  ClientTlsFiles tls;
  tls.ca_file = *flags.Get("ca-cert");
  tls.cert_file = *flags.Get("cert");
  tls.key_file = *flags.Get("key");
  tls.server_name = flags.Get("server-name").value_or("");
  auto channel = DialPrimary(address, tls);
  if (!channel) return usage_error(channel.error().detail);

  ValidateCall call =
      CallValidate(**channel, request, std::chrono::milliseconds(timeout->value_or(30000)));
  if (!call.status.ok()) {
    err << "mpic validate: " << address << ": " << DescribeStatus(call.status) << "\n";
    return 1;
  }
  if (flags.Has("json")) {
    out << ResponseJson(call.response) << "\n";
  } else {
    out << (skip_dcv ? "caa" : DcvMethodName(request.method())) << " " << request.identifier()
        << " via " << address << " (" << FormatMs(call.elapsed_ms) << " ms)\n";
    PrintDecision(call.response, out);
  }
  return 0;
}

}  // namespace mpic::tools
