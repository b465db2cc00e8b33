#!/usr/bin/env bash
# schemathesis against the real API binary over moto: requests generated from api/openapi.json
# (valid and invalid, and chains through its links), and every answer must be one the
# description allows (status, content type, headers, body), never a 5xx; a request the
# description calls invalid must be refused; every undocumented method gets a 405 with the
# right `Allow`. (Not checked: that every valid request succeeds. A wrong code is valid JSON and
# rightly refused.) `make test` runs it after the Rust suite on its moto;
# run alone it starts a moto of its own. Bounded: SCHEMATHESIS_MAX_EXAMPLES cases per operation
# and phase (default 60), SCHEMATHESIS_SEED to replay a run; any arguments are passed on to
# `schemathesis run` (e.g. `--include-path /v1/otp/send --mode positive --report har`).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_venv
mkdir -p .dev

if [ -n "${OTP_TEST_AWS_ENDPOINT:-}" ]; then
  # Under `make test`, which built the binaries and started moto.
  moto_port="${OTP_TEST_AWS_ENDPOINT##*:}"
else
  cargo build --bin api --bin provision --bin otp-admin --locked
  moto_port="$(free_port)"
  start_moto "$moto_port" .dev/moto-schemathesis.log
  own_moto=$MOTO_PID
fi

api_pid=
cleanup() {
  [ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
  [ -n "${own_moto:-}" ] && kill "$own_moto" 2>/dev/null
  true
}
trap cleanup EXIT

# A stack of its own in the moto, so nothing else running there is disturbed.
local_aws_env "$moto_port"
provision_local_stack "otp-schemathesis-$RANDOM$RANDOM"
# The run calls as tenant `dev`'s backend does: with its server key (which may call everything).
create_local_tenant .dev/keys-schemathesis.env dev
# shellcheck disable=SC1091
source .dev/keys-schemathesis.env

# Limits as high as the settings allow: the run sends hundreds of codes from one IP, often to
# the same few destinations. 429 and 503 are documented, so they would conform anyway; high
# limits let the run reach the answers behind them.
api_port="$(free_port)"
export OTP_HTTP_ADDR="127.0.0.1:$api_port"
export OTP_RESEND_COOLDOWN_SECONDS=0
export OTP_MAX_SENDS_PER_HOUR=1000
export OTP_MAX_SENDS_PER_OTP=100
export OTP_MAX_SENDS_PER_IP_PER_HOUR=100000
export RUST_LOG="${RUST_LOG:-warn}"
target/debug/api >.dev/api-schemathesis.log 2>&1 &
api_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://$OTP_HTTP_ADDR/health" >/dev/null 2>&1 && break
  kill -0 "$api_pid" 2>/dev/null || die "the API exited; see .dev/api-schemathesis.log"
  sleep 0.1
done

seed="${SCHEMATHESIS_SEED:-$RANDOM$RANDOM}"
log "schemathesis against the API on $OTP_HTTP_ADDR (seed $seed; the API log is .dev/api-schemathesis.log)"
status=0
"$VENV/bin/schemathesis" run "http://$OTP_HTTP_ADDR/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection,unsupported_method,allow_header_conformance \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-60}" \
  --seed "$seed" \
  --workers 2 \
  --request-timeout 10 \
  --generation-database none \
  --suppress-health-check all \
  --no-color \
  --report junit --report-dir .dev/schemathesis \
  --header "Authorization: Bearer $OTP_DEV_SERVER_KEY" \
  "$@" || status=$?

# A panic is a bug even when the connection it dropped did not fail a check.
if grep -q "panicked" .dev/api-schemathesis.log; then
  grep -m5 -A5 "panicked" .dev/api-schemathesis.log >&2
  die "the API panicked during the schemathesis run"
fi
[ "$status" -eq 0 ] || die "schemathesis found answers that break api/openapi.json (seed $seed; replay with SCHEMATHESIS_SEED=$seed bash scripts/schemathesis.sh)"
log "schemathesis: clean"
