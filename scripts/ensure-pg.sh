#!/usr/bin/env bash
# Makes sure the local PostgreSQL answers on 127.0.0.1:5432, starting the cluster if it is
# down, and waits (up to 60 s) until it accepts connections.
#   scripts/ensure-pg.sh
# Environment: DOORSTEP_TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres) is the
# URL that must answer; PG_WAIT_SECS (default 60).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

url="${DOORSTEP_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
limit="${PG_WAIT_SECS:-60}"

ready() { psql "$url" -XtAq -c 'select 1' >/dev/null 2>&1; }

if ! command -v psql >/dev/null; then
  say "installing the PostgreSQL client"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-client
fi

if ready; then
  exit 0
fi

if command -v pg_lsclusters >/dev/null; then
  # Start every cluster that is down (normally the one: 15 main).
  while read -r version cluster _port status _; do
    if [ "$status" != online ]; then
      say "starting PostgreSQL $version/$cluster"
      as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start ||
        warn "pg_ctlcluster $version $cluster start failed"
    fi
  done < <(pg_lsclusters --no-header)
else
  die "PostgreSQL is not answering at $url and no local cluster is installed (apt-get install postgresql)"
fi

start=$SECONDS
until ready; do
  if ((SECONDS - start >= limit)); then
    die "PostgreSQL still not answering at $url after ${limit}s"
  fi
  sleep 0.5
done
say "PostgreSQL is up"
