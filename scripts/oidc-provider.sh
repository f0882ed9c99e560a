#!/usr/bin/env bash
# The local OpenID Connect provider (e2e/oidc-provider/server.mjs: node-oidc-provider, OpenID
# Certified) for browser tests and for trying external sign-in by hand.
#
#   scripts/oidc-provider.sh start STATE_DIR PORTAL_URL [PROVIDER_ID]
#       Installs its npm packages when package-lock.json changed, starts it on a free port in
#       the background and waits until its discovery document answers. Its client accepts
#       exactly one redirect URI: PORTAL_URL/api/v1/auth/oidc/PROVIDER_ID/callback (PROVIDER_ID
#       defaults to "local"). The issuer is http://localhost:<port>, so that the provider and a
#       portal on 127.0.0.1 are different sites to a browser, as they are in real life.
#       Writes STATE_DIR/oidc.pid, oidc.log, and oidc.env (the portal's DOORSTEP_OIDC_* settings,
#       one NAME=value a line, with a client secret new for this run), and prints oidc.env.
#   scripts/oidc-provider.sh stop STATE_DIR
#       Stops the provider that `start` left in STATE_DIR (only that process).
#
# Test users (password "idp test password 1"): tenant (email confirmed), other (email
# confirmed), unverified (email not confirmed).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,19p' "$0" >&2; exit 2; }

dir="$DOORSTEP_ROOT/e2e/oidc-provider"

install() {
  command -v node >/dev/null || die "node is needed (apt-get install nodejs npm)"
  local want have
  want=$(sha256sum "$dir/package-lock.json" | cut -c1-64)
  have=$(cat "$dir/node_modules/.doorstep-lock" 2>/dev/null || true)
  if [ "$want" != "$have" ]; then
    say "npm ci in e2e/oidc-provider"
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    echo "$want" > "$dir/node_modules/.doorstep-lock"
  fi
}

start() {
  local state=$1 portal=${2%/} id=${3:-local}
  [[ "$id" =~ ^[a-z0-9][a-z0-9-]{0,31}$ ]] || die "provider id $id: lower-case letters, digits and -"
  mkdir -p "$state"
  install
  local port secret issuer pid
  port=$(free_port)
  secret=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
  issuer="http://localhost:$port"
  OIDC_PORT="$port" OIDC_HOST=127.0.0.1 OIDC_ISSUER="$issuer" OIDC_CLIENT_ID=doorstep-e2e \
    OIDC_CLIENT_SECRET="$secret" OIDC_REDIRECT_URIS="$portal/api/v1/auth/oidc/$id/callback" \
    node "$dir/server.mjs" > "$state/oidc.log" 2>&1 &
  pid=$!
  echo "$pid" > "$state/oidc.pid"
  if ! wait_http "http://127.0.0.1:$port/.well-known/openid-configuration" "$pid" 30; then
    cat "$state/oidc.log" >&2
    die "the OpenID provider did not start"
  fi
  local upper=${id^^}
  upper=${upper//-/_}
  cat > "$state/oidc.env" <<EOF
DOORSTEP_OIDC_PROVIDERS=$id
DOORSTEP_OIDC_${upper}_NAME=Test ID
DOORSTEP_OIDC_${upper}_ISSUER=$issuer
DOORSTEP_OIDC_${upper}_CLIENT_ID=doorstep-e2e
DOORSTEP_OIDC_${upper}_CLIENT_SECRET=$secret
EOF
  say "OpenID provider $issuer (pid $pid)"
  cat "$state/oidc.env"
}

stop() {
  local state=$1 pid
  [ -f "$state/oidc.pid" ] || return 0
  pid=$(cat "$state/oidc.pid")
  stop_pid "$pid"
  rm -f "$state/oidc.pid"
}

case "${1:-}" in
  start) [ $# -ge 3 ] || usage; start "$2" "$3" "${4:-local}" ;;
  stop) [ $# -eq 2 ] || usage; stop "$2" ;;
  *) usage ;;
esac
