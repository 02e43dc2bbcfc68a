#!/usr/bin/env bash
# deploy_render_test: the committed overlays are what `mpic deploy render` makes of
# deploy/k8s/fleet.json (no drift); every overlay renders with `kubectl kustomize`; every
# rendered object validates against the Kubernetes API schemas (kubernetes-models, see
# validate.mjs) and meets the deployment policy; the policy checks can fail (selftest); and
# fleets the primary would refuse are refused before anything is rendered.
#   MPIC_BIN_DIR=build/bin tests/deploy/render_test.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mpic=${MPIC_BIN_DIR:-$root/build/bin}/mpic
work=$(mktemp -d /tmp/mpic-deploy-render.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

[[ -x $mpic ]] || { echo "no $mpic" >&2; exit 1; }
[[ -d $here/node_modules/kubernetes-models ]] || { echo "run scripts/setup.sh (npm ci)" >&2; exit 1; }

# 1. No drift between fleet.json and overlays/.
if "$mpic" deploy check --fleet "$root/deploy/k8s/fleet.json" >"$work/check.out" 2>&1; then
  pass "deploy/k8s/overlays match deploy/k8s/fleet.json"
else
  cat "$work/check.out" >&2; fail "mpic deploy check"
fi

# 2. Every overlay renders, validates and meets the policy.
overlays=("$root"/deploy/k8s/overlays/*/)
((${#overlays[@]} >= 6)) || fail "expected the primary and at least 5 remote overlays"
rendered=()
for dir in "${overlays[@]}"; do
  site=$(basename "$dir")
  if kubectl kustomize "$dir" >"$work/$site.yaml" 2>"$work/$site.err"; then
    rendered+=("$work/$site.yaml")
  else
    cat "$work/$site.err" >&2; fail "kubectl kustomize $site"
  fi
done
if node "$here/validate.mjs" "${rendered[@]}"; then
  pass "${#rendered[@]} overlays valid (schemas and policy)"
else
  fail "validate.mjs"
fi
# The overlays cover all five RIRs.
rirs=$(grep -ho 'mpic.dev/rir: [A-Z_]*' "${rendered[@]}" | sort -u | wc -l)
[[ $rirs == 5 ]] && pass "five RIRs" || fail "overlays span $rirs RIRs, not 5"

# 3. The checks can fail.
node "$here/validate.mjs" --selftest && pass "policy selftest" || fail "policy selftest"

# 4. A drifted overlay is caught; fleets the primary would refuse are refused.
cp -r "$root/deploy/k8s" "$work/k8s"
echo "# hand edit" >>"$work/k8s/overlays/eu-fra/kustomization.yaml"
if "$mpic" deploy check --fleet "$work/k8s/fleet.json" >/dev/null 2>&1; then
  fail "drift not detected"
else
  pass "drift detected"
fi
python3 - "$root/deploy/k8s/fleet.json" "$work" <<'PY'
import json, sys
fleet = json.load(open(sys.argv[1]))
close = json.loads(json.dumps(fleet))
close["remotes"][1]["identity"]["location"] = {"latitude": 49.99, "longitude": 8.25}  # Mainz
json.dump(close, open(sys.argv[2] + "/close.json", "w"))
few = json.loads(json.dumps(fleet))
few["remotes"] = few["remotes"][:1]
json.dump(few, open(sys.argv[2] + "/few.json", "w"))
latest = json.loads(json.dumps(fleet))
latest["image"] = "registry.example.net/mpic/mpic:latest"
json.dump(latest, open(sys.argv[2] + "/latest.json", "w"))
PY
for bad in close few latest; do
  if "$mpic" deploy render --fleet "$work/$bad.json" --out "$work/out-$bad" >"$work/$bad.out" 2>&1; then
    fail "fleet '$bad' rendered"
  elif [[ -e $work/out-$bad ]]; then
    fail "fleet '$bad' refused but wrote files"
  else
    pass "fleet '$bad' refused: $(head -c 160 "$work/$bad.out")"
  fi
done

echo "$((failures == 0 ? 1 : 0)) passed, $failures failed"
((failures == 0))
