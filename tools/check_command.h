// `mpic check --method M --identifier NAME ...`: runs one check (HTTP-01, DNS-01, TLS-ALPN-01,
// CAA, dns-persist-01 or dns-account-01) from this machine, as one perspective would, and
// prints the result as one JSON object (checks::ToJson): method, identifier, outcome, problem,
// evidence, duration_ms.
//
//   mpic check --method dns-01 --identifier example.com --key-authorization TOKEN.THUMB
//   mpic check --method caa --identifier '*.example.com' --caa-issuer ca.example
//              --account-uri https://ca.example/acct/1 --validation-method dns-01
//   mpic check --method dns-persist-01 --identifier example.com --caa-issuer ca.example
//              --account-uri https://ca.example/acct/1
//   mpic check --method dns-account-01 --identifier example.com --account-uri URI
//              --key-authorization TOKEN.THUMB
//   mpic check --method http-01 --identifier www.lab --token T --key-authorization T.X
//              --root-hints lab/root.hints --trust-anchor lab/root.key
//              --lab-allow 127.0.0.0/8 --http-port 8080     # lab mode only
//
// Exit 0: the check reached a verdict, valid or invalid (the JSON says which); 1: no verdict
// by the deadline (a bug: checks end themselves by it); 2: bad usage or configuration (a bad
// flag, an unreadable root-hints file, ...), with a message on stderr.
#pragma once

#include <iosfwd>

#include "common/error.h"
#include "lab/flags.h"

namespace mpic::tools {

int RunCheckCommand(int argc, char** argv, int first, std::ostream& out, std::ostream& err);

// --certificate-type tls-server|s-mime (tls-server when absent), shared by `mpic check` and
// `mpic validate`: true for s-mime (CAA's issuemail property, RFC 9495); an Error naming the
// flag's two values otherwise.
[[nodiscard]] Result<bool> SmimeFromFlags(const lab::Flags& flags);

}  // namespace mpic::tools
