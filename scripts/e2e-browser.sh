#!/usr/bin/env bash
# Browser tests against the real server: migrate and seed a fresh SQLite database in a temp
# dir, add a member of staff for the identity tests, serve it with the built SPA on a free port,
# and run e2e/browser/*.test.mjs (node:test + playwright-core driving Debian's Chromium). The
# server is stopped on exit, pass or fail.
#
# The tests get DOORSTEP_URL, DOORSTEP_DB_PATH (the SQLite file, which they read with the
# sqlite3 CLI to find a tenancy to register for, as a tenant knows their own details) and
# DOORSTEP_STAFF_EMAIL / DOORSTEP_STAFF_PASSWORD (customer_service at pennine-vale-homes). They
# read PIN letters with pdftotext (poppler-utils). A local OpenID Connect provider
# (scripts/oidc-provider.sh) runs beside the portal as its external sign-in provider "local"
# ("Test ID"); the tests get its issuer as DOORSTEP_TEST_OIDC_ISSUER.
#
# Usage: scripts/e2e-browser.sh [extra node --test arguments, e.g. --test-name-pattern=404]
# Environment:
#   DOORSTEP_BIN      the server binary (default <target>/debug/doorstep; this script does not
#                     build it: `cargo build -p doorstep-api`)
#   CARGO_TARGET_DIR  base target dir (default ~/.cache/doorstep/target)
#   CHROMIUM_PATH     the browser (default /usr/bin/chromium, installed with apt-get if missing)
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

tmp=$(mktemp -d "${TMPDIR:-/tmp}/doorstep-e2e-browser.XXXXXX")
server_pid=""
cleanup() {
  local status=$?
  bash "$repo/scripts/oidc-provider.sh" stop "$tmp" 2>/dev/null || true
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ] && [ -f "$tmp/server.log" ]; then
    echo "---- last lines of the server log ($tmp/server.log) ----" >&2
    tail -n 40 "$tmp/server.log" >&2
  else
    rm -rf "$tmp"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Only the server's own settings go to the server (it warns about unknown DOORSTEP_* names).
server_env=(env -u DOORSTEP_BIN -u DOORSTEP_URL
  DOORSTEP_DATABASE_URL="sqlite://$tmp/doorstep.db?mode=rwc"
  DOORSTEP_WEB_DIR="$repo/web/dist")

say "migrate and seed-demo into $tmp/doorstep.db"
"${server_env[@]}" "$bin" migrate > "$tmp/migrate.log" 2>&1 || { cat "$tmp/migrate.log" >&2; die "migrate failed"; }
"${server_env[@]}" "$bin" seed-demo --scale 50 --years 1 > "$tmp/seed.log" 2>&1 || { cat "$tmp/seed.log" >&2; die "seed-demo failed"; }

# A member of staff who works the registration queue. The password goes in on standard input,
# so that it is not in the process list; it is new for every run.
staff_email="e2e.staff@pennine-vale-homes.example"
staff_password="Browser-test-ledger-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s\n' "$staff_password" | "${server_env[@]}" "$bin" user create-staff --org pennine-vale-homes \
  --email "$staff_email" --role customer_service --name "Browser Test Staff" > "$tmp/staff.log" 2>&1 \
  || { cat "$tmp/staff.log" >&2; die "user create-staff failed"; }

port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
url="http://127.0.0.1:$port"

# The external sign-in tests' OpenID provider (scripts/oidc-provider.sh): its client's one
# redirect URI is this portal's callback; the portal gets its issuer, client id and secret.
say "start the OpenID provider"
bash scripts/oidc-provider.sh start "$tmp" "$url" local > /dev/null
oidc_env=()
while IFS= read -r line; do oidc_env+=("$line"); done < "$tmp/oidc.env"
oidc_issuer=$(sed -n 's/^DOORSTEP_OIDC_LOCAL_ISSUER=//p' "$tmp/oidc.env")
say "serve on $url"
# The public address is what PIN letters print as the place to finish registering.
"${server_env[@]}" "${oidc_env[@]}" DOORSTEP_PUBLIC_URL="$url" "$bin" serve --addr "127.0.0.1:$port" > "$tmp/server.log" 2>&1 &
server_pid=$!

ready=false
for _ in $(seq 1 120); do
  kill -0 "$server_pid" 2>/dev/null || die "the server exited before it was ready"
  if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))' "$url/readyz"; then
    ready=true; break
  fi
  sleep 0.5
done
$ready || die "$url/readyz did not answer 200 within 60 s"

say "node --test in e2e/browser"
cd e2e/browser
DOORSTEP_URL="$url" CHROMIUM_PATH="$chromium" DOORSTEP_DB_PATH="$tmp/doorstep.db" \
  DOORSTEP_STAFF_EMAIL="$staff_email" DOORSTEP_STAFF_PASSWORD="$staff_password" \
  DOORSTEP_TEST_OIDC_ISSUER="$oidc_issuer" node --test "$@"
