#!/usr/bin/env bash
# Kill loop: SIGKILL `tvlogin refresh` at random moments against `tvlogin serve` with rotating
# refresh tokens (replay detection on), and count the sessions lost.
#
# A session can only be lost when the kill lands between the server's rotation and the local
# write of the new refresh token. Each refresh runs with TVLOGIN_TRACE_REFRESH set, so its
# stderr says which stages it finished before it died ("sending", "answered", "stored",
# "recorded"); every lost session is checked against that: lost after "sending" and before
# "stored" is inside the window, anything else is a bug.
#
# It also measures the window itself over unkilled refreshes: from the answer's arrival (the
# server rotated just before sending it) to the durable local write.
#
# Usage: scripts/kill-loop.sh [ROUNDS] [REFRESH_DELAY_MS]
#   ROUNDS            kills to perform (default 60)
#   REFRESH_DELAY_MS  the server delays each refresh answer this long after rotating
#                     (default 0: the real window; e.g. 200 widens it so kills land inside)
# Needs: a built tvlogin (TVLOGIN=path, default target/debug/tvlogin), curl, jq.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${1:-60}"
DELAY="${2:-0}"
BIN="${TVLOGIN:-target/debug/tvlogin}"
[ -x "$BIN" ] || cargo build --quiet
WORK="$(mktemp -d)"
chmod 700 "$WORK"
export TVLOGIN_CONFIG_DIR="$WORK/config" TVLOGIN_DATA_DIR="$WORK/data" TVLOGIN_STORE=file
unset TVLOGIN_PROFILE

"$BIN" serve --interval 1 --knob "refresh-delay-ms=$DELAY" >"$WORK/issuer" 2>"$WORK/serve.log" &
SERVE=$!
trap 'kill $SERVE 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do [ -s "$WORK/issuer" ] && break; sleep 0.05; done
ISSUER="$(head -1 "$WORK/issuer")"

login() {
  local out="$WORK/login.out"
  : >"$out"
  "$BIN" login --issuer "$ISSUER" --client-id tvlogin-demo \
    --scope "openid offline_access" --json >"$out" 2>"$WORK/login.err" &
  local pid=$!
  local code=""
  for _ in $(seq 200); do
    code="$(jq -r 'select(.event=="device_authorization") | .user_code' "$out" 2>/dev/null | head -1)"
    [ -n "$code" ] && break
    sleep 0.05
  done
  curl -s -o /dev/null --data-urlencode "user_code=$code" -d action=approve "$ISSUER/device"
  wait "$pid"
}

now_ms() { date +%s%3N; }

login
# The window, measured on unkilled refreshes.
WINDOWS=()
ANSWERS=()
for _ in $(seq 20); do
  TVLOGIN_TRACE_REFRESH=1 "$BIN" refresh 2>"$WORK/trace" >/dev/null
  s=$(awk '/refresh sending/{print $5}' "$WORK/trace")
  a=$(awk '/refresh answered/{print $5}' "$WORK/trace")
  w=$(awk '/refresh stored/{print $5}' "$WORK/trace")
  ANSWERS+=($((a - s)))
  WINDOWS+=($((w - a)))
done
sorted() { printf '%s\n' "$@" | sort -n | tr '\n' ' '; }
echo "request sent -> answer (ms, 20 refreshes): $(sorted "${ANSWERS[@]}")"
echo "answer -> new refresh token durably stored (ms): $(sorted "${WINDOWS[@]}")"

# Typical duration of a whole `tvlogin refresh`, to spread the kills over it.
t0=$(now_ms); "$BIN" refresh 2>/dev/null; t1=$(now_ms)
SPAN=$(( (t1 - t0) + DELAY ))
echo "one refresh takes about ${SPAN} ms; killing at random moments within it"

lost=0; lost_in_window=0; lost_outside=0; killed_in_window=0
for round in $(seq "$ROUNDS"); do
  TVLOGIN_TRACE_REFRESH=1 "$BIN" refresh >/dev/null 2>"$WORK/kill.trace" &
  pid=$!
  at=$(( RANDOM % (SPAN + 1) ))
  sleep "$(printf '0.%03d' "$at")"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  stages="$(awk '/trace: refresh/{print $4}' "$WORK/kill.trace" | tr '\n' ',')"
  in_window=no
  if [[ "$stages" == *sending* && "$stages" != *stored* ]]; then
    in_window=yes; killed_in_window=$((killed_in_window + 1))
  fi
  set +e
  "$BIN" refresh >/dev/null 2>"$WORK/check.err"
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    lost=$((lost + 1))
    if [ "$in_window" = yes ]; then lost_in_window=$((lost_in_window + 1)); else
      lost_outside=$((lost_outside + 1))
      echo "round $round: LOST outside the window (stages: ${stages:-none}, exit $rc): $(cat "$WORK/check.err")"
    fi
    login
  fi
done
echo "rounds: $ROUNDS  kills inside the window (sent, not yet stored): $killed_in_window"
echo "sessions lost: $lost  (inside the window: $lost_in_window, outside: $lost_outside)"
[ "$lost_outside" -eq 0 ]
