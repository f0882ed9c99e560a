# Every task a person (or CI) runs. `just --list` shows them; `just test` is what CI runs.
# The scripts under scripts/ do the work and install what they need; recipes stay short.

set shell := ["bash", "-euo", "pipefail", "-c"]

# One target dir outside the clone, shared by every clone on this machine (CI reuses it).
export CARGO_TARGET_DIR := env("CARGO_TARGET_DIR", env("HOME") / ".cache/doorstep/target")
export DOORSTEP_TEST_PG_URL := env("DOORSTEP_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")

debug_bin := CARGO_TARGET_DIR / "debug/doorstep"
timed := "bash scripts/timed.sh"

# Show the recipes.
default:
    @just --list --unsorted

# The portal with demo data on http://127.0.0.1:8080 (SQLite file under ./data/), and beside
# it the sandbox payment provider on http://127.0.0.1:8090, stopped when the portal stops.
# One recipe line, so that the trap and both processes share a shell.
run: web build
    @mkdir -p data
    @{{ debug_bin }} sandbox-provider & sandbox=$!; trap 'kill $sandbox 2>/dev/null || true' EXIT; {{ debug_bin }} serve --demo

# Build the server (debug).
build:
    @{{ timed }} "build server" cargo build -p doorstep-api

# Everything CI checks, cheapest first; stops at the first failing phase.
test: tools fmt-check lint test-sqlite test-postgres contract web browser

# Install what the test phases need and this machine lacks (nothing goes into the repo).
tools:
    @{{ timed }} "tools" bash scripts/ensure-tools.sh rust schemathesis pdf

# Check formatting (no changes).
fmt-check:
    @{{ timed }} "fmt --check" cargo fmt --all --check

# Format the whole workspace.
fmt:
    cargo fmt --all

# Clippy on every host crate, warnings are errors.
lint:
    @{{ timed }} "clippy" cargo clippy --workspace --exclude doorstep-web --all-targets -- -D warnings

# The test suite on SQLite (includes the OpenAPI/SDL drift checks).
test-sqlite:
    @rm -f target/nextest/sqlite/junit.xml
    @DOORSTEP_TEST_DB=sqlite {{ timed }} "tests on SQLite" \
        cargo nextest run --workspace --exclude doorstep-web --profile sqlite

# The load generator's own tests touch no database and already ran in the SQLite pass.
# The same suite on PostgreSQL; each test gets a fresh database from the harness.
test-postgres: pg
    @rm -f target/nextest/postgres/junit.xml
    @DOORSTEP_TEST_DB=postgres {{ timed }} "tests on PostgreSQL" \
        cargo nextest run --workspace --exclude doorstep-web --profile postgres \
        -E 'not (package(doorstep-e2e) & test(/^loadgen::/))'

# Make sure the local PostgreSQL is up (starts the cluster if needed).
pg:
    @bash scripts/ensure-pg.sh

# Schemathesis over the whole OpenAPI document of the real server.
contract: build
    @DOORSTEP_BIN={{ debug_bin }} {{ timed }} "schemathesis" bash scripts/schemathesis.sh

# Build the single-page app into web/dist (wasm).
web:
    @{{ timed }} "wasm build" bash scripts/build-web.sh

# Browser tests (headless Chromium) against the real server and the built app.
browser: build web
    @DOORSTEP_BIN={{ debug_bin }} {{ timed }} "browser tests" bash scripts/e2e-browser.sh

# Black-box tests of the real binary: the contract test and the browser tests.
e2e: contract browser

# Scenario benchmarks on the release build; see scripts/bench.sh for BENCH_* settings.
bench:
    bash scripts/bench.sh

# Regenerate openapi/openapi.json and openapi/schema.graphql from the code.
openapi:
    cargo run -p doorstep-api -- export-openapi
