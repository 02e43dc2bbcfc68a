// The resolver flags `mpic resolve` and `mpic check` share:
//   [--root-hints FILE --trust-anchor FILE | --stub ADDR[:PORT] [--require-ad]]
//
//   Flags flags({{"root-hints", Flags::kValue}, ...});   // plus kResolverFlags' names
//   if (auto st = CheckResolverFlags(flags); !st) return usage_error(st.error().detail);
//   auto resolver = ResolverFromFlags(io.get_executor(), flags);
#pragma once

#include <memory>
#include <string>

#include "common/asio.h"
#include "common/error.h"
#include "lab/flags.h"
#include "resolver/resolver.h"

namespace mpic::tools {

using lab::Flags;

// Flag combinations that make no sense (--stub with root hints, --require-ad without --stub).
[[nodiscard]] Status CheckResolverFlags(const Flags& flags);

// A c-ares stub (--stub) or a validating libunbound resolver from the root (the real root by
// default; a --root-hints file whose servers are all on 127/8 is taken as the lab and lets
// unbound query loopback servers).
[[nodiscard]] Result<std::unique_ptr<resolver::Resolver>> ResolverFromFlags(
    asio::any_io_executor executor, const Flags& flags);

// True when every address in a root-hints file is on 127/8 (and there is at least one).
[[nodiscard]] bool HintsAreLoopback(const std::string& path);

}  // namespace mpic::tools
