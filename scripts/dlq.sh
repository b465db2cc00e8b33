#!/usr/bin/env bash
# `make dlq ARGS="..."`: the DLQ replayer pointed at the local stack of `make dev` (moto on
# 127.0.0.1:$MOTO_PORT, default 4566). Any OTP_* or AWS_* variable set beforehand wins, so the
# same command reaches another stack: OTP_QUEUE_URL=... AWS_PROFILE=... make dlq ARGS=status
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

MOTO_PORT="${MOTO_PORT:-4566}"
if [ -z "${OTP_QUEUE_URL:-}" ]; then
  local_aws_env "$MOTO_PORT"
  port_in_use "$MOTO_PORT" || die "nothing listens on 127.0.0.1:$MOTO_PORT: start the local stack with \`make dev\` in another terminal"
  ensure_venv
  # The URL of the job queue `make dev` made (its DLQ comes from the queue's redrive policy).
  OTP_QUEUE_URL="$("$VENV/bin/python" -c 'import boto3, os, sys
sqs = boto3.client("sqs", region_name=os.environ["AWS_REGION"])
print(sqs.get_queue_url(QueueName=sys.argv[1])["QueueUrl"])' "${OTP_QUEUE_NAME:-otp-relay-jobs}")" \
    || die "the local stack has no job queue: is \`make dev\` running?"
  export OTP_QUEUE_URL
fi

cargo build --quiet --bin dlq-replayer
exec target/debug/dlq-replayer "$@"
