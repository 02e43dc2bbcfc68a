// Where mpic finds the files it reads at run time (the DNS lab's script, netsim's harness and
// scenarios): DIR/share/mpic for a binary in DIR/bin, so an installed tree (`cmake --install`)
// works wherever it is copied, and the build tree has the same layout (build/share/mpic, made
// at configure time). $MPIC_DATA_DIR overrides it (tests built outside build/bin set it).
//
//   auto script = mpic::lab::DataFile("dnslab/dnslab.py");
//   if (!script) return Fail(script.error());  // names the path it looked for
#pragma once

#include <string>
#include <string_view>

#include "common/error.h"

namespace mpic::lab {

// $MPIC_DATA_DIR when set and not empty, else <this executable's directory>/../share/mpic
// (/proc/self/exe, symlinks resolved), normalized.
[[nodiscard]] std::string DataDir();

// The data directory for an executable at `exe` with `env` as $MPIC_DATA_DIR (nullptr: unset).
// Exposed for tests.
[[nodiscard]] std::string DataDirFor(std::string_view exe, const char* env);

// The directory of this executable (/proc/self/exe, symlinks resolved; "." when unknown): where
// va-primary and va-remote are built and installed next to mpic.
[[nodiscard]] std::string ExecutableDir();

// DataDir()/relative when that file is readable; kServerInternal naming the path otherwise.
[[nodiscard]] Result<std::string> DataFile(std::string_view relative);

}  // namespace mpic::lab
