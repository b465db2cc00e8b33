#!/usr/bin/env bash
# `make admin ARGS="..."`: otp-admin pointed at the local stack of `make dev` (moto on
# 127.0.0.1:$MOTO_PORT, default 4566): its table, and its service secret (found in the local
# Secrets Manager, as the API finds it through OTP_SECRET_ARN). Any OTP_* or AWS_* variable set
# beforehand wins, so the same command reaches another stack:
#   OTP_TABLE_NAME=... OTP_SECRET_ARN=... AWS_PROFILE=... make admin ARGS="tenant list"
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

MOTO_PORT="${MOTO_PORT:-4566}"
stack="${OTP_STACK:-otp-relay}"
if [ -z "${OTP_TABLE_NAME:-}" ]; then
  local_aws_env "$MOTO_PORT"
  port_in_use "$MOTO_PORT" || die "nothing listens on 127.0.0.1:$MOTO_PORT: start the local stack with \`make dev\` in another terminal"
  export OTP_TABLE_NAME="$stack"
  if [ -z "${OTP_SECRET:-}" ] && [ -z "${OTP_SECRET_ARN:-}" ]; then
    ensure_venv
    # The stack's generated service secret (the template's ServiceSecret): the one the API uses.
    OTP_SECRET_ARN="$("$VENV/bin/python" -c 'import boto3, os, sys
sm = boto3.client("secretsmanager", region_name=os.environ["AWS_REGION"])
found = [s["ARN"] for s in sm.list_secrets(Filters=[{"Key": "name", "Values": [sys.argv[1] + "-"]}])["SecretList"]]
if not found:
    sys.exit(1)
print(found[0])' "$stack")" \
      || die "the local stack has no service secret: is \`make dev\` running?"
    export OTP_SECRET_ARN
  fi
fi

cargo build --quiet --bin otp-admin
exec target/debug/otp-admin "$@"
