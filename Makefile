# Entry points; the scripts under scripts/ hold the logic.
.PHONY: dev test outbox dlq lint build bench

dev:      ## Start moto, the API on 127.0.0.1:3000 and the worker; Ctrl-C stops all
	@bash scripts/dev.sh

test:     ## Every test: unit tests and integration tests against a moto started here
	@bash scripts/test.sh

outbox:   ## What the local stack delivered (e-mail and SMS), newest first
	@bash -c 'source scripts/lib.sh && ensure_venv && "$$VENV/bin/python" scripts/outbox.py "$${AWS_ENDPOINT_URL:-http://127.0.0.1:$${MOTO_PORT:-4566}}"'

dlq:      ## The DLQ replayer against the `make dev` stack: make dlq ARGS="replay --execute"
	@bash scripts/dlq.sh $(ARGS)

lint:     ## Formatting and clippy, as CI runs them
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

build:
	cargo build --workspace --bins

bench:    ## Benchmarks (docs/benchmarks.md): request-path isolation against a local moto
	@bash scripts/bench.sh
