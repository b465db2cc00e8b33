#!/usr/bin/env bash
# `make bench`: benchmarks against a moto of their own on a free port, optimised build.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv
mkdir -p .dev
cargo build --profile perf -p tests --bin bench-request-path --locked
port="$(free_port)"
start_moto "$port" .dev/moto-bench.log
trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
export OTP_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
log "request-path isolation: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
target/perf/bench-request-path
