#!/usr/bin/env bash
# Contract test of the running server against its own OpenAPI document.
#
# Starts the real binary on a fresh SQLite database (migrate, seed-demo --scale 50 --years 1,
# serve on a free loopback port), then runs schemathesis over EVERY operation in
# /api/v1/openapi.json, so a new route is covered the day it is documented. It fails on any
# 5xx and on any answer the document does not describe: undeclared status code, wrong
# content type, body not matching the schema, declared headers missing. The server is
# stopped on exit, pass or fail.
#
#   scripts/schemathesis.sh [extra `st run` arguments]
#
# Environment:
#   DOORSTEP_BIN           server binary (default <target>/debug/doorstep; not built here)
#   ST_MAX_EXAMPLES        test cases per operation and phase (default 50)
#   ST_WORKERS             concurrent workers (default 2)
#   ST_SEED                fixed seed to reproduce a run (default: random, printed by st)
#   ST_CHECKS              checks to run (default below)
#   ST_AUTHORIZATION       value of an Authorization header sent with every request
#   ST_AUTHORIZATION_CMD   command run once the server is up, with BASE_URL set, whose output
#                          is the Authorization header value (e.g. sign in as a demo tenant)
#   ST_KEEP=1              keep the temp dir (database, server log, reports)
# Reports (JUnit, NDJSON) go to target/schemathesis/ in the repository (gitignored).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$DOORSTEP_ROOT"

bin="${DOORSTEP_BIN:-$CARGO_TARGET_DIR/debug/doorstep}"
[ -x "$bin" ] || die "no server binary at $bin (cargo build -p doorstep-api, or set DOORSTEP_BIN)"

"$DOORSTEP_ROOT/scripts/ensure-tools.sh" schemathesis
st="${DOORSTEP_VENV:-$DOORSTEP_CACHE/venv}/bin/st"

work=$(mktemp -d "${TMPDIR:-/tmp}/doorstep-schemathesis.XXXXXX")
server_pid=""
cleanup() {
  local status=$?
  [ -z "$server_pid" ] || stop_pid "$server_pid"
  if [ "$status" -ne 0 ] && [ -s "$work/server.log" ]; then
    echo "--- last lines of the server log ($work/server.log) ---" >&2
    tail -n 40 "$work/server.log" >&2 || true
  fi
  if [ "${ST_KEEP:-0}" = 1 ] || [ "$status" -ne 0 ]; then
    echo "kept $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

export DOORSTEP_DATABASE_URL="sqlite://$work/doorstep.db?mode=rwc"

say "migrating and seeding a fresh database in $work"
"$bin" migrate >"$work/migrate.log" 2>&1 || {
  cat "$work/migrate.log" >&2
  die "migrate failed"
}
"$bin" seed-demo --scale 50 --years 1 >"$work/seed.log" 2>&1 || {
  cat "$work/seed.log" >&2
  die "seed-demo failed"
}

port=$(free_port)
base="http://127.0.0.1:$port"
say "starting the server at $base"
"$bin" serve --addr "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server_pid=$!
wait_http "$base/readyz" "$server_pid" 60 || die "the server did not become ready"

headers=()
if [ -n "${ST_AUTHORIZATION_CMD:-}" ]; then
  token=$(BASE_URL="$base" bash -c "$ST_AUTHORIZATION_CMD") || die "ST_AUTHORIZATION_CMD failed"
  headers+=(--header "Authorization: $token")
elif [ -n "${ST_AUTHORIZATION:-}" ]; then
  headers+=(--header "Authorization: $ST_AUTHORIZATION")
fi

checks="${ST_CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance}"
reports="$DOORSTEP_ROOT/target/schemathesis"
rm -rf "$reports" && mkdir -p "$reports"
args=(
  run "$base/api/v1/openapi.json"
  --checks "$checks"
  --max-examples "${ST_MAX_EXAMPLES:-50}"
  --workers "${ST_WORKERS:-2}"
  --request-timeout 10
  --continue-on-failure
  --suppress-health-check too_slow,filter_too_much
  --generation-database none
  --report junit,ndjson
  --report-dir "$reports"
)
[ -z "${ST_SEED:-}" ] || args+=(--seed "$ST_SEED")
[ "${CI:-}" != true ] || args+=(--no-color)

say "schemathesis over $base/api/v1/openapi.json (checks: $checks)"
# The header is passed last so that its value never shows in the command echoed above.
# Run from the temp dir: schemathesis and hypothesis leave .schemathesis/ and .hypothesis/
# in the working directory.
cd "$work"
"$st" "${args[@]}" "${headers[@]}" "$@"
