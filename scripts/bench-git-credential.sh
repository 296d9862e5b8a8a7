#!/usr/bin/env bash
# git's credential-helper hot path, side by side: `tvlogin git-credential get` answering from
# a cached, valid access token (file store) vs `tvlogin token` vs `gh auth git-credential get`
# (gh with a token from GH_TOKEN and an empty config dir, so it too answers from memory).
# Each command reads the same request on stdin, as git sends it. Prints medians and the ratio.
# hyperfine (apt-get install hyperfine) when installed, then 50 interleaved runs of each in
# Python (alternating the commands keeps load drift on a shared machine out of the ratio).
# Usage: scripts/bench-git-credential.sh [BINARY]   (default target/release/tvlogin)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/tvlogin}")
command -v gh >/dev/null || { echo "gh is not installed (apt-get install gh)"; exit 1; }
work=$(mktemp -d)
port=$((20000 + $$ % 20000))
"$bin" serve --port "$port" --interval 1 >/dev/null 2>&1 &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null; rm -rf "$work"' EXIT
sleep 1
export TVLOGIN_CONFIG_DIR=$work/c TVLOGIN_DATA_DIR=$work/d TVLOGIN_STORE=file
"$bin" login --issuer "http://127.0.0.1:$port" --client-id tvlogin-demo --json > "$work/login.out" &
login_pid=$!
for _ in $(seq 1 50); do grep -q user_code "$work/login.out" 2>/dev/null && break; sleep 0.1; done
code=$(grep -o '"user_code":"[^"]*"' "$work/login.out" | cut -d'"' -f4)
curl -s -o /dev/null -d "user_code=$code&action=approve" "http://127.0.0.1:$port/device"
wait "$login_pid"

# The same request for both helpers (gh answers only for its own hosts).
printf 'protocol=https\nhost=git.example.test\n\n' > "$work/tv.in"
printf 'protocol=https\nhost=github.com\n\n' > "$work/gh.in"
export GH_CONFIG_DIR=$work/gh GH_TOKEN=gho_benchmarkbenchmarkbenchmark0000000 GH_NO_UPDATE_NOTIFIER=1
mkdir -p "$GH_CONFIG_DIR"
# Both must really answer, or the numbers mean nothing.
"$bin" git-credential get < "$work/tv.in" | grep -q '^password=' || { echo "tvlogin did not answer"; exit 1; }
gh auth git-credential get < "$work/gh.in" | grep -q '^password=' || { echo "gh did not answer"; exit 1; }

if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 5 --runs 100 --export-json "$work/h.json" \
    -n "tvlogin git-credential get" "sh -c '$bin git-credential get < $work/tv.in'" \
    -n "gh auth git-credential get" "sh -c 'gh auth git-credential get < $work/gh.in'" \
    -n "tvlogin token" "sh -c '$bin token < /dev/null'" >&2 || true
  python3 - "$work/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
tv, gh, tok = (r[k]["median"] * 1000 for k in
               ("tvlogin git-credential get", "gh auth git-credential get", "tvlogin token"))
print(f"median ms (hyperfine, 100 runs, each through sh -c): tvlogin git-credential get {tv:.2f}, "
      f"gh auth git-credential get {gh:.2f}, tvlogin token {tok:.2f}")
print(f"ratio tvlogin/gh = {tv / gh:.2f}; git-credential/token = {tv / tok:.2f}")
PY
  echo "hyperfine runs one command after the other, so load drifting on a shared machine skews"
  echo "the comparison; the interleaved runs below alternate the commands:"
fi
python3 - "$bin" "$work" <<'PY'
import statistics, subprocess, sys, time
tv, work = sys.argv[1], sys.argv[2]
cmds = {
    "tvlogin git-credential get": ([tv, "git-credential", "get"], f"{work}/tv.in"),
    "gh auth git-credential get": (["gh", "auth", "git-credential", "get"], f"{work}/gh.in"),
    "tvlogin token": ([tv, "token"], "/dev/null"),
}
times = {name: [] for name in cmds}
for i in range(55):
    for name, (argv, stdin) in cmds.items():
        with open(stdin, "rb") as f:
            t = time.perf_counter()
            r = subprocess.run(argv, stdin=f, capture_output=True)
            dt = (time.perf_counter() - t) * 1000
        assert r.returncode == 0, r.stderr
        if i >= 5:
            times[name].append(dt)
med = {name: statistics.median(v) for name, v in times.items()}
for name, v in times.items():
    print(f"{name}: median {med[name]:.2f} ms  min {min(v):.2f}  max {max(v):.2f}  (n=50, interleaved)")
print(f"ratio tvlogin/gh = {med['tvlogin git-credential get'] / med['gh auth git-credential get']:.2f}; "
      f"git-credential/token = {med['tvlogin git-credential get'] / med['tvlogin token']:.2f}")
PY
