#!/usr/bin/env bash
# Takes PNG screenshots of tvlogin's screens from a real terminal: tmux runs the binary,
# capture-pane keeps the colours, aha turns them into HTML, headless Chromium photographs it.
# Needs: tmux, aha, chromium, fonts-dejavu-core (apt-get install tmux aha chromium fonts-dejavu-core).
# Usage: scripts/screenshots.sh [BINARY]   (writes assets/*.png)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/tvlogin}")
work=$(mktemp -d)
port=$((20000 + $$ % 20000))
"$bin" serve --port "$port" >/dev/null 2>&1 &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null; tmux kill-session -t shots 2>/dev/null; rm -rf "$work"' EXIT
sleep 1
env_vars="TVLOGIN_CONFIG_DIR=$work/c TVLOGIN_DATA_DIR=$work/d TERM=xterm-256color COLORTERM=truecolor"
login="$bin login --issuer http://127.0.0.1:$port --client-id tvlogin-demo"

start() { # cols rows command
  tmux kill-session -t shots 2>/dev/null || true
  tmux new-session -d -s shots -x "$1" -y "$2" "$env_vars $3; sleep 600"
  sleep 3
}

shoot() { # name cols rows
  tmux capture-pane -e -N -p -t shots > "$work/$1.ans"
  aha --black --no-header < "$work/$1.ans" > "$work/$1.body"
  {
    echo '<!doctype html><meta charset="utf-8"><style>'
    echo 'body{margin:0;background:#000;color:#ccc}'
    echo 'pre{margin:12px;font:16px/1.0 "DejaVu Sans Mono",monospace}'
    echo '</style><pre>'
    cat "$work/$1.body"
    echo '</pre>'
  } > "$work/$1.html"
  local w=$(( $2 * 10 + 24 )) h=$(( $3 * 16 + 28 ))
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$work/chrome" --hide-scrollbars --window-size="$w,$h" \
    --screenshot="assets/$1.png" "file://$work/$1.html" >/dev/null 2>&1
  echo "assets/$1.png"
}

start 80 24 "TVLOGIN_STORE=memory $login"
shoot login-80x24 80 24
code=$(tmux capture-pane -p -t shots | grep -oE '\b[B-Z]{4}-[B-Z]{4}\b' | head -1)
curl -s -o /dev/null -d "user_code=$code&action=approve" "http://127.0.0.1:$port/device"
sleep 3
shoot success-80x24 80 24
start 200 50 "TVLOGIN_STORE=memory $login"
shoot login-200x50 200 50
start 80 24 "$login"
shoot store-question-80x24 80 24

# Two stored profiles (file store, logged in by plain mode and approved over HTTP), then the
# dashboard and the inspector on the first one.
store_login() { # profile scope
  TVLOGIN_CONFIG_DIR=$work/c TVLOGIN_DATA_DIR=$work/d TVLOGIN_STORE=file \
    $login --profile "$1" --scope "$2" --no-tui --json > "$work/$1.out" 2>&1 &
  local pid=$!
  sleep 1.5
  local code
  code=$(grep -o '"user_code":"[^"]*"' "$work/$1.out" | cut -d'"' -f4)
  curl -s -o /dev/null -d "user_code=$code&action=approve" "http://127.0.0.1:$port/device"
  wait "$pid"
}
store_login work "openid profile email offline_access"
store_login ci "read"
start 80 24 "$bin"
shoot dashboard-80x24 80 24
tmux capture-pane -p -t shots | sed 's/[[:space:]]*$//' > assets/dashboard-80x24.txt
tmux send-keys -t shots j Enter
sleep 3
shoot inspector-80x24 80 24
tmux capture-pane -p -t shots | sed 's/[[:space:]]*$//' > assets/inspector-80x24.txt
