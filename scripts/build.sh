#!/usr/bin/env bash
# Configures and builds mpic. Usage: scripts/build.sh [--sanitize] [--release] [BUILD_DIR]
#   default BUILD_DIR: build (or build-asan with --sanitize)
#   --release: CMAKE_BUILD_TYPE=Release (-O3) built as users and packagers build it: warnings
#              are printed, not errors (newer or other compilers warn differently at -O3)
# Otherwise warnings are errors (-DMPIC_WERROR=ON): the project's own development and sanitizer
# builds keep the tree clean; a plain `cmake` configure leaves them warnings.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=OFF
build_type=RelWithDebInfo
werror=ON
dir=""
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=ON ;;
    --release) build_type=Release; werror=OFF ;;
    -*) echo "build.sh: unknown option $arg" >&2; exit 2 ;;
    *) dir=$arg ;;
  esac
done
[[ -n $dir ]] || { [[ $sanitize == ON ]] && dir=build-asan || dir=build; }

jobs=$(nproc 2>/dev/null || echo 2)
# Benchmarks are meaningless under the sanitizers: skip them there.
bench=ON
[[ $sanitize == ON ]] && bench=OFF
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=$build_type -DMPIC_SANITIZE=$sanitize \
  -DMPIC_BENCH=$bench -DMPIC_WERROR=$werror \
  >"$dir.configure.log" 2>&1 || { cat "$dir.configure.log" >&2; exit 1; }
cmake --build "$dir" -j "$jobs"
