#!/usr/bin/env bash
# `make test`: every test. Unit tests need nothing; the integration tests get a moto of their
# own on a free port (never the one `make dev` may be using), stopped when the run ends.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_venv
mkdir -p .dev

log "cfn-lint infra/template.yaml (errors and warnings both fail)"
"$VENV/bin/cfn-lint" infra/template.yaml
log "cfn-lint: no errors, no warnings"

log "moto_server.py: each patch refuses a moto it no longer fits"
"$VENV/bin/python" -m unittest "scripts/test_moto_server.py"

log "building (the secrecy and Runtime API tests run the api and worker binaries)"
cargo build --workspace --bins --tests --locked

port="$(free_port)"
log "starting moto for the tests on 127.0.0.1:$port; its log is .dev/moto-test.log"
start_moto "$port" .dev/moto-test.log
trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT

export OTP_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
if [ $# -gt 0 ]; then
  cargo test --workspace --locked "$@"
  exit
fi
cargo test --workspace --locked -- --skip heavy::
log "schemathesis: generated requests against the API binary, checked against api/openapi.json"
bash scripts/schemathesis.sh
log "heavy tests, one at a time"
# --workspace, as above: `-p tests` alone would resolve features differently and rebuild the SDK.
cargo test --workspace --locked -- heavy:: --test-threads=1
