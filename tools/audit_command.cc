#include "tools/audit_command.h"

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "lab/flags.h"
#include "va-primary/audit.h"

namespace mpic::tools {
namespace {

using lab::Flags;

constexpr const char* kUsage =
    "usage: mpic audit verify [--prev HASH|genesis] [--head HASH] FILE...\n"
    "  FILE...      audit logs, oldest first (audit.jsonl.1 audit.jsonl.2 ... audit.jsonl)\n"
    "  --prev HASH  the first record must chain from HASH (\"genesis\": the log's start)\n"
    "  --head HASH  the last record must hash to HASH (a head recorded earlier)\n"
    "exit 0: the chain is intact; 1: a record was changed, removed or reordered (named);\n"
    "2: bad usage or a file that cannot be read\n";

bool IsHash(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

int RunAudit(int argc, char** argv, int first, std::ostream& out, std::ostream& err) {
  const std::string_view sub = first < argc ? std::string_view(argv[first]) : "";
  if (sub == "help" || sub == "--help" || sub == "-h") {
    out << kUsage;
    return 0;
  }
  if (sub != "verify") {
    err << (sub.empty() ? std::string("mpic audit: missing subcommand\n")
                        : "mpic audit: unknown subcommand \"" + std::string(sub) + "\"\n")
        << kUsage;
    return 2;
  }
  Flags flags({{"prev", Flags::kValue}, {"head", Flags::kValue}, {"help", Flags::kSwitch}});
  if (auto st = flags.Parse(argc, argv, first + 1); !st) {
    err << "mpic audit verify: " << st.error().detail << "\n" << kUsage;
    return 2;
  }
  if (flags.Has("help")) {
    out << kUsage;
    return 0;
  }
  va_primary::AuditVerifyOptions options;
  options.expect_prev = flags.Get("prev").value_or("");
  if (options.expect_prev == "genesis") options.expect_prev = va_primary::kAuditGenesis;
  options.expect_head = flags.Get("head").value_or("");
  for (const std::string* hash : {&options.expect_prev, &options.expect_head}) {
    if (!hash->empty() && !IsHash(*hash)) {
      err << "mpic audit verify: \"" << *hash << "\" is not 64 lower-case hex digits\n";
      return 2;
    }
  }
  const std::vector<std::string>& files = flags.positionals();
  if (files.empty()) {
    err << "mpic audit verify: no FILE given\n" << kUsage;
    return 2;
  }
  auto report = va_primary::VerifyAuditChain(files, options);
  if (!report) {
    err << "mpic audit verify: " << report.error().detail << "\n";
    return 2;
  }
  if (!report->intact) {
    out << "BROKEN: " << report->problem << "\n";
    return 1;
  }
  const bool genesis = report->first_prev == va_primary::kAuditGenesis;
  out << "intact: " << report->records << " record(s) in " << files.size() << " file(s)";
  if (report->records > 0) {
    out << ", from " << (genesis ? std::string("genesis") : report->first_prev) << ", head "
        << report->head;
  }
  out << "\n";
  if (report->records > 0 && !genesis && options.expect_prev.empty()) {
    out << "note: the first record continues an earlier log; give --prev to check what it "
           "chains from\n";
  }
  return 0;
}

}  // namespace mpic::tools
