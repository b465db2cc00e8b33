#!/usr/bin/env bash
# `make package-test`: the Runtime API tests (tests/tests/api/lambda_runtime.rs) on the packaged
# bootstraps, unzipped as Lambda unzips them, against a moto started here. Runs `make package`
# first when the zips are missing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_venv
mkdir -p .dev
for bin in api worker; do
  [ -s "target/lambda/$bin/bootstrap.zip" ] || bash scripts/package.sh
done
run_dir="$ROOT/target/lambda-run"
rm -rf "$run_dir"
for bin in api worker; do
  # Unzipped with the modes stored in the zip: a bootstrap that is not executable fails here
  # as it would in Lambda.
  "$VENV/bin/python" - "target/lambda/$bin/bootstrap.zip" "$run_dir/$bin" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for entry in z.infolist():
        path = z.extract(entry, sys.argv[2])
        os.chmod(path, entry.external_attr >> 16)
PY
done

log "building the test binary"
cargo build -p tests --tests --locked
port="$(free_port)"
log "starting moto on 127.0.0.1:$port; its log is .dev/moto-package-test.log"
start_moto "$port" .dev/moto-package-test.log
trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
export OTP_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
OTP_TEST_LAMBDA_DIR="$run_dir" cargo test -p tests --test api --locked -- lambda_runtime::
