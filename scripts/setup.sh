#!/usr/bin/env bash
# Installs every Debian 12 package that mpic's build, tests, benchmarks and demo need.
# Idempotent; run as root (or with sudo) on a fresh machine.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git python3 clang libclang-rt-14-dev
  # libraries
  libboost-dev libssl-dev libc-ares-dev libunbound-dev libevent-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  prometheus-cpp-dev libexpected-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
  # routesim topology reader (gzip, bzip2)
  zlib1g-dev libbz2-dev
  # Open MPIC API: response schema check (openmpic_schema_test); simdjson for openmpic_bench
  python3-jsonschema libsimdjson-dev
  # the DNS lab and interop peers
  nsd unbound bind9-utils bind9-dnsutils dns-root-data pebble openssl
  # netsim
  iproute2 nftables gnuplot-nox
  # scripts/build-unbound.sh (libunbound against OpenSSL from Debian's source package)
  dpkg-dev bison flex
  # the container image and its real run (scripts/image.sh, tests/deploy)
  podman buildah debootstrap runc catatonit
)

missing=()
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${#missing[@]} package(s): ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Installing nsd or unbound must not start them as services (they would bind port 53 on
  # every address, and unbound's start-up would fetch the real root's trust anchor).
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    created_policy=1
  fi
  trap '[[ $created_policy == 1 ]] && $SUDO rm -f "$policy"' EXIT
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The lab starts its own NSD and unbound instances; system services must not hold port 53.
if command -v systemctl >/dev/null 2>&1; then
  for service in nsd unbound; do
    if systemctl is-active --quiet "$service" 2>/dev/null; then
      ${SUDO:-} systemctl stop "$service" || true
    fi
    ${SUDO:-} systemctl disable "$service" >/dev/null 2>&1 || true
  done
fi
# tests/deploy validates rendered Kubernetes objects with npm packages pinned by its lock file.
deploy_tests="$(cd "$(dirname "$0")/.." && pwd)/tests/deploy"
if [[ ! -d $deploy_tests/node_modules/kubernetes-models ]]; then
  command -v npm >/dev/null 2>&1 || { echo "setup: npm is needed for tests/deploy" >&2; exit 1; }
  (cd "$deploy_tests" && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "setup: all packages present" >&2

# Optional: libunbound built against OpenSSL (faster DNSSEC validation, docs/BENCHMARKS.md);
# cached in /opt/mpic. Takes minutes on 2 cores; a failure leaves Debian's libunbound in use.
# MPIC_UNBOUND_OPENSSL=OFF skips it.
if [[ ${MPIC_UNBOUND_OPENSSL:-AUTO} != OFF ]]; then
  "$(dirname "$0")/build-unbound.sh" >/dev/null ||
    echo "setup: libunbound OpenSSL build failed; Debian's libunbound stays in use" >&2
fi
