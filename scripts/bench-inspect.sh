#!/usr/bin/env bash
# `tvlogin inspect --json` against jwt-cli's `jwt decode` on the same RS256 token, RUNS runs
# each (default 150), interleaved, medians side by side, and the ratio the project bounds
# (tvlogin's verifying inspect over jwt-cli's verifying decode: at most 1.1 with portable
# builds), with a bootstrap interval. A fresh key, JWKS and token are made each run (openssl
# and jwt-cli), so the token never expires between runs. Each row also shows the median page
# faults of one run: where start-up time goes that the instructions run do not show.
# With ALONE=1 a fifth row runs tvlogin's own inspect path linked on its own: a program that
# calls what `main` calls before any runtime (`cli::parse`, `run_without_runtime`), built
# with the release profile and the environment's RUSTFLAGS into the binary's own target
# folder (so `RUSTFLAGS=... ALONE=1 scripts/bench-inspect.sh target/gnu-ld/release/tvlogin`
# links both alike). What separates it from the tvlogin row is what the rest of the one
# binary (every other command) costs at start-up.
# Needs: openssl, python3, jwt-cli (installed into target/bench-tools when missing).
# Usage: [RUNS=N] [COPIES=K] [ALONE=1] scripts/bench-inspect.sh [BINARY]
#        (default target/release/tvlogin)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/tvlogin}")
tools=$PWD/target/bench-tools
jwt=$(command -v jwt || true)
if [ -z "$jwt" ]; then
  jwt=$tools/bin/jwt
  [ -x "$jwt" ] || cargo install jwt-cli --locked --root "$tools"
fi
alone=
if [ "${ALONE:-}" = 1 ]; then
  # The profile is the root package's release profile, copied: the same settings give the
  # same code for the same functions, and let cargo reuse what target/release already built.
  probe=$PWD/target/bench-inspect-alone
  mkdir -p "$probe/src"
  {
    printf '[package]\nname = "inspect-alone"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n[workspace]\n\n'
    printf '[dependencies]\ntvlogin = { path = "%s" }\n\n' "$PWD"
    sed -n '/^\[profile\.release\]/,/^\[profile\.dist\]/p' Cargo.toml | sed '$d' | grep -v '^#'
  } > "$probe/Cargo.toml"
  cat > "$probe/src/main.rs" <<'RS'
//! tvlogin's runtime-free inspect, linked alone (scripts/bench-inspect.sh ALONE=1).
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = tvlogin::cli::parse();
    match tvlogin::run_without_runtime(&cli) {
        Some(Ok(exit)) => exit.into(),
        Some(Err(error)) => {
            tvlogin::report_error(&error);
            error.exit().into()
        }
        None => {
            eprintln!("inspect-alone: these flags need the runtime");
            ExitCode::from(70)
        }
    }
}
RS
  # The lock file gains only the probe itself: every dependency stays at the version tvlogin
  # is locked to, and nothing is fetched.
  cp Cargo.lock "$probe/Cargo.lock"
  case $bin in
    */release/tvlogin) target_dir=${bin%/release/tvlogin} ;;
    *) target_dir=$PWD/target ;;
  esac
  CARGO_TARGET_DIR=$target_dir cargo build --quiet --release --offline \
    --manifest-path "$probe/Cargo.toml"
  alone=$target_dir/release/inspect-alone
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Both programs run as copies in one folder, COPIES (default 4) of each, taken in turn. A
# file straight from the linker starts measurably slower than a copy of the same bytes (about
# 0.2 ms of 1.6 was seen here), and even two copies of one binary differ by up to 5% (how the
# page cache holds each file: this kernel keeps file pages in large folios whose sizes depend
# on how the file was written or read, and one fault maps a whole folio); jwt-cli was copied
# into place by cargo install. Several copies
# of each compare the programs, not how their files happen to sit in memory.
copies=${COPIES:-4}
for k in $(seq "$copies"); do
  cp "$bin" "$work/tvlogin.$k"
  cp "$jwt" "$work/jwt.$k"
  [ -z "$alone" ] || cp "$alone" "$work/alone.$k"
