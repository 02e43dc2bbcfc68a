// mpic: the command-line tool. Thin: each subcommand lives in its own file.
#include <csignal>
#include <iostream>
#include <string_view>

#include "common/version.h"
#include "tools/audit_command.h"
#include "tools/check_command.h"
#include "tools/deploy_command.h"
#include "tools/fleet_command.h"
#include "tools/netsim_command.h"
#include "tools/resolve_command.h"
#include "tools/simulate_command.h"
#include "tools/validate_command.h"

namespace {

constexpr const char* kUsage =
    "usage: mpic COMMAND [ARGS]\n"
    "commands:\n"
    "  resolve NAME TYPE   one DNSSEC-validated lookup, printed as JSON\n"
    "  check --method M --identifier NAME ...\n"
    "                      one check (http-01, dns-01, tls-alpn-01, caa), printed as JSON\n"
    "  validate --primary ADDR --method M --identifier NAME ...\n"
    "                      ask a va-primary for a corroborated decision (mTLS gRPC)\n"
    "  fleet up [--remotes N] [--keep-running]\n"
    "                      a complete local fleet: DNS lab, responder, primary, remotes\n"
    "  netsim run SCENARIO | report RESULTS | selftest\n"
    "                      routing and DNS attacks on a real fleet in network namespaces\n"
    "  simulate resilience|placement|route|generate|merge ...\n"
    "                      AS-level BGP hijack resilience of perspectives (docs/routesim.md)\n"
    "  audit verify FILE...\n"
    "                      check the hash chain of va-primary audit logs\n"
    "  deploy render|check [--fleet FILE] | probe --role R --config FILE\n"
    "                      Kubernetes overlays from one fleet file; the pods' health probe\n"
    "  version             the version and git revision of this build (also --version)\n";

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // docs/architecture.md, Pitfalls
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  std::string_view command = argv[1];
  if (command == "resolve") return mpic::tools::RunResolve(argc, argv, 2, std::cout, std::cerr);
  if (command == "check") {
    return mpic::tools::RunCheckCommand(argc, argv, 2, std::cout, std::cerr);
  }
  if (command == "validate") {
    return mpic::tools::RunValidate(argc, argv, 2, std::cout, std::cerr);
  }
  if (command == "fleet") return mpic::tools::RunFleet(argc, argv, 2, std::cout, std::cerr);
  if (command == "deploy") return mpic::tools::RunDeploy(argc, argv, 2, std::cout, std::cerr);
  if (command == "netsim") return mpic::tools::RunNetsim(argc, argv, 2, std::cout, std::cerr);
  if (command == "simulate") {
    return mpic::tools::RunSimulate(argc, argv, 2, std::cout, std::cerr);
  }
  if (command == "audit") return mpic::tools::RunAudit(argc, argv, 2, std::cout, std::cerr);
  if (command == "version" || command == "--version") {
    std::cout << "mpic " << mpic::kVersion << " (git " << mpic::kGitRevision << ")\n";
    return 0;
  }
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "mpic: unknown command \"" << command << "\"\n" << kUsage;
  return 2;
}
