#!/usr/bin/env bash
# Measures what waiting for approval costs in a real terminal (tmux, 80x24): CPU time used
# over N seconds (default 60) and peak RSS, for
#   1. `tvlogin login` against `tvlogin serve` in another process (interval 5 s), and
#   2. `tvlogin demo`, which also runs the authorization server in-process (interval 2 s),
#   3. the dashboard (`tvlogin` alone) with 1 and with 100 logged-in profiles (file store;
#      one login approved through the verification page, its files copied 99 times).
# Usage: scripts/measure-idle.sh [SECONDS] [BINARY]
# Needs tmux and curl.
set -euo pipefail
secs=${1:-60}
bin=$(realpath "${2:-target/release/tvlogin}")
command -v tmux >/dev/null || { echo "needs tmux (apt-get install tmux)" >&2; exit 2; }
command -v curl >/dev/null || { echo "needs curl (apt-get install curl)" >&2; exit 2; }
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
home=$(mktemp -d)
session=tvlogin-idle-$$
serve_pid=
cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null || true
  rm -rf "$home"
}
trap cleanup EXIT
env_vars="TVLOGIN_CONFIG_DIR=$home TVLOGIN_DATA_DIR=$home TVLOGIN_STORE=memory TERM=xterm-256color"

measure() { # label, command line, text the screen must show, environment
  tmux new-session -d -s "$session" -x 80 -y 24 "${4:-$env_vars} $2"
  local pid=
  for _ in $(seq 50); do
    pid=$(pgrep -n -f "$2" || true)
    [ -n "$pid" ] && break
    sleep 0.1
  done
  [ -n "$pid" ] || { echo "$1: tvlogin did not start" >&2; exit 1; }
  sleep 3 # let it draw and send its first poll
  local ticks before after peak_kb
  ticks=$(getconf CLK_TCK)
  before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  sleep "$secs"
  after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  tmux capture-pane -p -t "$session" | grep -q "$3" \
    || { echo "$1: the screen does not show '$3'" >&2; exit 1; }
  tmux kill-session -t "$session"
  awk -v l="$1" -v a="$after" -v b="$before" -v t="$ticks" -v s="$secs" -v k="$peak_kb" 'BEGIN {
    printf "%s: waited %ds, cpu %.2fs (%.3f%% of one core), peak RSS %.1f MiB\n",
      l, s, (a - b) / t, 100 * (a - b) / t / s, k / 1024 }'
}

port=$((20000 + $$ % 20000))
"$bin" serve --port "$port" >/dev/null 2>&1 &
serve_pid=$!
sleep 1
measure "login (server in another process)" \
  "$bin login --issuer http://127.0.0.1:$port --client-id tvlogin-demo" 'Code expires in'
measure "demo (server in-process)" "$bin demo" 'Code expires in'

# The dashboard: one profile logged in with the file store, approved at the verification page.
dash=$home/dash
mkdir -p "$dash"
dash_env="TVLOGIN_CONFIG_DIR=$dash TVLOGIN_DATA_DIR=$dash TVLOGIN_STORE=file TERM=xterm-256color"
env $dash_env "$bin" login --issuer "http://127.0.0.1:$port" --client-id tvlogin-demo \
  --scope "openid profile offline_access" --profile p000 --json >"$home/events" 2>/dev/null &
login_pid=$!
for _ in $(seq 100); do
  grep -q device_authorization "$home/events" 2>/dev/null && break
  sleep 0.1
done
event=$(grep device_authorization "$home/events")
code=$(printf '%s' "$event" | sed 's/.*"user_code":"\([^"]*\)".*/\1/')
page=$(printf '%s' "$event" | sed 's/.*"verification_uri":"\([^"]*\)".*/\1/')
curl -fsS -o /dev/null --data-urlencode "user_code=$code" -d action=approve "$page"
wait "$login_pid" || { echo "the dashboard's login failed" >&2; exit 1; }
measure "dashboard, 1 profile" "$bin" 'token dashboard' "$dash_env"
for i in $(seq -w 1 99); do
  # The state file names its profile inside too.
  sed -E "s/\"profile\": ?\"p000\"/\"profile\": \"p0$i\"/" \
    "$dash/profiles/p000.state.json" >"$dash/profiles/p0$i.state.json"
  cp "$dash/profiles/p000.tokens.json" "$dash/profiles/p0$i.tokens.json"
done
measure "dashboard, 100 profiles" "$bin" '100 profiles' "$dash_env"
