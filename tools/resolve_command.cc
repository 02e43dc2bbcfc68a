#include "tools/resolve_command.h"

#include <iostream>
#include <nlohmann/json.hpp>

#include "common/asio.h"
#include "common/dns_name.h"
#include "lab/flags.h"
#include "tools/resolver_flags.h"

namespace mpic::tools {

using lab::Flags;

namespace {

using nlohmann::ordered_json;

constexpr const char* kUsage =
    "usage: mpic resolve NAME TYPE [--root-hints FILE --trust-anchor FILE]\n"
    "                    [--stub ADDR[:PORT] [--require-ad]] [--timeout-ms N]\n";

ordered_json AnswerJson(const resolver::Answer& a) {
  ordered_json j;
  j["name"] = a.name;
  j["type"] = dns::RrTypeName(a.type);
  j["rcode"] = dns::RcodeName(a.rcode);
  j["dnssec"] = std::string(resolver::DnssecStatusName(a.dnssec));
  j["why_bogus"] = a.why_bogus.empty() ? ordered_json(nullptr) : ordered_json(a.why_bogus);
  j["cname_chain"] = a.cname_chain;
  ordered_json answers = ordered_json::array();
  for (const auto& rr : a.records) answers.push_back(dns::ToPresentation(rr));
  j["answers"] = std::move(answers);
  if (!a.server.empty()) j["server"] = a.server;
  j["elapsed_ms"] = static_cast<double>(a.elapsed.count()) / 1000.0;
  return j;
}

}  // namespace

int RunResolve(int argc, char** argv, int first, std::ostream& out, std::ostream& err) {
  Flags flags({{"root-hints", Flags::kValue},
               {"trust-anchor", Flags::kValue},
               {"stub", Flags::kValue},
               {"require-ad", Flags::kSwitch},
               {"timeout-ms", Flags::kValue},
               {"help", Flags::kSwitch}});
  auto usage_error = [&](const std::string& why) {
    err << "mpic resolve: " << why << "\n" << kUsage;
    return 2;
  };
  if (auto st = flags.Parse(argc, argv, first); !st) return usage_error(st.error().detail);
  if (flags.Has("help")) {
    out << kUsage;
    return 0;
  }
  if (flags.positionals().size() != 2) return usage_error("expected NAME and TYPE");
  const std::string& name = flags.positionals()[0];
  auto type = dns::ParseRrType(flags.positionals()[1]);
  if (!type) return usage_error("unknown record type \"" + flags.positionals()[1] + "\"");
  if (auto n = NormalizeDnsName(name); !n) return usage_error(n.error().detail);
  auto timeout = flags.GetInt("timeout-ms", 1, 600000);
  if (!timeout) return usage_error(timeout.error().detail);
  if (auto st = CheckResolverFlags(flags); !st) return usage_error(st.error().detail);

  asio::io_context io;
  auto backend = ResolverFromFlags(io.get_executor(), flags);
  if (!backend) return usage_error(backend.error().detail);

  auto session = (*backend)->NewSession();
  std::optional<resolver::LookupResult> result;
  auto deadline = resolver::Clock::now() + std::chrono::milliseconds(timeout->value_or(5000));
  session->Lookup(name, *type, deadline, [&](resolver::LookupResult r) { result = std::move(r); });
  // The lookup's own deadline ends it; the extra second only bounds a misbehaving backend.
  io.run_until(deadline + std::chrono::seconds(1));
  if (!result) {
    err << "mpic resolve: no result by the deadline\n";
    return 1;
  }
  if (*result) {
    out << AnswerJson(**result).dump() << "\n";
    return 0;
  }
  const auto& e = result->error();
  if (e.answer) {  // completed: bogus, SERVFAIL, ... reported as data about the lookup
    auto j = AnswerJson(*e.answer);
    j["error"] = e.error.detail;
    out << j.dump() << "\n";
    return 0;
  }
  ordered_json j;
  j["name"] = Fqdn(*NormalizeDnsName(name));
  j["type"] = dns::RrTypeName(*type);
  j["error"] = e.error.detail;
  j["timed_out"] = e.timed_out;
  out << j.dump() << "\n";
  err << "mpic resolve: " << e.error.detail << "\n";
  return 1;
}

}  // namespace mpic::tools
