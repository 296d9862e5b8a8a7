#!/usr/bin/env python3
"""Writes scripts/startup-order.txt: the functions the one-shot commands run, for the linker
to place side by side (build.rs passes the file to lld as --symbol-ordering-file).

It builds the release binary with a link map, runs `inspect` (JSON and plain, with a JWKS
file, the way scripts/bench-inspect.sh does) and `token` under callgrind, and names every
function entered from the map. Run it again after upgrading the compiler or dependencies or
changing the release profile: names carry hashes of those, and names the build no longer has
are skipped (the binary is then only less compact, never different in behaviour).

Needs: cargo, valgrind, openssl, python3.  Usage: scripts/startup-order.py
"""
import base64
import bisect
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "scripts", "startup-order.txt")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_token(work: str) -> None:
    """An RS256 key, its JWKS and a token signed with it (openssl signs)."""
    key = os.path.join(work, "priv.pem")
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
    modulus = subprocess.run(["openssl", "rsa", "-in", key, "-modulus", "-noout"],
                             check=True, capture_output=True, text=True).stdout
    n = bytes.fromhex(modulus.strip().split("=", 1)[1])
    jwks = {"keys": [{"kty": "RSA", "kid": "order", "alg": "RS256", "use": "sig",
                      "n": b64(n), "e": b64((65537).to_bytes(3, "big"))}]}
    with open(os.path.join(work, "jwks.json"), "w") as f:
        json.dump(jwks, f)
    header = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "order"}).encode())
    claims = b64(json.dumps({"iss": "https://idp.example", "sub": "user1", "aud": "api",
                             "exp": int(time.time()) + 3600, "iat": int(time.time()),
                             "scope": "openid profile", "name": "Ada"}).encode())
    signed = f"{header}.{claims}".encode()
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=signed,
                               check=True, capture_output=True).stdout
    with open(os.path.join(work, "token.txt"), "w") as f:
        f.write(f"{header}.{claims}.{b64(signature)}\n")


def sections(map_path: str):
    """(start, end, name) of every input section of code in the link map, by address."""
    line_re = re.compile(r"^\s*([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\d+\s+\S.*:\((\.text[^)]*)\)$")
    found = []
    with open(map_path) as f:
        for line in f:
            m = line_re.match(line)
            if not m:
                continue
            start, size = int(m.group(1), 16), int(m.group(2), 16)
            name = re.sub(r"^\.text(\.(unlikely|hot|startup|exit))?\.", "", m.group(3))
            if size and name and not name.startswith("."):
                found.append((start, start + size, name))
    found.sort()
    return found


def entered(callgrind_out: str):
    """Addresses of the functions a callgrind run entered (the binary is stripped, so
    callgrind names them by address)."""
    with open(callgrind_out) as f:
        return [int(m.group(1), 16) for m in re.finditer(r"^c?fn=\(\d+\)\s+0x([0-9a-f]+)",
                                                         f.read(), re.M)]


def main() -> int:
    with tempfile.TemporaryDirectory() as work:
        map_path = os.path.join(work, "tvlogin.map")
        env = dict(os.environ, TVLOGIN_LINK_MAP=map_path)
        subprocess.run(["cargo", "build", "--release", "--locked"], cwd=ROOT, env=env, check=True)
        binary = os.path.join(ROOT, "target", "release", "tvlogin")
        make_token(work)
        token = open(os.path.join(work, "token.txt"), "rb").read()
        jwks = os.path.join(work, "jwks.json")
        runs = [
            ["inspect", "--json", "--jwks", jwks, "-"],
            ["inspect", "--no-tui", "--jwks", jwks, "-"],
            ["token", "--profile", "startup-order"],
        ]
        run_env = dict(os.environ, TVLOGIN_CONFIG_DIR=os.path.join(work, "c"),
                       TVLOGIN_DATA_DIR=os.path.join(work, "d"))
        secs = sections(map_path)
        starts = [s[0] for s in secs]
        order, seen = [], set()
        for i, args in enumerate(runs):
            out = os.path.join(work, f"callgrind.{i}")
            subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                            binary, *args], input=token, env=run_env, capture_output=True)
            for address in entered(out):
                at = bisect.bisect_right(starts, address) - 1
                if at >= 0 and secs[at][0] <= address < secs[at][1] and secs[at][2] not in seen:
                    seen.add(secs[at][2])
                    order.append(secs[at][2])
    if len(order) < 100:
        print(f"only {len(order)} functions were named; is the link map empty?", file=sys.stderr)
        return 1
    with open(OUT, "w") as f:
        f.write("\n".join(order) + "\n")
    print(f"{OUT}: {len(order)} functions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
