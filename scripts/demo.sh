#!/usr/bin/env bash
# The main job: sets up the machine, builds mpic, and runs `mpic fleet up`: a complete MPIC
# fleet on loopback — the DNS lab (a private DNSSEC-signed hierarchy served by real NSD), a
# challenge responder (pebble-challtestsrv), a fresh mTLS PKI, one va-primary (Ashburn, ARIN)
# and five va-remote perspectives (Frankfurt, Oregon, Singapore, São Paulo, Johannesburg: all
# five RIRs). It validates an HTTP-01, a DNS-01 and a TLS-ALPN-01 challenge (each must be
# CORROBORATED by the BR §3.2.2.9 quorum) and a DNS-01 with a wrong key authorization (must be
# NOT_CORROBORATED), printing every perspective's verdict and evidence, then stops everything
# it started. Exit 0 iff every decision was the expected one.
#
# Extra arguments go to `mpic fleet up`, e.g. `scripts/demo.sh --keep-running` (leaves the
# fleet up and prints ready-made `mpic validate` commands; Ctrl-C stops it) or `--remotes 7`.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
./scripts/build.sh build >/dev/null

# mpic stops every process it started (primary, remotes, responder, NSD) on exit, on
# SIGINT/SIGTERM, and — through PR_SET_PDEATHSIG — even if it is killed.
exec build/bin/mpic fleet up "$@"