done
jwt=$work/jwt.1
openssl genrsa -out "$work/priv.pem" 2048 2>/dev/null
openssl rsa -in "$work/priv.pem" -pubout -out "$work/pub.pem" 2>/dev/null
modulus=$(openssl rsa -in "$work/priv.pem" -modulus -noout | cut -d= -f2)
python3 - "$modulus" > "$work/jwks.json" <<'PY'
import base64, json, sys
n = bytes.fromhex(sys.argv[1])
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
print(json.dumps({"keys": [{"kty": "RSA", "kid": "bench", "alg": "RS256", "use": "sig",
                            "n": b64(n), "e": b64((65537).to_bytes(3, "big"))}]}))
PY
"$jwt" encode --alg RS256 --kid bench --secret "@$work/priv.pem" --exp="$(( $(date +%s) + 3600 ))" \
  --iss https://idp.example --sub user1 --aud api -P scope="openid profile" -P name=Ada \
  > "$work/token.txt"
python3 - "$work" "${RUNS:-150}" "$copies" <<'PY'
import os, random, resource, statistics, subprocess, sys, time
work, rounds, copies = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
alone = os.path.exists(f"{work}/alone.1")
env = dict(os.environ, TVLOGIN_CONFIG_DIR=f"{work}/c", TVLOGIN_DATA_DIR=f"{work}/d")
token = open(f"{work}/token.txt", "rb").read().strip()
def runs(k):
    tv, jwt = f"{work}/tvlogin.{k}", f"{work}/jwt.{k}"
    return {
        "tvlogin --version (start-up only)": [tv, "--version"],
        "tvlogin inspect --json --jwks FILE (decode + verify)":
            [tv, "inspect", "--json", "--jwks", f"{work}/jwks.json", "-"],
        "jwt decode --json (decode only)": [jwt, "decode", "--json", "-"],
        "jwt decode --json --alg RS256 --secret @pub.pem (decode + verify)":
            [jwt, "decode", "--json", "--alg", "RS256", "--secret", f"@{work}/pub.pem", "-"],
    } | ({
        "tvlogin's inspect path linked alone (ALONE=1)":
            [f"{work}/alone.{k}", "inspect", "--json", "--jwks", f"{work}/jwks.json", "-"],
    } if alone else {})
times = {name: [] for name in runs(1)}
faults = {name: [] for name in runs(1)}
for k in range(1, copies + 1):  # warm the page cache
    for name, cmd in runs(k).items():
        r = subprocess.run(cmd, input=token, capture_output=True, env=env)
        assert r.returncode == 0, (name, r.returncode, r.stdout[:300], r.stderr[:300])
# Each round runs the four in a fresh random order (seeded, so reruns match): whichever runs
# right after another program starts measurably slower, and a fixed order would charge that
# to the same one every time.
shuffle = random.Random(8628)
for round in range(rounds):
    order = list(runs(round % copies + 1).items())
    shuffle.shuffle(order)
    for name, cmd in order:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
        t = time.perf_counter()
        r = subprocess.run(cmd, input=token, capture_output=True, env=env)
        times[name].append((time.perf_counter() - t) * 1000)
        faults[name].append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt - before)
        assert r.returncode == 0, (name, r.returncode, r.stderr[:300])
verify = "jwt decode --json --alg RS256 --secret @pub.pem (decode + verify)"
base = statistics.median(times[verify])
print(f"{rounds} interleaved runs each, in random order, over {copies} copies of each binary;")
print("x = median / median of jwt-cli's verifying decode")
for name, v in times.items():
    m = statistics.median(v)
    print(f"{name:66s} median {m:6.2f} ms  min {min(v):6.2f}  max {max(v):6.2f}  x{m / base:4.2f}"
          f"  faults {statistics.median(faults[name]):4.0f}")
inspect = times["tvlogin inspect --json --jwks FILE (decode + verify)"]
ours = statistics.median(inspect)
# Reruns of one binary differ by about 0.01 here: a bootstrap of the runs (seeded) shows how
# far this one ratio can be trusted, so a verdict against the target reads the interval.
boot = random.Random(7638)
ratios = sorted(
    statistics.median(boot.choices(inspect, k=len(inspect)))
    / statistics.median(boot.choices(times[verify], k=len(times[verify])))
    for _ in range(2000)
)
low, high = ratios[50], ratios[1949]
print(f"ratio tvlogin inspect / jwt-cli verify: {ours / base:.3f} "
      f"(95% interval {low:.3f}-{high:.3f}; target <= 1.1)")
PY
