#!/usr/bin/env bash
# `make bench`: the benchmarks of docs/benchmarks.md, optimised build. The ones that need AWS get
# a moto of their own on a free port. `make bench BENCH=handlers` (or request-path, coldstart,
# drain) runs one.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_venv
mkdir -p .dev
which="${BENCH:-request-path handlers coldstart drain}"
cargo build --profile perf -p tests -p api -p worker --bins --locked
log "$(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

if [[ " $which " == *" handlers "* ]]; then
  if ! command -v wrk >/dev/null; then
    log "installing wrk (Debian)"
    if [ "$(id -u)" = 0 ]; then apt-get install -y wrk; else sudo apt-get install -y wrk; fi
  fi
  log "handler throughput: the router with in-memory backends, wrk over loopback"
  target/perf/bench-handlers
fi

if [[ " $which " =~ " "(request-path|coldstart|drain)" " ]]; then
  port="$(free_port)"
  start_moto "$port" .dev/moto-bench.log
  trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
  export OTP_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
  if [[ " $which " == *" request-path "* ]]; then
    log "request-path isolation: SES healthy vs every SES call throttled"
    target/perf/bench-request-path
  fi
  if [[ " $which " == *" coldstart "* ]]; then
    log "cold start and memory: each Lambda bootstrap from exec to its first answered invocation"
    target/perf/bench-coldstart
  fi
  if [[ " $which " == *" drain "* ]]; then
    # SES on a moto of its own, as it has its own capacity in AWS (see tests/src/drain.rs).
    ses_port="$(free_port)"
    moto_pid="$MOTO_PID"
    start_moto "$ses_port" .dev/moto-bench-ses.log
    trap 'kill "$moto_pid" "$MOTO_PID" 2>/dev/null || true' EXIT
    log "worker drain: one polling worker vs raw SendEmail, SES on its own moto"
    OTP_TEST_SES_ENDPOINT="http://127.0.0.1:$ses_port" target/perf/bench-drain
    if [ -n "${BENCH_DRAIN_SHARED:-}" ]; then
      log "worker drain: the same with SES on the one moto"
      target/perf/bench-drain
    fi
  fi
fi
