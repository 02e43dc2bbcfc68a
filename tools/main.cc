// mpic: the command-line tool. Thin: each subcommand lives in its own file.
#include <csignal>
#include <iostream>
#include <string_view>

#include "tools/resolve_command.h"

namespace {

constexpr const char* kUsage =
    "usage: mpic COMMAND [ARGS]\n"
    "commands:\n"
    "  resolve NAME TYPE   one DNSSEC-validated lookup, printed as JSON\n";

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // LAB-NOTES #10
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  std::string_view command = argv[1];
  if (command == "resolve") return mpic::tools::RunResolve(argc, argv, 2, std::cout, std::cerr);
  if (command == "help" || command == "--help" || command == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "mpic: unknown command \"" << command << "\"\n" << kUsage;
  return 2;
}
