#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang in their own build directory and runs
# each for a short while from a small seed corpus. Exits non-zero if a target fails to build,
# crashes, leaks, times out or breaks an invariant.
#
#   scripts/fuzz-smoke.sh                  # build in ../build-fuzz, 20 s per target
#   FUZZ_SECONDS=120 scripts/fuzz-smoke.sh /tmp/build-fuzz
#
# Crashing inputs are kept as BUILD_DIR/fuzz-artifacts/<target>-crash-*; reproduce one with
# BUILD_DIR/fuzz/<target> <file>.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-$(dirname "$repo")/build-fuzz}"
seconds="${FUZZ_SECONDS:-20}"
jobs="${FUZZ_BUILD_JOBS:-2}"

command -v clang++ >/dev/null || { echo "fuzz-smoke: clang++ not found" >&2; exit 2; }

echo "== configure ($build)"
CC=clang CXX=clang++ cmake -S "$repo" -B "$build" -G Ninja -DMPIC_FUZZ=ON -DMPIC_BENCH=OFF \
  -DBUILD_TESTING=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPIC_WERROR=ON >"$build.configure.log" 2>&1 || {
  cat "$build.configure.log" >&2
  exit 1
}
echo "== build"
cmake --build "$build" --target mpic_fuzzers -j "$jobs"

corpus="$build/fuzz-corpus"
artifacts="$build/fuzz-artifacts"
mkdir -p "$corpus" "$artifacts"

# Seeds: one or two well-formed inputs per target, so the short run starts past the framing.
python3 - "$corpus" <<'PY'
import os, struct, sys
root = sys.argv[1]

def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def blob(b):
    return struct.pack("!H", len(b)) + b

def caa(flags, tag, value):
    return bytes([flags, len(tag)]) + tag + value

value = b"ca.example; accounturi=https://ca.example/acct/1; validationmethods=dns-01"
put("caa_eval_fuzzer", "issue", b"\x0f" + blob(caa(0, b"issue", value)))
put("caa_eval_fuzzer", "wild", b"\x01" + blob(caa(0, b"issue", b";")) +
    blob(caa(0, b"issuewild", b"ca.example")) + blob(caa(128, b"tbs", b"x")))

def name(n):
    out = b""
    for label in n.split(".") if n else []:
        out += bytes([len(label)]) + label.encode()
    return out + b"\x00"

def rr(owner, rtype, rdata, ttl=60):
    return owner + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata

q = name("_acme-challenge.www.example")
answers = [
    rr(b"\xc0\x0c", 5, name("t.example")),
    rr(name("t.example"), 16, b"\x05hello\x05world"),
    rr(name("t.example"), 257, caa(0, b"issue", b"ca.example")),
    rr(name("t.example"), 1, b"\xc0\x00\x02\x01"),
    rr(name("t.example"), 28, bytes(16)),
]
msg = struct.pack("!HHHHHH", 0x1234, 0x8180, 1, len(answers), 0, 0) + q + struct.pack("!HH", 16, 1)
put("dns_wire_fuzzer", "response", msg + b"".join(answers))

put("dns_name_fuzzer", "mixed", b"WWW.Example.COM.")
put("dns_name_fuzzer", "underscore", b"_acme-challenge.example.com")

put("dns01_txt_fuzzer", "digest",
    b"\x01" + blob(b"token.thumbprint") + blob(b"\x05abcde\x03fgh") + blob(b"\x02xy"))
put("dns01_txt_fuzzer", "raw", b"\x00" + blob(b"abcdefgh") + blob(b"\x05abcde\x03fgh"))

put("persist_record_fuzzer", "record",
    b"\x00" + blob(b"other.example") + blob(b"https://ca.example/acct/1") + b"\x00" +
    blob(b"ca.example; accounturi=https://ca.example/acct/1; policy=wildcard; persistUntil=99"))

ka = b"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
put("http_body_fuzzer", "match", blob(ka) + ka + b"\r\n")

put("trace_context_fuzzer", "valid",
    b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\nrojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
put("trace_context_fuzzer", "later",
    b"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x\nt@v=1")
PY

# A certificate as a TLS-ALPN-01 responder would present it (RFC 8737 §3).
if [[ -d "$build/fuzz" && -x "$build/fuzz/tls_cert_fuzzer" ]] && command -v openssl >/dev/null; then
  mkdir -p "$corpus/tls_cert_fuzzer"
  ka="evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
  digest="$(printf '%s' "$ka" | openssl dgst -sha256 -hex | awk '{print $NF}')"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
      -subj /CN=example.com -keyout "$tmp/key.pem" -outform DER -out "$tmp/cert.der" \
      -addext "subjectAltName=DNS:example.com" \
      -addext "1.3.6.1.5.5.7.1.31=critical,DER:0420$digest" >/dev/null 2>&1; then
    { printf '\x00'; cat "$tmp/cert.der"; } >"$corpus/tls_cert_fuzzer/acme-cert"
  fi
fi

failed=()
for bin in "$build"/fuzz/*_fuzzer; do
  target="$(basename "$bin")"
  mkdir -p "$corpus/$target"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$artifacts/$target-")
  dict="$repo/tests/fuzz/${target%_fuzzer}.dict"
  [[ -f "$dict" ]] && args+=(-dict="$dict")
  echo "== $target (${seconds} s)"
  # timeout(1) bounds a hung target; libFuzzer's own -timeout catches a slow input.
  if ! timeout $((seconds + 60)) "$bin" "${args[@]}" "$corpus/$target" \
      >"$build/$target.log" 2>&1; then
    echo "!! $target FAILED; log: $build/$target.log" >&2
    tail -n 40 "$build/$target.log" >&2
    failed+=("$target")
  else
    grep -E '^stat::number_of_executed_units|^Done ' "$build/$target.log" || true
  fi
done

if ((${#failed[@]})); then
  echo "fuzz-smoke: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz-smoke: all targets ran ${seconds} s without a finding"
