#!/usr/bin/env bash
# `make dev`: the whole system on this machine. moto on 127.0.0.1:4566 as the local AWS; in it
# the stack of infra/template.yaml that has a local counterpart (table, job queue and DLQ with
# the redrive policy, the generated service secret, the alarm topic and queue alarms) plus a
# verified SES identity for the sender; the API on 127.0.0.1:3000 and a polling worker, with the
# environment the template gives the Lambda functions. Ctrl-C stops everything. OTP_* variables
# set beforehand override the template's parameters; AWS_* variables are passed through.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

MOTO_PORT="${MOTO_PORT:-4566}"
export OTP_HTTP_ADDR="${OTP_HTTP_ADDR:-127.0.0.1:3000}"
export OTP_EMAIL_FROM="${OTP_EMAIL_FROM:-no-reply@otp-relay.local}"
export OTP_BRAND_NAME="${OTP_BRAND_NAME:-OTP Relay}"
export RUST_LOG="${RUST_LOG:-info}"

ensure_venv
local_aws_env "$MOTO_PORT"
mkdir -p .dev

log "building the API, the worker and the provisioner"
cargo build --quiet --bin api --bin worker --bin provision --bin otp-admin

port_in_use "$MOTO_PORT" && die "port $MOTO_PORT is in use: stop what runs there, or set MOTO_PORT"
api_port="${OTP_HTTP_ADDR##*:}"
port_in_use "$api_port" && die "port $api_port is in use: stop what runs there, or set OTP_HTTP_ADDR"

pids=()
cleanup() {
  trap - INT TERM EXIT
  log "stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

log "starting the local AWS (moto) on 127.0.0.1:$MOTO_PORT; its log is .dev/moto.log"
start_moto "$MOTO_PORT" .dev/moto.log
pids+=("$MOTO_PID")

user_secret="${OTP_SECRET:-}"
provision_local_stack otp-relay
# An OTP_SECRET given by hand wins over the stack's generated secret.
[ -z "$user_secret" ] || unset OTP_SECRET_ARN
log "local stack from infra/template.yaml: table $OTP_TABLE_NAME, queue $OTP_QUEUE_URL, DLQ $STACK_DeadLetterQueueUrl"
# Every /v1 call needs a key: tenant `dev` and its two keys, in .dev/keys.env.
create_local_tenant .dev/keys.env dev
# shellcheck disable=SC1091
source .dev/keys.env

target/debug/api &
pids+=($!)
target/debug/worker &
pids+=($!)

for _ in $(seq 1 50); do curl -fsS "http://$OTP_HTTP_ADDR/health" >/dev/null 2>&1 && break; sleep 0.1; done

cat <<TXT

otp-relay is running: API http://$OTP_HTTP_ADDR, local AWS $AWS_ENDPOINT_URL, queue $OTP_QUEUE_URL

tenant dev, keys in .dev/keys.env:
  OTP_DEV_SERVER_KEY=$OTP_DEV_SERVER_KEY
  OTP_DEV_PUBLISHABLE_KEY=$OTP_DEV_PUBLISHABLE_KEY

  source .dev/keys.env
  curl -s -X POST http://$OTP_HTTP_ADDR/v1/otp/send -H "authorization: Bearer \$OTP_DEV_SERVER_KEY" \\
       -H 'content-type: application/json' -d '{"channel":"email","destination":"jane@example.com"}'
  curl -s -X POST http://$OTP_HTTP_ADDR/v1/otp/send -H "authorization: Bearer \$OTP_DEV_SERVER_KEY" \\
       -H 'content-type: application/json' -d '{"channel":"sms","destination":"+447400123456"}'
  make outbox                                   # read the delivered codes
  curl -s http://$OTP_HTTP_ADDR/v1/otp/<otp_id> -H "authorization: Bearer \$OTP_DEV_SERVER_KEY"
  curl -s -X POST http://$OTP_HTTP_ADDR/v1/otp/verify -H "authorization: Bearer \$OTP_DEV_SERVER_KEY" \\
       -H 'content-type: application/json' -d '{"otp_id":"<otp_id>","code":"<code>"}'

Ctrl-C stops everything.
TXT

# Stop everything as soon as any one part exits (or on Ctrl-C, through the trap).
wait -n "${pids[@]}" || true
log "a process exited; shutting the rest down"
