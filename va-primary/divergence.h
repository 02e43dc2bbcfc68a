// Evidence that differs between perspectives (docs/architecture.md): a primary that compares
// only pass/fail cannot tell a split view of the DNS (a hijack in progress, a half-updated
// zone, an anycast split) from agreement. For each compared field every distinct value is listed
// with the perspectives that saw it. Only perspectives that answered (and the primary when its
// check finished) are compared. Pure.
//
//   std::vector<const mpic::v1::PerspectiveResult*> answered = {&primary, &fra, &syd};
//   for (const mpic::v1::Divergence& d : mpic::va_primary::ComputeDivergences(answered)) {
//     // d.field() == "dcv.txt_values"; d.values(0).value() == "abc"; ...perspectives() == {"fra"}
//   }
#pragma once

#include <span>
#include <string>
#include <vector>

#include "mpic/v1/primary.pb.h"

namespace mpic::va_primary {

// Joins a value set for display: sorted, duplicates removed, ", "-separated.
[[nodiscard]] std::string JoinValueSet(std::vector<std::string> values);

// One Divergence per field whose values differ between the given perspectives, in this order:
// dcv.addresses_resolved (as a set), dcv.txt_values (set), dcv.http_body, dcv.matched_value,
// dcv.cert_sans (set), dcv.acme_identifier_hex, dcv.dnssec (set of "NAME TYPE: STATUS" over the
// lookups), caa.caa_name, caa.caa_records (set), caa.dnssec. TLS-ALPN-01 is compared on what
// the method checks (SAN and acmeIdentifier), never on the certificate's fingerprint. A
// perspective takes part in a dcv.* (caa.*) field only when it has a dcv (caa) outcome. Values
// are listed in order of first appearance; perspectives by PerspectiveResult.perspective.name.
// Null entries are skipped.
[[nodiscard]] std::vector<v1::Divergence> ComputeDivergences(
    std::span<const v1::PerspectiveResult* const> perspectives);

}  // namespace mpic::va_primary
