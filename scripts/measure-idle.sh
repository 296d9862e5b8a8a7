#!/usr/bin/env bash
# Measures what waiting for approval costs in a real terminal (tmux, 80x24): CPU time used
# over N seconds (default 60) and peak RSS, for
#   1. `tvlogin login` against `tvlogin serve` in another process (interval 5 s), and
#   2. `tvlogin demo`, which also runs the authorization server in-process (interval 2 s).
# Usage: scripts/measure-idle.sh [SECONDS] [BINARY]
set -euo pipefail
secs=${1:-60}
bin=$(realpath "${2:-target/release/tvlogin}")
command -v tmux >/dev/null || { echo "needs tmux (apt-get install tmux)" >&2; exit 2; }
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

measure() { # label, command line
  tmux new-session -d -s "$session" -x 80 -y 24 "$env_vars $2"
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
  tmux capture-pane -p -t "$session" | grep -q 'Code expires in' \
    || { echo "$1: the login screen is not showing" >&2; exit 1; }
  tmux kill-session -t "$session"
  awk -v l="$1" -v a="$after" -v b="$before" -v t="$ticks" -v s="$secs" -v k="$peak_kb" 'BEGIN {
    printf "%s: waited %ds, cpu %.2fs (%.3f%% of one core), peak RSS %.1f MiB\n",
      l, s, (a - b) / t, 100 * (a - b) / t / s, k / 1024 }'
}

port=$((20000 + $$ % 20000))
"$bin" serve --port "$port" >/dev/null 2>&1 &
serve_pid=$!
sleep 1
measure "login (server in another process)" "$bin login --issuer http://127.0.0.1:$port --client-id tvlogin-demo"
measure "demo (server in-process)" "$bin demo"
