#!/usr/bin/env bash
# Enforces the folder dependency table (README.md, "Layout"): which of the tree's folders the
# sources of each folder may #include. Prints every violation as FILE:LINE and exits 1 when
# there is one; exits 0 when the tree follows the table.
#
#   scripts/check-deps.sh              # the tree this script is in
#   scripts/check-deps.sh --root DIR   # another tree (the self-test uses this)
#   scripts/check-deps.sh --self-test  # proves the checker finds violations
#
# Only includes of our own folders count ("common/...", "mpic/v1/..." generated from proto/);
# system and third-party headers are not ours. Test sources (*_test.cc and a folder's
# testing/ directory) may in addition include lab/ (the DNS lab, PKI, fleet launcher); nothing
# outside tests/ may include tests/. tests/ itself may include anything.
set -euo pipefail

# --- The table -------------------------------------------------------------------------------
# folder -> the folders its sources may include (itself always). "mpic" is proto/'s generated
# code (mpic/v1/*.pb.h). Mirrored in README.md; change both together.
declare -A ALLOWED=(
  [common]=""
  [quorum]="common"
  [routesim]="common quorum"
  [resolver]="common"
  [checks]="common resolver"
  [proto]="common mpic"
  [perspective]="common resolver checks quorum proto mpic"
  [openmpic]="common quorum proto mpic"
  [va-remote]="common resolver checks proto mpic perspective"
  [va-primary]="common resolver checks quorum proto mpic perspective openmpic"
  [lab]="common resolver checks quorum proto mpic perspective"
  [tools]="common resolver checks quorum routesim proto mpic perspective openmpic va-primary lab"
  [bench]="common resolver checks quorum routesim proto mpic perspective openmpic lab"
)
OURS="common quorum routesim resolver checks proto mpic perspective openmpic va-remote va-primary lab tools bench tests"

# --- Known failing (remove an entry once its rule passes; a passing entry is an error) -------
# KNOWN_FAILING[folder/included-folder]=why
declare -A KNOWN_FAILING=(
)

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SELF_TEST=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --root) ROOT="$(cd "$2" && pwd)"; shift 2 ;;
    --self-test) SELF_TEST=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "check-deps: unknown argument $1" >&2; exit 2 ;;
  esac
done

is_ours() { [[ " $OURS " == *" $1 "* ]]; }

check_tree() {
  local root="$1" violations=0 folder file line target top rel key
  declare -A known_seen=()
  for folder in "${!ALLOWED[@]}"; do
    [[ -d "$root/$folder" ]] || continue
    while IFS=: read -r file line target; do
      top="${target%%/*}"
      [[ "$target" == */* ]] || continue
      is_ours "$top" || continue
      [[ "$top" == "$folder" ]] && continue
      rel="${file#"$root"/}"
      local allowed=" ${ALLOWED[$folder]} "
      if [[ "$rel" == *_test.cc || "$rel" == */testing/* ]]; then
        allowed+="lab "
      fi
      [[ "$allowed" == *" $top "* ]] && continue
      key="$folder/$top"
      if [[ -n "${KNOWN_FAILING[$key]:-}" ]]; then
        known_seen[$key]=1
        echo "known failing: $rel:$line: $folder/ includes \"$target\" (${KNOWN_FAILING[$key]})"
        continue
      fi
      if [[ "$top" == tests ]]; then
        echo "$rel:$line: product code includes \"$target\": nothing outside tests/ may" \
             "include tests/"
      else
        echo "$rel:$line: $folder/ may not include \"$target\" ($folder/ may include:" \
             "${ALLOWED[$folder]:-nothing but itself})"
      fi
      violations=$((violations + 1))
    done < <(grep -rnE --include='*.h' --include='*.cc' \
               '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]+"' "$root/$folder" |
             sed -E 's/^([^:]+):([0-9]+):.*"([^"]+)".*/\1:\2:\3/')
  done
  for key in "${!KNOWN_FAILING[@]}"; do
    if [[ -d "$root/${key%%/*}" && -z "${known_seen[$key]:-}" ]]; then
      echo "stale allow-list entry: $key now passes; remove it from KNOWN_FAILING in" \
           "scripts/check-deps.sh"
      violations=$((violations + 1))
    fi
  done
  if [[ $violations -gt 0 ]]; then
    echo "check-deps: $violations violation(s) of the folder dependency table (README.md)"
    return 1
  fi
  echo "check-deps: the tree follows the folder dependency table"
}

self_test() {
  local tmp out
  tmp="$(mktemp -d /tmp/mpic-check-deps.XXXXXX)"
  trap 'rm -rf "$tmp"' RETURN
  mkdir -p "$tmp/common" "$tmp/quorum" "$tmp/tools" "$tmp/checks/testing" "$tmp/proto"
  printf '#include "common/error.h"\n#include <vector>\n' > "$tmp/quorum/ok.cc"
  printf '// a comment\n#include "tests/integration/child.h"\n' > "$tmp/tools/bad.cc"
  printf '#include "checks/check.h"\n' > "$tmp/common/bad.h"
  printf '#include "lab/dnslab.h"\n' > "$tmp/checks/testing/lab_ok.h"
  printf '#include "lab/dnslab.h"\n' > "$tmp/checks/product_bad.cc"
  printf '#include "checks/check.h"\n#include "resolver/resolver.h"\n' > "$tmp/proto/conv.cc"
  if out="$(check_tree "$tmp")"; then
    echo "self-test: a tree with violations passed"; echo "$out"; return 1
  fi
  local expect
  for expect in 'tools/bad.cc:2: product code includes "tests/integration/child.h"' \
                'common/bad.h:1: common/ may not include "checks/check.h"' \
                'checks/product_bad.cc:1: checks/ may not include "lab/dnslab.h"' \
                'proto/conv.cc:1: proto/ may not include "checks/check.h"' \
                'check-deps: 5 violation(s)'; do
    if [[ "$out" != *"$expect"* ]]; then
      echo "self-test: missing \"$expect\" in:"; echo "$out"; return 1
    fi
  done
  if [[ "$out" == *quorum/ok.cc* || "$out" == *lab_ok.h* ]]; then
    echo "self-test: an allowed include was reported:"; echo "$out"; return 1
  fi
  # A known-failing rule that passes is an error (the entry must go).
  printf '#include "proto/x.h"\n' > "$tmp/proto/conv.cc"
  KNOWN_FAILING[proto/checks]="self-test entry"
  out="$(check_tree "$tmp")" || true
  unset 'KNOWN_FAILING[proto/checks]'
  if [[ "$out" != *"stale allow-list entry: proto/checks"* ]]; then
    echo "self-test: a stale allow-list entry was not reported:"; echo "$out"; return 1
  fi
  echo "check-deps self-test: ok"
}

if [[ $SELF_TEST == 1 ]]; then
  self_test
  check_tree "$ROOT"
else
  check_tree "$ROOT"
fi
