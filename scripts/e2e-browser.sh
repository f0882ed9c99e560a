#!/usr/bin/env bash
# Browser tests against the real server, in two passes: first on SQLite, then on PostgreSQL.
# Each pass migrates and seeds a fresh database (a SQLite file in a temp dir; a PostgreSQL
# database with a name of its own, dropped after the pass, pass or fail), adds a member of
# staff for the identity tests, serves it with the built SPA on a free port, and runs
# e2e/browser/*.test.mjs (node:test + playwright-core driving Debian's Chromium). The server is
# stopped after each pass. Both passes run even if the first fails; the times of both are
# printed at the end.
#
# The tests get DOORSTEP_URL, DOORSTEP_DATABASE_URL (the server's database, which they read
# with sqlite3 or psql to find a tenancy to register for, as a tenant knows their own details)
# and DOORSTEP_STAFF_EMAIL / DOORSTEP_STAFF_PASSWORD (customer_service at pennine-vale-homes). They
# read PIN letters with pdftotext (poppler-utils). A local OpenID Connect provider
# (scripts/oidc-provider.sh) runs beside the portal as its external sign-in provider "local"
# ("Test ID"); the tests get its issuer as DOORSTEP_TEST_OIDC_ISSUER. The sandbox payment provider
# (`doorstep sandbox-provider`, docs/payments.md) runs beside the portal on a free port of its
# own, as the portal's provider (DOORSTEP_SANDBOX_URL) with the portal as the only page that may
# frame its card page; the tests get its address as DOORSTEP_SANDBOX_URL and the server binary
# as DOORSTEP_BIN (to reconcile the sandbox's end-of-day file).
#
# Usage: scripts/e2e-browser.sh [extra node --test arguments, e.g. --test-name-pattern=404]
# Environment:
#   DOORSTEP_BIN      the server binary (default <target>/debug/doorstep; this script does not
#                     build it: `cargo build -p doorstep-api`)
#   CARGO_TARGET_DIR  base target dir (default ~/.cache/doorstep/target)
#   CHROMIUM_PATH     the browser (default /usr/bin/chromium, installed with apt-get if missing)
#   E2E_BACKENDS      which passes, in order (default "sqlite postgres"; e.g. E2E_BACKENDS=sqlite)
#   DOORSTEP_TEST_PG_URL  PostgreSQL admin URL for creating and dropping the pass's database
#                     (default postgres://postgres@127.0.0.1:5432/postgres; scripts/ensure-pg.sh
#                     starts the local cluster if it is down)
# The SPA is built with scripts/build-web.sh only when web/dist is missing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
target_base="${CARGO_TARGET_DIR:-$HOME/.cache/doorstep/target}"
bin="${DOORSTEP_BIN:-$target_base/debug/doorstep}"
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"

say() { printf '==> %s\n' "$*"; }
die() { printf 'e2e-browser: %s\n' "$*" >&2; exit 1; }

[ -x "$bin" ] || die "no server binary at $bin (build it with: cargo build -p doorstep-api, or set DOORSTEP_BIN)"
command -v node >/dev/null || die "node is needed (apt-get install nodejs npm)"

apt_packages=()
if [ ! -x "$chromium" ]; then
  [ "$chromium" = /usr/bin/chromium ] || die "CHROMIUM_PATH=$chromium is not executable"
  apt_packages+=(chromium chromium-driver)
