# Entry points; the scripts under scripts/ hold the logic.
.PHONY: dev test outbox dlq admin lint build bench soak fuzz schemathesis package package-test

dev:      ## Start moto, the API on 127.0.0.1:3000 and the worker; Ctrl-C stops all
	@bash scripts/dev.sh

test:     ## Every test: unit tests and integration tests against a moto started here
	@bash scripts/test.sh

package:  ## The Lambda bootstrap zips for infra/template.yaml (ARCH=arm64 for Graviton)
	@bash scripts/package.sh

package-test: ## The Runtime API tests on the packaged bootstraps
	@bash scripts/package-test.sh

outbox:   ## What the local stack delivered (e-mail and SMS), newest first
	@bash -c 'source scripts/lib.sh && ensure_venv && "$$VENV/bin/python" scripts/outbox.py "$${AWS_ENDPOINT_URL:-http://127.0.0.1:$${MOTO_PORT:-4566}}"'

dlq:      ## The DLQ replayer against the `make dev` stack: make dlq ARGS="replay --execute"
	@bash scripts/dlq.sh $(ARGS)

admin:    ## Tenants and API keys on the `make dev` stack: make admin ARGS="tenant list"
	@bash scripts/admin.sh $(ARGS)

lint:     ## Formatting and clippy, as CI runs them
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

build:
	cargo build --workspace --bins

fuzz:     ## Fuzz the request-body and job-body parsers (proptest), FUZZ_SECONDS per target (default 30)
	@bash scripts/fuzz.sh

schemathesis: ## schemathesis against the API binary over a moto of its own (also part of `make test`)
	@bash scripts/schemathesis.sh

bench:    ## Benchmarks (docs/benchmarks.md): request-path isolation, handler throughput, cold start, worker drain
	@bash scripts/bench.sh

soak:     ## 10-minute soak of the real binaries with provider failures and a worker restart
	@bash scripts/soak.sh
