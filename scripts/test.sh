#!/usr/bin/env bash
# Sets up the machine, builds mpic (Release), and runs the whole test suite: unit, integration
# (the DNS lab, real servers) and netsim tests, then the same tests under ASan+UBSan, then a short
# fuzz smoke run. Exits non-zero on any failure. Run as root (the lab binds port 53 on
# 127/8 loopback addresses; netsim creates network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/check-deps.sh  # the folder dependency table (README.md, Layout) before anything else
./scripts/setup.sh
jobs=$(nproc 2>/dev/null || echo 2)

# The main build is Release (-O3), configured as users and packagers configure it, so that a
# plain optimised build is proven at no extra cost; the sanitizer build below is the one with
# warnings as errors.
echo "== build (Release)"
./scripts/build.sh --release build
echo "== tests"
ctest --test-dir build --output-on-failure -j "$jobs"

if [[ ${MPIC_SKIP_SANITIZE:-0} != 1 ]]; then
  echo "== build (ASan + UBSan)"
  ./scripts/build.sh --sanitize build-asan
  echo "== tests under ASan + UBSan"
  # netsim runs in the normal build only: its matrix restarts the fleet many times and the
  # sanitized binaries would only make it slower; the same binaries run here in fleet_test,
  # va_primary_test and va_remote_test.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs" -E '^netsim_test$'
fi

if [[ -x scripts/fuzz-smoke.sh && ${MPIC_SKIP_FUZZ:-0} != 1 ]]; then
  echo "== fuzz smoke"
  ./scripts/fuzz-smoke.sh
fi
echo "== all tests passed"
