#!/usr/bin/env bash
# `make fuzz`: the proptest fuzz targets (tests/tests/api/fuzz/), each for FUZZ_SECONDS
# (default 30), two at a time: about 2 minutes for the seven targets on 2 cores. A failure
# prints the shrunk input and saves its seed under tests/tests/proptest-regressions/: commit
# that file and add a named test to fuzz/regressions.rs. The plain test run (`make test`) runs
# the same targets with a few hundred cases each.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
export FUZZ_SECONDS="${FUZZ_SECONDS:-30}"
log "fuzzing: ${FUZZ_SECONDS}s per target"
cargo test -p tests --test api --locked -- fuzz:: --skip fuzz::regressions --test-threads=2 --nocapture
