# Shared helpers for the scripts: sourced, not run.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Creates the project-local venv (moto, boto3, schemathesis, cfn-lint) the first time, or when
# the pins change.
ensure_venv() {
  local stamp="$VENV/.requirements"
  if [ -x "$VENV/bin/moto_server" ] && cmp -s "$ROOT/scripts/requirements-dev.txt" "$stamp"; then
    return
  fi
  command -v python3 >/dev/null || die "python3 is needed for the local AWS emulator (apt-get install python3 python3-venv)"
  log "installing moto, schemathesis and cfn-lint into $VENV (first run, or when the pins change)"
  python3 -m venv "$VENV" || die "could not create a venv: apt-get install python3-venv"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements-dev.txt"
  cp "$ROOT/scripts/requirements-dev.txt" "$stamp"
}

# cargo-lambda and zig, for `make package` only (large downloads nothing else needs).
ensure_packaging_tools() {
  local stamp="$VENV/.requirements-package"
  if [ -x "$VENV/bin/cargo-lambda" ] && cmp -s "$ROOT/scripts/requirements-package.txt" "$stamp"; then
    return
  fi
  log "installing cargo-lambda and zig into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/scripts/requirements-package.txt"
  cp "$ROOT/scripts/requirements-package.txt" "$stamp"
}

# A TCP port nobody listens on right now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_in_use() {
  python3 -c 'import socket,sys; s=socket.socket(); sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}

# start_moto PORT LOGFILE: starts moto (scripts/moto_server.py) in the background, waits until it
# answers.
start_moto() {
  local port=$1 logfile=$2
  "$VENV/bin/python" "$ROOT/scripts/moto_server.py" -H 127.0.0.1 -p "$port" >"$logfile" 2>&1 &
  MOTO_PID=$!
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1; then return; fi
    kill -0 "$MOTO_PID" 2>/dev/null || die "moto_server exited; see $logfile"
    sleep 0.1
  done
  die "moto_server did not answer on port $port within 10 s; see $logfile"
}

# Local AWS defaults; anything already set in the environment wins.
local_aws_env() {
  export AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:$1}"
  export AWS_REGION="${AWS_REGION:-us-east-1}"
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
  export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
}

# Creates the local stack named $1 from infra/template.yaml in the moto that AWS_ENDPOINT_URL
# points at (target/debug/provision must be built), and exports the environment the template
# gives the functions (OTP_TABLE_NAME, OTP_QUEUE_URL, OTP_SECRET_ARN, every setting), the stack's
# outputs as STACK_*, and OTP_DLQ_URL. The one way any script provisions the local stack.
provision_local_stack() {
  local provisioned
  provisioned="$("$ROOT/target/debug/provision" "$1")" || die "could not create the local stack from infra/template.yaml; see above"
  eval "$provisioned"
  export OTP_DLQ_URL="${STACK_DeadLetterQueueUrl:-}"
}

# Creates tenant $2 (e-mail and SMS, texting GB, US and CA; origins http://127.0.0.1:3000 and
# http://localhost:3000; the per-IP limit at its maximum, so a schemathesis run or a morning of
# clicking does not lock 127.0.0.1 out) with one server key and one publishable key, in the
# stack the environment points at (target/debug/otp-admin must be built), and writes the keys to $1 as
# OTP_DEV_SERVER_KEY=... and OTP_DEV_PUBLISHABLE_KEY=... lines (mode 600). The one way any
# script makes a tenant to call the API with.
create_local_tenant() {
  local file="$1" tenant="$2" admin="$ROOT/target/debug/otp-admin" server publishable
  "$admin" tenant create "$tenant" --name "Local development" --channels email,sms \
    --sms-countries GB,US,CA --origin http://127.0.0.1:3000 --origin http://localhost:3000 \
    --sends-per-ip-per-hour 100000 >/dev/null || die "could not create tenant $tenant"
  server="$("$admin" key create "$tenant" --kind server --label "local server key" --json \
    | "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["key"])')" \
    || die "could not create a server key for $tenant"
  publishable="$("$admin" key create "$tenant" --kind publishable --label "local browser key" --json \
    | "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["key"])')" \
    || die "could not create a publishable key for $tenant"
  (umask 077 && printf 'OTP_DEV_SERVER_KEY=%s\nOTP_DEV_PUBLISHABLE_KEY=%s\n' "$server" "$publishable" >"$file")
}
