#!/usr/bin/env bash
# What a DPoP proof costs a `token` run: `tvlogin token` of a Bearer session against
# `tvlogin token --format dpop --method GET --url …` of a DPoP-bound session (which mints a
# proof: a P-256 signature, a random jti, a SHA-256 ath), both with a cached valid access token,
# RUNS runs each (default 40), interleaved in the same run, medians side by side, the added
# milliseconds and the ratio (issue 21: the proof adds at most 1 ms). Then the same for `api`
# against the embedded server's /api/me (Bearer against DPoP with a proof).
# Logs in twice against `tvlogin serve --dpop optional` with the file store.
# Usage: [RUNS=N] scripts/bench-dpop.sh [BINARY]   (default target/release/tvlogin)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/tvlogin}")
work=$(mktemp -d)
port=$((20000 + $$ % 20000))
"$bin" serve --port "$port" --interval 1 --dpop optional --approve-after 1 >/dev/null 2>&1 &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null; rm -rf "$work"' EXIT
sleep 1
export TVLOGIN_CONFIG_DIR=$work/c TVLOGIN_DATA_DIR=$work/d TVLOGIN_STORE=file
issuer="http://127.0.0.1:$port"
"$bin" login --profile bearer --issuer "$issuer" --client-id tvlogin-demo --no-dpop --json >/dev/null
"$bin" login --profile bound --issuer "$issuer" --client-id tvlogin-demo --dpop --json >/dev/null
python3 - "$bin" "$issuer" "${RUNS:-40}" <<'PY'
import statistics, subprocess, sys, time
tv, issuer, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
api = f"{issuer}/api/me"
pairs = [
    ("token (bearer)", [tv, "token", "--profile", "bearer"],
     "token --format dpop (proof)",
     [tv, "token", "--profile", "bound", "--format", "dpop", "--method", "GET", "--url", api]),
    ("api (bearer)", [tv, "api", "--profile", "bearer", api],
     "api (DPoP + proof)", [tv, "api", "--profile", "bound", api]),
]
def run(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True)
    ms = (time.perf_counter() - t) * 1000
    assert r.returncode == 0, (cmd, r.stderr)
    return ms
for base_name, base, dpop_name, dpop in pairs:
    run(base); run(dpop)  # warm the page cache
    a, b = [], []
    for _ in range(rounds):
        a.append(run(base)); b.append(run(dpop))
    ma, mb = statistics.median(a), statistics.median(b)
    print(f"{base_name:<28} median {ma:6.2f} ms   {dpop_name:<28} median {mb:6.2f} ms   "
          f"added {mb - ma:+.2f} ms   ratio {mb / ma:.2f}  (n={rounds})")
PY
