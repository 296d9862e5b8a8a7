#!/usr/bin/env bash
# Retakes every screenshot in assets/ from a real terminal, all from one binary: tmux runs
# it, each screen is captured once as text (assets/NAME.txt) and once with its colours, aha
# turns the colours into HTML and headless Chromium photographs it (assets/NAME.png). Each
# shot waits for the text that says its screen is ready (never a fixed sleep), and the
# login shots are taken two seconds into the code's life, as tests/it/assets.rs redraws
# them to check that the committed .txt files still match what the binary draws.
# The phone-size pages of the verification site come from the browser test (chromedriver).
# Needs: tmux, aha, curl, chromium, chromium-driver, fonts-dejavu-core.
# Usage: scripts/screenshots.sh [BINARY]   (default target/release/tvlogin)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/tvlogin}")
work=$(mktemp -d)
port=${TVLOGIN_SHOTS_PORT:-18560}
"$bin" serve --port "$port" >/dev/null 2>"$work/serve.log" &
serve_pid=$!
trap 'kill $serve_pid 2>/dev/null; tmux kill-session -t shots 2>/dev/null; rm -rf "$work"' EXIT
env_vars="TVLOGIN_CONFIG_DIR=$work/c TVLOGIN_DATA_DIR=$work/d TERM=xterm-256color COLORTERM=truecolor"
login="$bin login --issuer http://127.0.0.1:$port --client-id tvlogin-demo"

# Waits (up to 30 s) until the screen shows TEXT.
wait_for() { # text
  for _ in $(seq 300); do
    if tmux capture-pane -p -t shots 2>/dev/null | grep -qF -- "$1"; then return 0; fi
    sleep 0.1
  done
  echo "screenshots: timed out waiting for \"$1\"; the screen was:" >&2
  tmux capture-pane -p -t shots >&2 || true
  exit 1
}

# The server answers before anything is started.
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$port/.well-known/openid-configuration" && break
  sleep 0.1
done

start() { # cols rows command
  tmux kill-session -t shots 2>/dev/null || true
  tmux new-session -d -s shots -x "$1" -y "$2" "$env_vars $3; sleep 600"
}

shoot() { # name cols rows
  # Text and colours of one moment: taken again when the text changed in between.
  local text again
  for _ in 1 2 3 4 5; do
    text=$(tmux capture-pane -p -t shots | sed 's/[[:space:]]*$//')
    tmux capture-pane -e -N -p -t shots > "$work/$1.ans"
    again=$(tmux capture-pane -p -t shots | sed 's/[[:space:]]*$//')
    [ "$text" = "$again" ] && break
  done
  printf '%s\n' "$text" > "assets/$1.txt"
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
  echo "assets/$1.png assets/$1.txt"
}

approve() { # user code
  curl -s -o /dev/null -d "user_code=$1&action=approve" "http://127.0.0.1:$port/device"
}

# The login screen two seconds into the code's life (the next check in 3 s).
start 80 24 "TVLOGIN_STORE=memory $login"
wait_for "Next check in 3s"
shoot login-80x24 80 24
code=$(tmux capture-pane -p -t shots | grep -oE '\b[B-Z]{4}-[B-Z]{4}\b' | head -1)
approve "$code"
wait_for "Press Enter to finish."
wait_for "Stored in"
shoot success-80x24 80 24
start 200 50 "TVLOGIN_STORE=memory $login"
wait_for "Next check in 3s"
shoot login-200x50 200 50
start 30 10 "TVLOGIN_STORE=memory $login"
wait_for "Code "
tmux capture-pane -p -t shots | sed 's/[[:space:]]*$//' > assets/too-small.txt
echo "assets/too-small.txt"
start 80 24 "$login"
wait_for "Where should tvlogin keep your tokens?"
shoot store-question-80x24 80 24

# Two stored profiles (file store, logged in by plain mode and approved over HTTP), then the
# dashboard and the inspector on the first one.
store_login() { # profile scope
  TVLOGIN_CONFIG_DIR=$work/c TVLOGIN_DATA_DIR=$work/d TVLOGIN_STORE=file \
    $login --profile "$1" --scope "$2" --no-tui --json > "$work/$1.out" 2>&1 &
  local pid=$! code=""
  for _ in $(seq 100); do
    code=$(grep -o '"user_code":"[^"]*"' "$work/$1.out" | cut -d'"' -f4 || true)
    [ -n "$code" ] && break
    sleep 0.1
  done
  approve "$code"
  wait "$pid"
}
store_login work "openid profile email offline_access"
store_login ci "read"
start 80 24 "$bin"
wait_for "ci "
wait_for "work "
shoot dashboard-80x24 80 24
tmux send-keys -t shots j Enter
wait_for "Verdict"
shoot inspector-80x24 80 24

# The verification page at phone size, from the browser test (it photographs the page in
# headless Chromium over chromedriver).
if command -v chromedriver >/dev/null; then
  cargo test --quiet --test it -- browser::screenshot_at_phone_width >/dev/null
  shots=target/tmp/browser
  cp "$shots/verification-page-enter-code-phone.png" assets/
  cp "$shots/verification-page-wrong-code-phone.png" assets/
  cp "$shots/verification-page-confirm-phone.png" assets/verification-page-phone.png
  echo "assets/verification-page-{enter-code-,wrong-code-,}phone.png"
else
  echo "screenshots: no chromedriver; the verification-page-*-phone.png were left as they are" >&2
fi
