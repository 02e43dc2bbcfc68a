#include "tools/netsim_command.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string_view>

#include "lab/data_dir.h"
#include "lab/flags.h"
#include "lab/pki.h"
#include "tools/netsim_fleet.h"

namespace mpic::tools {
namespace {

constexpr const char* kUsage =
    "usage: mpic netsim run SCENARIO.json [--out DIR] [--keep DIR]\n"
    "       mpic netsim report RESULTS.json [--out PNG]\n"
    "       mpic netsim selftest [--out DIR]\n"
    "       mpic netsim cleanup\n"
    "       mpic netsim pki --dir DIR --member NAME=IP[,IP...]...\n"
    "       mpic netsim fleet --spec FILE\n"
    "Routing and DNS attacks against a real fleet in network namespaces (root needed,\n"
    "except for report and pki). pki: the fleet CA (DIR/ca.pem) and, per member, a P-256\n"
    "certificate for serverAuth and clientAuth with SANs NAME and its IPs (DIR/NAME.pem,\n"
    "DIR/NAME.key) -- the same PKI code as `mpic fleet up`. fleet: starts the va-remote and\n"
    "va-primary processes a JSON spec describes, each in its namespace, with the launcher of\n"
    "`mpic fleet up`; one JSON line once ready; stops them when stdin ends or on SIGTERM.\n"
    "See docs/netsim.md.\n";

// python3 from PATH (or the usual places): "" when absent.
std::string FindPython() {
  std::string path = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  path += ":/usr/bin:/bin:/usr/local/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/python3";
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  return "";
}

}  // namespace

std::vector<std::string> NetsimArgv(const std::string& python, const std::string& harness,
                                    const std::vector<std::string>& args) {
  std::vector<std::string> argv{python, harness};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

bool NetsimNeedsRoot(const std::vector<std::string>& args) {
  if (args.empty()) return false;
  const std::string& sub = args.front();
  // `fleet` checks for itself (root only when its spec names namespaces).
  return sub != "report" && sub != "pki" && sub != "fleet" && sub != "-h" && sub != "--help" &&
         sub != "help";
}

namespace {

// `mpic netsim pki`: the harness's fleet PKI, made by lab::Pki like every other fleet's.
int RunPki(int argc, char** argv, int first, std::ostream& out, std::ostream& err) {
  lab::Flags flags({{"dir", lab::Flags::kValue}, {"member", lab::Flags::kRepeated}});
  if (auto st = flags.Parse(argc, argv, first); !st || !flags.positionals().empty()) {
    err << "mpic netsim pki: " << (st ? "unexpected argument" : st.error().detail) << "\n"
        << kUsage;
    return 2;
  }
  const auto dir = flags.Get("dir");
  const std::vector<std::string> members = flags.GetAll("member");
  if (!dir || members.empty()) {
    err << "mpic netsim pki: --dir and at least one --member are required\n" << kUsage;
    return 2;
  }
  auto pki = lab::Pki::Create(*dir, "mpic netsim CA");
  if (!pki) {
    err << "mpic netsim pki: " << pki.error().detail << "\n";
    return 1;
  }
  for (const std::string& member : members) {
    const size_t eq = member.find('=');
    const std::string name = member.substr(0, eq);
    std::vector<std::string> ips;
    if (eq != std::string::npos) {
      for (size_t start = eq + 1; start <= member.size();) {
        size_t comma = member.find(',', start);
        if (comma == std::string::npos) comma = member.size();
        if (comma > start) ips.push_back(member.substr(start, comma - start));
        start = comma + 1;
      }
    }
    auto pair = pki->Issue(name, {name}, ips);
    if (!pair) {
      err << "mpic netsim pki: member \"" << member << "\": " << pair.error().detail << "\n";
      return 1;
    }
  }
  out << "PKI: CA and " << members.size() << " certificate(s) in " << *dir << "\n";
  return 0;
}

}  // namespace

int RunNetsim(int argc, char** argv, int first, std::ostream& out, std::ostream& err) {
  std::vector<std::string> args(argv + first, argv + argc);
  if (args.empty()) {
    err << kUsage;
    return 2;
  }
  if (args.front() == "help" || args.front() == "--help" || args.front() == "-h") {
    out << kUsage;
    return 0;
  }
  if (args.front() == "pki") return RunPki(argc, argv, first + 1, out, err);
  if (args.front() == "fleet") return RunNetsimFleet(argc, argv, first + 1, out, err);
  // Installed beside the binary's tree: ../share/mpic/netsim/netsim.py (lab/data_dir.h).
  auto harness_file = lab::DataFile("netsim/netsim.py");
  if (!harness_file) {
    err << "mpic netsim: harness not found: " << harness_file.error().detail << "\n";
    return 3;
  }
  const std::string harness = *harness_file;
  const std::string python = FindPython();
  if (python.empty()) {
    err << "mpic netsim: python3 not found (apt-get install python3)\n";
    return 3;
  }
  if (NetsimNeedsRoot(args) && geteuid() != 0) {
    err << "mpic netsim " << args.front()
        << ": needs root (it creates network namespaces and binds ports 53, 80, 443)\n";
    return 3;
  }
  // The harness runs the va-primary and va-remote built next to this binary.
  setenv("MPIC_BIN_DIR", lab::ExecutableDir().c_str(), 1);
  std::vector<std::string> full = NetsimArgv(python, harness, args);
  std::vector<char*> c_argv;
  for (std::string& a : full) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  out.flush();
  err.flush();
  execv(python.c_str(), c_argv.data());
  err << "mpic netsim: cannot run " << python << ": " << std::strerror(errno) << "\n";
  return 3;
}

}  // namespace mpic::tools
