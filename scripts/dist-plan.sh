#!/usr/bin/env bash
# Checks the release configuration (dist-workspace.toml, [profile.dist]) with cargo-dist's
# planner, installing cargo-dist first if needed (a few minutes of compiling, once).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v dist >/dev/null 2>&1; then
  cargo install cargo-dist --locked --version 0.34.0
fi
dist plan "$@"