fi
command -v pdftotext >/dev/null || apt_packages+=(poppler-utils)
command -v sqlite3 >/dev/null || apt_packages+=(sqlite3)
if [ ${#apt_packages[@]} -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  say "installing with apt-get: ${apt_packages[*]}"
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${apt_packages[@]}"
fi

if [ ! -f web/dist/index.html ]; then
  say "web/dist is missing: building it"
  bash scripts/build-web.sh
fi

lock_hash=$(sha256sum e2e/browser/package-lock.json | cut -c1-64)
if [ ! -d e2e/browser/node_modules ] || [ "$(cat e2e/browser/node_modules/.doorstep-lock 2>/dev/null)" != "$lock_hash" ]; then
  say "npm ci in e2e/browser"
  (cd e2e/browser && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" > e2e/browser/node_modules/.doorstep-lock
fi

admin_url="${DOORSTEP_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
backends="${E2E_BACKENDS:-sqlite postgres}"
backends=${backends//,/ }
for backend in $backends; do
  case "$backend" in sqlite | postgres) ;; *) die "E2E_BACKENDS: $backend is neither sqlite nor postgres" ;; esac
done
# Keep psql quiet about "does not exist, skipping".
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/doorstep-e2e-browser.XXXXXX")
server_pid=""
sandbox_pid=""
pass_dir=""
pg_db=""
failed=()
timings=()

stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
stop_sandbox() {
  if [ -n "$sandbox_pid" ] && kill -0 "$sandbox_pid" 2>/dev/null; then
    kill "$sandbox_pid" 2>/dev/null || true
    wait "$sandbox_pid" 2>/dev/null || true
  fi
  sandbox_pid=""
}
# The pass's PostgreSQL database goes, whatever happened in the pass.
drop_pg() {
  [ -n "$pg_db" ] || return 0
  psql "$admin_url" -XqAt -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 ||
    echo "e2e-browser: could not drop the database $pg_db" >&2
  pg_db=""
}
server_log_tail() {
  [ -f "$1/server.log" ] || return 0
  echo "---- last lines of the server log ($1/server.log) ----" >&2
  tail -n 40 "$1/server.log" >&2
}
cleanup() {
  local status=$?
  local dir
  for dir in "$tmp"/*/; do
    bash "$repo/scripts/oidc-provider.sh" stop "$dir" 2>/dev/null || true
  done
  stop_server
  stop_sandbox
  drop_pg
  if [ "$status" -ne 0 ]; then
    # A pass that died part-way has not shown its server log yet.
    [ -z "$pass_dir" ] || server_log_tail "$pass_dir"
    echo "e2e-browser: kept $tmp for a look" >&2
  else
    rm -rf "$tmp"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_pass BACKEND [node --test arguments]: a fresh database on BACKEND with the demo data and a
# member of staff, the OpenID provider and the server on free ports, then the whole suite.
# Returns node's status; stops everything it started and drops its database before returning.
# It runs where `set -e` does not apply (its caller tests its status), so every step that can
# fail says so itself; `die` ends the whole run, and the EXIT trap cleans up.
run_pass() {
  local backend=$1
  shift
  local dir="$tmp/$backend" db_url
  mkdir -p "$dir"
  pass_dir=$dir
  if [ "$backend" = postgres ]; then
    DOORSTEP_TEST_PG_URL="$admin_url" bash scripts/ensure-pg.sh || die "PostgreSQL is not available"
    # A name of its own, so that runs side by side (CI and a developer) do not meet.
    pg_db="doorstep_e2e_$(date +%s)_$$_$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
    psql "$admin_url" -XqAt -v ON_ERROR_STOP=1 -c "CREATE DATABASE $pg_db" >/dev/null ||
      die "could not create the database $pg_db at $admin_url"
    db_url="${admin_url%/*}/$pg_db"
  else
    db_url="sqlite://$dir/doorstep.db?mode=rwc"
  fi

  # Only the server's own settings go to the server (it warns about unknown DOORSTEP_* names).
  local server_env=(env -u DOORSTEP_BIN -u DOORSTEP_URL -u DOORSTEP_TEST_PG_URL
    DOORSTEP_DATABASE_URL="$db_url"
    DOORSTEP_WEB_DIR="$repo/web/dist")

  say "$backend: migrate and seed-demo into $([ "$backend" = postgres ] && echo "database $pg_db" || echo "$dir/doorstep.db")"
  "${server_env[@]}" "$bin" migrate > "$dir/migrate.log" 2>&1 || { cat "$dir/migrate.log" >&2; die "$backend: migrate failed"; }
  "${server_env[@]}" "$bin" seed-demo --scale 50 --years 1 > "$dir/seed.log" 2>&1 || { cat "$dir/seed.log" >&2; die "$backend: seed-demo failed"; }

  # A member of staff who works the registration queue. The password goes in on standard input,
  # so that it is not in the process list; it is new for every run.
  local staff_email="e2e.staff@pennine-vale-homes.example"
  local staff_password
  staff_password="Browser-test-ledger-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
  printf '%s\n' "$staff_password" | "${server_env[@]}" "$bin" user create-staff --org pennine-vale-homes \
    --email "$staff_email" --role customer_service --name "Browser Test Staff" > "$dir/staff.log" 2>&1 \
    || { cat "$dir/staff.log" >&2; die "$backend: user create-staff failed"; }

  local port url
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})') ||
    die "no free port"
  url="http://127.0.0.1:$port"

  # The sandbox payment provider: notifications to this portal, retried quickly for tests.
  local sandbox_port sandbox_url
  sandbox_port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})') ||
    die "no free port"
  sandbox_url="http://127.0.0.1:$sandbox_port"
  say "$backend: start the sandbox payment provider on $sandbox_url"
  env -u DOORSTEP_SANDBOX_URL -u DOORSTEP_PORTAL_URL "$bin" sandbox-provider --addr "127.0.0.1:$sandbox_port" \
    --portal-url "$url" --public-url "$sandbox_url" --retry-base-ms 200 > "$dir/sandbox.log" 2>&1 &
  sandbox_pid=$!

  # The external sign-in tests' OpenID provider (scripts/oidc-provider.sh): its client's one
  # redirect URI is this portal's callback; the portal gets its issuer, client id and secret.
  say "$backend: start the OpenID provider"
  bash scripts/oidc-provider.sh start "$dir" "$url" local > /dev/null || die "$backend: the OpenID provider did not start"
  local oidc_env=() line oidc_issuer
  while IFS= read -r line; do oidc_env+=("$line"); done < "$dir/oidc.env"
  oidc_issuer=$(sed -n 's/^DOORSTEP_OIDC_LOCAL_ISSUER=//p' "$dir/oidc.env")
  say "$backend: serve on $url"
  # The public address is what PIN letters print as the place to finish registering.
  "${server_env[@]}" "${oidc_env[@]}" DOORSTEP_PUBLIC_URL="$url" DOORSTEP_SANDBOX_URL="$sandbox_url" "$bin" serve --addr "127.0.0.1:$port" > "$dir/server.log" 2>&1 &
  server_pid=$!

  local ready=false
  for _ in $(seq 1 120); do
    kill -0 "$server_pid" 2>/dev/null || die "$backend: the server exited before it was ready"
    if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))' "$url/readyz"; then
      ready=true; break
    fi
    sleep 0.5
  done
  $ready || die "$backend: $url/readyz did not answer 200 within 60 s"
  ready=false
  for _ in $(seq 1 60); do
    kill -0 "$sandbox_pid" 2>/dev/null || { cat "$dir/sandbox.log" >&2; die "$backend: the sandbox provider exited"; }
    if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))' "$sandbox_url/healthz"; then
      ready=true; break
    fi
    sleep 0.5
  done
  $ready || die "$backend: $sandbox_url/healthz did not answer 200 within 30 s"

  say "$backend: node --test in e2e/browser"
  local status=0
  (cd e2e/browser && DOORSTEP_URL="$url" CHROMIUM_PATH="$chromium" DOORSTEP_DATABASE_URL="$db_url" \
    DOORSTEP_STAFF_EMAIL="$staff_email" DOORSTEP_STAFF_PASSWORD="$staff_password" \
    DOORSTEP_TEST_OIDC_ISSUER="$oidc_issuer" DOORSTEP_SANDBOX_URL="$sandbox_url" DOORSTEP_BIN="$bin" \
    node --test "$@") || status=$?
  [ "$status" -eq 0 ] || server_log_tail "$dir"

  bash scripts/oidc-provider.sh stop "$dir" 2>/dev/null || true
  stop_server
  stop_sandbox
  drop_pg
  pass_dir=""
  return "$status"
}

# Both passes run even when the first fails, so that one run says which backends break.
for backend in $backends; do
  start=$SECONDS
  status=0
  run_pass "$backend" "$@" || status=$?
  timings+=("$backend $((SECONDS - start)) s$([ "$status" -eq 0 ] || echo " (failed)")")
  [ "$status" -eq 0 ] || failed+=("$backend")
done
say "browser tests took: $(IFS=,; echo "${timings[*]}" | sed 's/,/, /g')"
[ ${#failed[@]} -eq 0 ] || die "the browser tests failed on: ${failed[*]}"
