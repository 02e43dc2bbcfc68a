#include "tools/check_command.h"

#include <iostream>
#include <memory>
#include <optional>

#include "checks/check.h"
#include "checks/tcp_dialer.h"
#include "common/asio.h"
#include "lab/flags.h"
#include "tools/resolver_flags.h"

namespace mpic::tools {

using lab::Flags;

namespace {

constexpr const char* kUsage =
    "usage: mpic check --method METHOD --identifier NAME\n"
    "                  [--token T] [--key-authorization KA]\n"
    "                  [--caa-issuer DOMAIN]... [--account-uri URI] [--validation-method M]\n"
    "                  [--persist-domain ADN] [--account-hash-prefix URI]\n"
    "                  [--account-key-thumbprint T]... [--wildcard]\n"
    "                  [--certificate-type tls-server|s-mime]\n"
    "                  [--challenge-value V] [--dns-name-prefix _LABEL] [--dns-record-type T]\n"
    "                  [--require-exact-match] [--require-exact-case | --ignore-case]\n"
    "                  [--http-token-path PATH] [--url-scheme http|https]\n"
    "                  [--root-hints FILE --trust-anchor FILE\n"
    "                   | --stub ADDR[:PORT] [--require-ad]]\n"
    "                  [--lab-allow CIDR]... [--http-port N] [--tls-port N] [--timeout-ms N]\n"
    "  METHOD: http-01, dns-01, tls-alpn-01, caa, dns-persist-01, dns-account-01,\n"
    "  dns-change, website-change, ip-address, contact-email-txt, contact-email-caa,\n"
    "  contact-phone-txt, contact-phone-caa, reverse-address-lookup.\n"
    "  http-01 needs --token and --key-authorization; dns-01 and tls-alpn-01 need\n"
    "  --key-authorization; caa needs at least one --caa-issuer (--validation-method is the\n"
    "  DCV method matched against validationmethods=, RFC 8657; --certificate-type s-mime\n"
    "  checks the issuemail property of RFC 9495 instead of issue/issuewild).\n"
    "  dns-persist-01 needs --caa-issuer (the CA's issuer domain names) and --account-uri;\n"
    "  --persist-domain names a parent holding the record (policy=wildcard needed);\n"
    "  --account-hash-prefix with --account-key-thumbprint (current key first) expects the\n"
    "  draft-02 hashed accounturi instead of the plain account URI.\n"
    "  dns-account-01 needs --key-authorization and --account-uri.\n"
    "  The BR methods need --challenge-value: the Random Value or Request Token (dns-change,\n"
    "  website-change), the address (ip-address), the email or phone number (contact-*), the\n"
    "  expected domain name (reverse-address-lookup, whose identifier is the IP address).\n"
    "  dns-change takes --dns-name-prefix, --dns-record-type (TXT, CNAME, CAA); website-change\n"
    "  needs --http-token-path and takes --url-scheme; both match a substring unless\n"
    "  --require-exact-match. See docs/validation-methods.md.\n"
    "  --http-port/--tls-port only with --lab-allow (lab mode).\n";

constexpr long kDefaultTimeoutMs = 10000;

// The BR methods beyond ACME (all take --challenge-value).
constexpr std::initializer_list<checks::Method> kBrMethods = {
    checks::Method::kDnsChange,       checks::Method::kWebsiteChange,
    checks::Method::kIpAddress,       checks::Method::kContactEmailTxt,
    checks::Method::kContactEmailCaa, checks::Method::kContactPhoneTxt,
    checks::Method::kContactPhoneCaa, checks::Method::kReverseAddressLookup};

// Which flags each method takes beyond --method/--identifier and the resolver/lab flags.
Status CheckMethodFlags(checks::Method method, const Flags& flags) {
  using checks::Method;
  auto only = [&](const char* flag, std::initializer_list<Method> methods) -> Status {
    if (!flags.Has(flag)) return {};
    for (Method m : methods) {
      if (m == method) return {};
    }
    return Fail(ProblemType::kMalformed, std::string("--") + flag + " does not apply to " +
                                             std::string(checks::MethodName(method)));
  };
  auto need = [&](const char* flag) -> Status {
    if (flags.Has(flag)) return {};
    return Fail(ProblemType::kMalformed,
                std::string(checks::MethodName(method)) + " needs --" + flag);
  };
  for (auto st :
       {only("token", {Method::kHttp01}),
        only("key-authorization",
             {Method::kHttp01, Method::kDns01, Method::kTlsAlpn01, Method::kDnsAccount01}),
        only("caa-issuer", {Method::kCaa, Method::kDnsPersist01}),
        only("account-uri", {Method::kCaa, Method::kDnsPersist01, Method::kDnsAccount01}),
        only("validation-method", {Method::kCaa}), only("persist-domain", {Method::kDnsPersist01}),
        only("certificate-type", {Method::kCaa}),
        only("account-hash-prefix", {Method::kDnsPersist01}),
        only("account-key-thumbprint", {Method::kDnsPersist01}),
        // RFC 8555 §7.1.3: wildcards are validated by the DNS methods only; CAA has issuewild.
        only("wildcard",
             {Method::kDns01, Method::kCaa, Method::kDnsPersist01, Method::kDnsAccount01}),
        only("challenge-value", kBrMethods), only("dns-name-prefix", {Method::kDnsChange}),
        only("dns-record-type", {Method::kDnsChange, Method::kIpAddress}),
        only("require-exact-match", {Method::kDnsChange, Method::kWebsiteChange}),
        only("require-exact-case",
             {Method::kDnsChange, Method::kWebsiteChange, Method::kContactEmailTxt,
              Method::kContactEmailCaa}),
        only("ignore-case",
             {Method::kDnsChange, Method::kWebsiteChange, Method::kContactEmailTxt,
              Method::kContactEmailCaa}),
        only("http-token-path", {Method::kWebsiteChange}),
        only("url-scheme", {Method::kWebsiteChange})}) {
    if (!st) return st;
  }
  if (flags.Has("require-exact-case") && flags.Has("ignore-case")) {
    return Fail(ProblemType::kMalformed, "--require-exact-case and --ignore-case conflict");
  }
  if (flags.Has("account-key-thumbprint") != flags.Has("account-hash-prefix")) {
    return Fail(ProblemType::kMalformed,
                "--account-hash-prefix and --account-key-thumbprint go together");
  }
  switch (method) {
    case Method::kHttp01:
      if (auto st = need("token"); !st) return st;
      return need("key-authorization");
    case Method::kDns01:
    case Method::kTlsAlpn01:
      return need("key-authorization");
    case Method::kCaa:
      return need("caa-issuer");
    case Method::kDnsPersist01:
      if (auto st = need("caa-issuer"); !st) return st;
      return need("account-uri");
    case Method::kDnsAccount01:
      if (auto st = need("key-authorization"); !st) return st;
      return need("account-uri");
    case Method::kWebsiteChange:
      if (auto st = need("http-token-path"); !st) return st;
      return need("challenge-value");
    case Method::kDnsChange:
    case Method::kIpAddress:
    case Method::kContactEmailTxt:
    case Method::kContactEmailCaa:
    case Method::kContactPhoneTxt:
    case Method::kContactPhoneCaa:
    case Method::kReverseAddressLookup:
      return need("challenge-value");
  }
  return {};
}

}  // namespace

int RunCheckCommand(int argc, char** argv, int first, std::ostream& out, std::ostream& err) {
  Flags flags({{"method", Flags::kValue},
               {"identifier", Flags::kValue},
               {"token", Flags::kValue},
               {"key-authorization", Flags::kValue},
               {"caa-issuer", Flags::kRepeated},
               {"account-uri", Flags::kValue},
               {"validation-method", Flags::kValue},
               {"wildcard", Flags::kSwitch},
               {"certificate-type", Flags::kValue},
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
               {"root-hints", Flags::kValue},
               {"trust-anchor", Flags::kValue},
               {"stub", Flags::kValue},
               {"require-ad", Flags::kSwitch},
               {"lab-allow", Flags::kRepeated},
               {"http-port", Flags::kValue},
               {"tls-port", Flags::kValue},
               {"timeout-ms", Flags::kValue},
               {"help", Flags::kSwitch}});
  auto usage_error = [&](const std::string& why) {
    err << "mpic check: " << why << "\n" << kUsage;
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
  auto method_flag = flags.Get("method");
  if (!method_flag) return usage_error("--method is required");
  auto method = checks::ParseMethod(*method_flag);
  if (!method) return usage_error(method.error().detail);
  auto identifier = flags.Get("identifier");
  if (!identifier || identifier->empty()) return usage_error("--identifier is required");
  if (auto st = CheckMethodFlags(*method, flags); !st) return usage_error(st.error().detail);
  for (const auto& issuer : flags.GetAll("caa-issuer")) {
    if (issuer.empty()) return usage_error("--caa-issuer must not be empty");
  }
  auto smime = SmimeFromFlags(flags);
  if (!smime) return usage_error(smime.error().detail);
  if (*smime && flags.Has("wildcard")) {
    return usage_error("--certificate-type s-mime and --wildcard conflict (email addresses have "
                       "no wildcard form)");
  }
  auto timeout = flags.GetInt("timeout-ms", 1, 600000);
  if (!timeout) return usage_error(timeout.error().detail);
  auto http_port = flags.GetInt("http-port", 1, 65535);
  if (!http_port) return usage_error(http_port.error().detail);
  auto tls_port = flags.GetInt("tls-port", 1, 65535);
  if (!tls_port) return usage_error(tls_port.error().detail);
  const bool lab = flags.Has("lab-allow");
  if ((flags.Has("http-port") || flags.Has("tls-port")) && !lab) {
    return usage_error("--http-port/--tls-port need --lab-allow (lab mode only)");
  }
  if (auto st = CheckResolverFlags(flags); !st) return usage_error(st.error().detail);

  checks::AddressPolicy policy;
  for (const auto& cidr : flags.GetAll("lab-allow")) {
    if (auto st = policy.AllowLabRange(cidr); !st) return usage_error(st.error().detail);
  }

  asio::io_context io;
  checks::DialerPorts ports;
  if (*http_port) ports.http_port = static_cast<uint16_t>(**http_port);
  if (*tls_port) ports.tls_port = static_cast<uint16_t>(**tls_port);
  auto dialer = checks::TcpDialer::Create(io.get_executor(), policy, ports);
  if (!dialer) return usage_error(dialer.error().detail);

  auto backend = ResolverFromFlags(io.get_executor(), flags);
  if (!backend) return usage_error(backend.error().detail);

  checks::CheckRequest request;
  request.method = *method;
  request.identifier = *identifier;
  request.token = flags.Get("token").value_or("");
  request.key_authorization = flags.Get("key-authorization").value_or("");
  request.caa_issuer_domains = flags.GetAll("caa-issuer");
  request.account_uri = flags.Get("account-uri").value_or("");
  // RFC 8657 §4: the DCV method a CAA validationmethods= parameter is matched against. For a
  // DCV check it is that check's own method; a CAA check names it with --validation-method.
  request.caa_validation_method = *method == checks::Method::kCaa
                                      ? flags.Get("validation-method").value_or("")
                                      : checks::CaaValidationMethodName(*method);
  request.wildcard = flags.Has("wildcard");
  request.caa_smime = *smime;
  request.persist_domain = flags.Get("persist-domain").value_or("");
  request.account_hash_prefix = flags.Get("account-hash-prefix").value_or("");
  request.account_key_thumbprints = flags.GetAll("account-key-thumbprint");
  request.challenge_value = flags.Get("challenge-value").value_or("");
  request.dns_name_prefix = flags.Get("dns-name-prefix").value_or("");
  request.dns_record_type = flags.Get("dns-record-type").value_or("");
  request.require_exact_match = flags.Has("require-exact-match");
  if (flags.Has("require-exact-case")) request.require_exact_case = true;
  if (flags.Has("ignore-case")) request.require_exact_case = false;
  request.http_token_path = flags.Get("http-token-path").value_or("");
  request.url_scheme = flags.Get("url-scheme").value_or("");
  request.deadline =
      checks::Clock::now() + std::chrono::milliseconds(timeout->value_or(kDefaultTimeoutMs));

  checks::TimeSource clock;
  checks::CheckMetrics metrics;
  std::optional<checks::CheckResult> result;
  const auto hard_stop = request.deadline + std::chrono::seconds(1);
  checks::RunCheck(io.get_executor(), checks::CheckDeps{**backend, **dialer, clock, metrics},
                   std::move(request), [&](checks::CheckResult r) { result = std::move(r); });
  // The check ends itself by its deadline; the extra second only bounds a misbehaving one.
  while (!result && checks::Clock::now() < hard_stop) {
    if (io.run_one_until(hard_stop) == 0 && io.stopped()) break;
  }
  if (!result) {
    err << "mpic check: no verdict by the deadline\n";
    return 1;
  }
  // Evidence may quote anything a server sent; never let invalid UTF-8 abort the output.
  out << checks::ToJson(*result).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
      << "\n";
  return 0;
}

Result<bool> SmimeFromFlags(const lab::Flags& flags) {
  const std::string type = flags.Get("certificate-type").value_or("tls-server");
  if (type != "tls-server" && type != "s-mime") {
    return Fail(ProblemType::kMalformed, "--certificate-type must be tls-server or s-mime");
  }
  return type == "s-mime";
}

}  // namespace mpic::tools
