#!/usr/bin/env bash
# `tvlogin serve` under abuse: how long a 200k-field (1.9 MB) form takes to be answered, how
# fast discovery answers while 4 such forms and 200 slow-header connections are open, and how
# long the slow-header connections stay open (given up on after 30 s).
# Needs: python3. Usage: scripts/bench-serve-abuse.sh [BINARY]   (default target/release/tvlogin)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/tvlogin}")
work=$(mktemp -d)
"$bin" serve --port 0 > "$work/issuer" 2> "$work/log" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do [ -s "$work/issuer" ] && break; sleep 0.1; done
python3 - "$(head -1 "$work/issuer")" <<'PY'
import socket, statistics, sys, threading, time, urllib.parse
issuer = sys.argv[1]
u = urllib.parse.urlparse(issuer)
addr = (u.hostname, u.port)
form = "&".join(f"f{i}=1" for i in range(200_000)).encode()

def post(body):
    """Sends the form from a thread and returns the status once the answer starts."""
    s = socket.create_connection(addr)
    s.sendall(b"POST /device_authorization HTTP/1.1\r\nhost: x\r\ncontent-type: "
              b"application/x-www-form-urlencoded\r\ncontent-length: %d\r\nconnection: close\r\n\r\n" % len(body))
    def send():
        try:
            s.sendall(body)
        except OSError:
            pass
    threading.Thread(target=send, daemon=True).start()
    s.settimeout(120)
    try:
        data = s.recv(65536)
    except OSError:
        data = b""
    s.close()
    return data.split(b" ", 2)[1].decode() if data else "closed"

def discovery_ms():
    t = time.perf_counter()
    s = socket.create_connection(addr)
    s.sendall(b"GET /.well-known/openid-configuration HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    while s.recv(65536):
        pass
    return (time.perf_counter() - t) * 1000

t = time.perf_counter()
status = post(form)
print(f"200k-field form: HTTP {status} in {(time.perf_counter() - t) * 1000:.1f} ms")
slow = []
for _ in range(200):
    s = socket.create_connection(addr)
    s.sendall(b"GET /jwks HTTP/1.1\r\nhost: x\r\nx-slow: ")
    slow.append(s)
threads = [threading.Thread(target=post, args=(form,)) for _ in range(4)]
for th in threads:
    th.start()
lat = [discovery_ms() for _ in range(50)]
for th in threads:
    th.join()
print(f"discovery during abuse: median {statistics.median(lat):.2f} ms, max {max(lat):.2f} ms (50 requests)")
t = time.perf_counter()
still_open = 0
for s in slow:
    s.settimeout(max(0.1, 30 - (time.perf_counter() - t)))
    try:
        while s.recv(4096):
            pass
    except socket.timeout:
        still_open += 1
    except OSError:
        pass
print(f"slow-header connections: {200 - still_open} closed by the server, {still_open} still open "
      f"after {time.perf_counter() - t:.1f} s")
PY
