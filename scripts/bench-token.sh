#!/usr/bin/env bash
# `tvlogin token` with a cached, valid access token (the scripting hot path): 20 runs, median.
# Logs in once against `tvlogin serve` with the file store (this machine has no keyring).
# Usage: scripts/bench-token.sh [BINARY]   (default target/release/tvlogin)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/tvlogin}")
work=$(mktemp -d)
port=$((20000 + $$ % 20000))
"$bin" serve --port "$port" --interval 1 >/dev/null 2>&1 &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null; rm -rf "$work"' EXIT
sleep 1
export TVLOGIN_CONFIG_DIR=$work/c TVLOGIN_DATA_DIR=$work/d TVLOGIN_STORE=file
"$bin" login --issuer "http://127.0.0.1:$port" --client-id tvlogin-demo --json > "$work/login.out" &
login_pid=$!
sleep 1.5
code=$(grep -o '"user_code":"[^"]*"' "$work/login.out" | cut -d'"' -f4)
curl -s -o /dev/null -d "user_code=$code&action=approve" "http://127.0.0.1:$port/device"
wait "$login_pid"
python3 - "$bin" <<'PY'
import statistics, subprocess, sys, time
tv = sys.argv[1]
subprocess.run([tv, "token"], capture_output=True, check=True)  # warm the page cache
times = []
for _ in range(20):
    t = time.perf_counter()
    r = subprocess.run([tv, "token"], capture_output=True)
    times.append((time.perf_counter() - t) * 1000)
    assert r.returncode == 0 and r.stdout.count(b".") == 2, r.stderr
print(f"tvlogin token (cached, file store): median {statistics.median(times):.2f} ms  "
      f"min {min(times):.2f}  max {max(times):.2f}  (n=20)")
PY
