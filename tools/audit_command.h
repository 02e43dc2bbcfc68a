// `mpic audit verify [--prev HASH|genesis] [--head HASH] FILE...`: checks the hash chain of
// va-primary audit logs (docs/audit.md). Give the files oldest first, as rotation names them:
//   cd /var/log/mpic && mpic audit verify audit.jsonl.1 audit.jsonl.2 audit.jsonl
// Prints "intact: N records ..., head HASH" and exits 0, or names the first broken record
// ("BROKEN: FILE:LINE: ...") and exits 1; 2 for bad usage or a file that cannot be read.
// --prev: the hash the first record must chain from ("genesis" for a log from its start, or
// the head a previous verification printed); --head: the hash the last record must have.
#pragma once

#include <iosfwd>

namespace mpic::tools {

int RunAudit(int argc, char** argv, int first, std::ostream& out, std::ostream& err);

}  // namespace mpic::tools
