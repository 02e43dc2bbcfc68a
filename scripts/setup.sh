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
  # the DNS lab and interop peers
  nsd bind9-utils bind9-dnsutils dns-root-data pebble openssl
  # netsim
  iproute2 nftables gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done

if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  echo "setup: installing ${#missing[@]} package(s): ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# NSD must never run as a system service here: the lab starts its own instances.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nsd 2>/dev/null; then
  systemctl stop nsd || true
fi
echo "setup: all packages present" >&2
