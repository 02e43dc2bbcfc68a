#!/usr/bin/env bash
# Runs the fleet load generator over the matrix recorded in docs/BENCHMARKS.md:
# modes stub (a) and lab (b) x 1 primary + 2, 3, 5 remotes x HTTP-01, DNS-01, and prints a
# Markdown table (JSON lines of each run in $OUT, default /tmp/mpic-fleet-matrix.jsonl).
#   bench/fleet_matrix.sh [BUILD_DIR]     (root: the DNS lab binds port 53 on 127/8)
# Env: STUB_COUNT (10000), LAB_COUNT (600), CONCURRENCY (32).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${OUT:-/tmp/mpic-fleet-matrix.jsonl}
: >"$out"
for mode in stub lab; do
  count=$([[ $mode == stub ]] && echo "${STUB_COUNT:-10000}" || echo "${LAB_COUNT:-600}")
  warmup=$([[ $mode == stub ]] && echo 500 || echo 60)
  for remotes in 2 3 5; do
    for method in http-01 dns-01; do
      echo "== $mode, 1+$remotes, $method" >&2
      timeout 900 "$build/bench/fleet_loadgen" --mode "$mode" --remotes "$remotes" \
        --method "$method" --count "$count" --warmup "$warmup" \
        --concurrency "${CONCURRENCY:-32}" --json >>"$out"
    done
  done
done
python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| mode | fleet | method | validations/s | p50 ms | p90 ms | p99 ms | max ms | fleet CPU ms/val | primary | remotes |")
print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['mode']} | 1+{r['remotes']} | {r['method']} | {r['validations_per_s']:.0f} | "
          f"{r['p50_ms']:.1f} | {r['p90_ms']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:.1f} | "
          f"{r['fleet_cpu_ms_per_validation']:.2f} | {r['primary_cpu_ms_per_validation']:.2f} | "
          f"{r['remote_cpu_ms_per_validation']:.2f} |")
PY
