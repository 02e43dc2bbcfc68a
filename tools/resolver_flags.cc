#include "tools/resolver_flags.h"

#include <fstream>

#include "resolver/cares_resolver.h"
#include "resolver/unbound_resolver.h"

namespace mpic::tools {

bool HintsAreLoopback(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  bool any = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ';') continue;
    auto a = line.find(" A ");
    if (a == std::string::npos) a = line.find("\tA\t");
    if (a == std::string::npos) continue;
    auto address = line.substr(line.find_last_of(" \t") + 1);
    if (!address.starts_with("127.")) return false;
    any = true;
  }
  return any;
}

Status CheckResolverFlags(const Flags& flags) {
  if (flags.Has("stub") && (flags.Has("root-hints") || flags.Has("trust-anchor"))) {
    return Fail(ProblemType::kMalformed, "--stub excludes --root-hints/--trust-anchor");
  }
  if (flags.Has("require-ad") && !flags.Has("stub")) {
    return Fail(ProblemType::kMalformed, "--require-ad applies to --stub");
  }
  return {};
}

Result<std::unique_ptr<resolver::Resolver>> ResolverFromFlags(asio::any_io_executor executor,
                                                              const Flags& flags) {
  if (auto stub = flags.Get("stub")) {
    auto r = resolver::CaresResolver::Create(
        std::move(executor), {.server = *stub, .require_ad = flags.Has("require-ad")});
    if (!r) return Fail(r.error());
    return std::unique_ptr<resolver::Resolver>(std::move(*r));
  }
  resolver::UnboundConfig config;
  if (auto f = flags.Get("root-hints")) {
    config.root_hints_file = *f;
    config.allow_loopback_servers = HintsAreLoopback(*f);
  }
  if (auto f = flags.Get("trust-anchor")) config.trust_anchor_file = *f;
  auto r = resolver::UnboundResolver::Create(std::move(executor), config);
  if (!r) return Fail(r.error());
  return std::unique_ptr<resolver::Resolver>(std::move(*r));
}

}  // namespace mpic::tools
