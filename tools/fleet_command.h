// `mpic fleet up [--remotes N] [--dir DIR] [--keep-running] [--json]`: a complete MPIC fleet on
// loopback — the DNS lab, a challenge responder, a fresh PKI, va-primary and N va-remote
// processes (see lab/local_fleet.h).
//
// Without --keep-running it validates end to end — an HTTP-01, a DNS-01 and a TLS-ALPN-01
// challenge for lab names (each must be CORROBORATED) and a DNS-01 with a wrong key
// authorization (must be NOT_CORROBORATED) — prints every perspective's verdict and the
// decision, stops everything, and exits 0 iff every decision was the expected one (1 otherwise,
// 2 for bad usage). With --keep-running it prints how to call `mpic validate` against the
// fleet and runs until SIGINT or SIGTERM (exit 0).
#pragma once

#include <iosfwd>

namespace mpic::tools {

int RunFleet(int argc, char** argv, int first, std::ostream& out, std::ostream& err);

}  // namespace mpic::tools
