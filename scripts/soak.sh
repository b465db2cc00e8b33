#!/usr/bin/env bash
# `make soak`: the real api and worker binaries (optimised build) against a moto of their own for
# SOAK_SECONDS (default 600), with provider failures and a worker restart. Exits non-zero on any
# 5xx or lost job. Results and the command go into docs/benchmarks.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv
mkdir -p .dev
cargo build --profile perf -p tests -p api -p worker --bins --locked
port="$(free_port)"
start_moto "$port" .dev/moto-soak.log
trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
export OTP_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
log "soak: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
target/perf/soak
