#!/usr/bin/env bash
# `make package`: the two Lambda bootstraps that infra/template.yaml deploys, built with
# `cargo lambda build --release` and zipped: target/lambda/api/bootstrap.zip and
# target/lambda/worker/bootstrap.zip. x86_64 by default; `make package ARCH=arm64` builds for
# Graviton on a machine with that Rust target (`rustup target add aarch64-unknown-linux-gnu`),
# deployed with `--parameter-overrides Architecture=arm64`. cargo-lambda and zig come from
# PyPI into the project's .venv.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ARCH="${ARCH:-x86_64}"
case "$ARCH" in
  x86_64) flag=--x86-64; target=x86_64-unknown-linux-gnu ;;
  arm64) flag=--arm64; target=aarch64-unknown-linux-gnu ;;
  *) die "ARCH must be x86_64 or arm64, not $ARCH" ;;
esac
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$target"; then
  die "the Rust target $target is not installed: rustup target add $target"
fi

ensure_venv
ensure_packaging_tools
# cargo-lambda finds zig through the venv's python (the ziglang package).
export PATH="$VENV/bin:$PATH"

log "building the Lambda bootstraps for $ARCH (release; several minutes on 2 cores)"
started=$(date +%s)
cargo lambda build --release "$flag" --output-format zip --bin api --bin worker --locked
elapsed=$(( $(date +%s) - started ))

for bin in api worker; do
  zip="target/lambda/$bin/bootstrap.zip"
  [ -s "$zip" ] || die "$zip was not built"
  # Lambda runs `bootstrap` from the zip as it is: it must be there, alone, and executable.
  "$VENV/bin/python" - "$zip" <<'PY' || die "$zip is not a Lambda custom-runtime package"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    entries = z.infolist()
    names = [e.filename for e in entries]
    assert names == ["bootstrap"], f"expected only bootstrap, found {names}"
    mode = entries[0].external_attr >> 16
    assert mode & 0o111, f"bootstrap is not executable (mode {oct(mode)})"
    assert z.read("bootstrap")[:4] == b"\x7fELF", "bootstrap is not an ELF binary"
PY
  log "$zip: $(du -h "$zip" | cut -f1)"
done
log "packaged in ${elapsed}s"
