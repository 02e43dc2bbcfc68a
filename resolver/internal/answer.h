// Shared by the backends: turns a response packet into an `Answer` and decides whether it is
// usable data. Pure; tested in resolver_test.
#pragma once

#include <span>
#include <string_view>

#include "resolver/resolver.h"

namespace mpic::resolver::internal {

// Parses `packet` (may be empty when a backend had no packet) into `answer`: rcode, the CNAME
// chain from answer->name, and the RRs of answer->type at the canonical name. `answer->name`
// and `answer->type` must be set.
[[nodiscard]] Status FillFromPacket(std::span<const uint8_t> packet, Answer* answer);

// The gate every backend ends in: bogus, SERVFAIL and any rcode other than NOERROR/NXDOMAIN
// become a LookupError that keeps the answer for evidence.
[[nodiscard]] LookupResult Classify(Answer answer);

[[nodiscard]] LookupError TimeoutError(std::string_view name, uint16_t type,
                                       std::chrono::microseconds elapsed);
[[nodiscard]] LookupError CancelledError(std::string_view name, uint16_t type);

}  // namespace mpic::resolver::internal
