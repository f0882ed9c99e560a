#!/usr/bin/env bash
# Scenario benchmarks against the real release binary, on SQLite and on PostgreSQL.
#
#   seed-<db>              `doorstep seed-demo --scale S --years Y` into a fresh database:
#                          wall time, rows written (counted in the database), rows/s
#   org-<db>               GET /api/v1/organisations/pennine-vale
#   baseline-summary-<db>  GET /api/bench-baseline/accounts/{id}: the account summary's JSON
#                          from raw SQL on the same pool, no sign-in or domain layer (the
#                          server runs with DOORSTEP_BENCH_BASELINE=1; see
#                          api/src/http/bench_baseline.rs)
#   account-summary-<db>   GET /api/v1/accounts/{id} (balance and the last three lines)
#   history-<db>           GET /api/v1/accounts/{id}/transactions?limit=50
#   import-<db>            `doorstep import DIR` of the demo written as an HMS export (scale
#                          BENCH_SCALE), then the same files again: rows/s and peak RSS
#                          (scripts/bench-import.sh, its own databases)
#   charge-run-<db>        `doorstep charge-run --week W` for the first week after the latest
#                          charge in the database (skipping rent-free weeks): seconds and
#                          accounts charged per second. It posts that week for real, so a
#                          reused database moves one week on each time.
# where <db> is sqlite or postgres. The GETs run under open-model load at a fixed rate
# (loadgen: corrected p50/p90/p99/p99.9/max, achieved rate, errors by kind); the account
# ones go round BENCH_ACCOUNTS accounts picked at random from the whole demo group (the
# history pages another BENCH_ACCOUNTS, so that the summaries have not cached them), signed in
# as an admin of the group's parent (`user create-staff --org pennine-vale --role admin`, made
# afresh each run). The table ends with how many times slower the real account summary is
# than the baseline, at p50 and p99. On PostgreSQL a freshly seeded database is vacuumed
# before any load, and each load waits until nothing else runs on the database (the server's
# start-up charge-run check, what an overloaded run left queued).
#
# Prints a table and writes bench-results/<UTC timestamp>.json and bench-results/latest.json
# (gitignored). Exits 1 if any scenario failed (including more than 1% request errors).
#
# Environment (defaults in brackets):
#   BENCH_SCENARIOS     comma-separated names or parts of names: "seed", "postgres",
#                       "summary", "org-sqlite", ... [all]
#   BENCH_SCALE         tenancies to seed [2000]          BENCH_YEARS      years of history [10]
#   BENCH_RATE          requests per second; a comma-separated list runs every load scenario
#                       at each rate [2000]
#   BENCH_DURATION      measured span [20s]               BENCH_WARMUP     warm-up at the same rate [5s]
#   BENCH_CONNECTIONS   most in flight [64]               BENCH_ACCOUNTS   accounts to go round [10000]
#   BENCH_SEED_TIMEOUT  seconds before a seed or charge run is abandoned [600]
#   BENCH_PG_URL        admin URL [postgres://postgres@127.0.0.1:5432/postgres]
#   BENCH_PG_DB         the PostgreSQL benchmark database, dropped and recreated per run
#                       unless BENCH_REUSE=1 [doorstep_bench]
#   BENCH_SQLITE_DB     the SQLite file for BENCH_REUSE=1 [a fresh file in a temp dir]
#   BENCH_REUSE=1       use BENCH_PG_DB / BENCH_SQLITE_DB as they are: no drop, no seed (a
#                       full-scale seed takes about 20 minutes; seed scenarios are refused)
#   BENCH_SKIP_BUILD=1  use the binaries already built
#   BENCH_KEEP=1        keep the temp dir and the PostgreSQL database afterwards
# The account scenarios and the charge run need a seeded database: without BENCH_REUSE they
# seed BENCH_SCALE × BENCH_YEARS first, measured or not (org alone seeds 50 × 1).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$DOORSTEP_ROOT"

scale="${BENCH_SCALE:-2000}"
years="${BENCH_YEARS:-10}"
rates="${BENCH_RATE:-2000}"
duration="${BENCH_DURATION:-20s}"
warmup="${BENCH_WARMUP:-5s}"
connections="${BENCH_CONNECTIONS:-64}"
n_accounts="${BENCH_ACCOUNTS:-10000}"
seed_timeout="${BENCH_SEED_TIMEOUT:-600}"
pg_admin="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_db="${BENCH_PG_DB:-doorstep_bench}"
reuse="${BENCH_REUSE:-0}"
filter="${BENCH_SCENARIOS:-all}"
org_path="/api/v1/organisations/pennine-vale"
group_slug="pennine-vale"

[[ $pg_db =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_PG_DB must be a plain lower-case name"
[[ $n_accounts =~ ^[1-9][0-9]*$ ]] || die "BENCH_ACCOUNTS must be a whole number"
rates=${rates//,/ }
for r in $rates; do [[ $r =~ ^[1-9][0-9]*$ ]] || die "BENCH_RATE: $r is not a whole number of requests per second"; done
multi_rate=false
[ "$(wc -w <<<"$rates")" -gt 1 ] && multi_rate=true

kinds=(seed org baseline-summary account-summary history charge-run)
all_scenarios=()
for b in sqlite postgres; do for k in "${kinds[@]}"; do all_scenarios+=("$k-$b"); done; done
all_scenarios+=(reconcile-sqlite reconcile-postgres) # scripts/bench-reconcile.sh, its own databases
all_scenarios+=(import-sqlite import-postgres) # scripts/bench-import.sh, its own databases
all_scenarios+=(notify-{latency,throughput}-{sqlite,postgres}) # scripts/bench-payments.sh, its own databases
selected() {
  local name=$1 tok
  for tok in ${filter//,/ }; do
    [[ $tok == all || $name == *"$tok"* ]] && return 0
  done
  return 1
}
any=false
for s in "${all_scenarios[@]}"; do selected "$s" && any=true; done
$any || die "BENCH_SCENARIOS=$filter matches none of: ${all_scenarios[*]}"
if [ "$reuse" = 1 ]; then
  for b in sqlite postgres; do
    selected "seed-$b" && die "BENCH_REUSE=1 measures no seed: leave seed-$b out of BENCH_SCENARIOS"
  done
fi

"$DOORSTEP_ROOT/scripts/ensure-tools.sh" bench
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  "$DOORSTEP_ROOT/scripts/timed.sh" "release build" cargo build --release -p doorstep-api -p doorstep-e2e
fi
bin="${BENCH_BIN:-$CARGO_TARGET_DIR/release/doorstep}"
loadgen="${BENCH_LOADGEN:-$CARGO_TARGET_DIR/release/loadgen}"
[ -x "$bin" ] || die "no server binary at $bin"
[ -x "$loadgen" ] || die "no loadgen binary at $loadgen"

work=$(mktemp -d "${TMPDIR:-/tmp}/doorstep-bench.XXXXXX")
mkdir -p "$work/out"
server_pid=""
pg_made=false
# Keep psql quiet about "does not exist, skipping".
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
cleanup() {
  [ -z "$server_pid" ] || stop_pid "$server_pid"
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    echo "kept $work$($pg_made && echo " and database $pg_db")" >&2
  else
    rm -rf "$work"
    if $pg_made; then
      psql "$pg_admin" -XqAt -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
    fi
  fi
}
trap cleanup EXIT
failed=()

# q BACKEND WHERE SQL: one query's rows, fields separated by |.
q() {
  if [ "$1" = sqlite ]; then sqlite3 "$2" "$3"; else psql "$2" -XqAt -c "$3"; fi
}

# count_rows BACKEND URL|FILE: "table<TAB>rows" for every application table.
count_rows() {
  local backend=$1 where=$2 t
  if [ "$backend" = sqlite ]; then
    sqlite3 "$where" "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name <> 'seaql_migrations' order by name" |
      while read -r t; do printf '%s\t%s\n' "$t" "$(sqlite3 "$where" "select count(*) from \"$t\"")"; done
  else
    psql "$where" -XqAt -c "select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> 'seaql_migrations' order by 1" |
      while read -r t; do printf '%s\t%s\n' "$t" "$(psql "$where" -XqAt -c "select count(*) from \"$t\"")"; done
  fi
}

# run_load NAME RATE LOADGEN-ARGS...: one open-model run, its JSON in out/NAME[@RATE].json.
run_load() {
  local name=$1 rate=$2 key
  shift 2
  key=$name
  $multi_rate && key="$name@$rate"
  # Whatever the last run left queued in the database finishes first.
  [ "$backend" != postgres ] || settle_pg "$where" 60
  cut -d' ' -f1 /proc/loadavg >"$work/out/$key.loadavg"
  local status=0
  "$loadgen" "$@" --rate "$rate" --duration "$duration" --warmup "$warmup" \
    --connections "$connections" --label "$key" --max-error-rate 0.01 \
    --json-out "$work/out/$key.json" || status=$?
  [ "$status" -eq 0 ] || failed+=("$key")
}

# sign_in BASE EMAIL PASSWORD-FILE: writes out the Authorization header for loadgen into
# $work/auth.txt (a fresh access token: they last 15 minutes).
sign_in() {
  local base=$1 email=$2 password_file=$3
  python3 - "$base/api/v1/auth/login" "$email" "$password_file" "$work/auth.txt" <<'EOF'
import json, sys, urllib.request
url, email, password_file, out = sys.argv[1:]
body = json.dumps({"email": email, "password": open(password_file).read().strip(), "client": "app"}).encode()
req = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
with urllib.request.urlopen(req, timeout=30) as r:
    token = json.load(r)["access_token"]
with open(out, "w") as f:
    f.write(f"Authorization: Bearer {token}\n")
EOF
}

# settle_pg URL SECONDS: waits until nothing else is running on the database (three quiet
# looks in a row). `serve` starts its scheduled jobs at once, and the hourly charge-run check
# reads every account (about 15 s at full scale): that must not land in a measurement.
settle_pg() {
  local url=$1 limit=$2 start=$SECONDS quiet=0 n
  sleep 1
  while ((SECONDS - start < limit)); do
    n=$(psql "$url" -XqAt -c "select count(*) from pg_stat_activity where datname = current_database()
          and pid <> pg_backend_pid() and state = 'active'" 2>/dev/null || echo 1)
    if [ "$n" = 0 ]; then
      quiet=$((quiet + 1))
      [ "$quiet" -ge 3 ] && return 0
    else
      quiet=0
    fi
    sleep 0.5
  done
  warn "the database was still busy after ${limit}s; measuring anyway"
}

# get_status URL: the status of a GET with the bench's Authorization header.
get_status() {
  curl -s -o /dev/null -w '%{http_code}' -H @"$work/auth.txt" "$1"
}

for backend in sqlite postgres; do
  want_seed=false want_org=false want_accounts=false want_charge=false
  selected "seed-$backend" && want_seed=true
  selected "org-$backend" && want_org=true
  for k in baseline-summary account-summary history; do selected "$k-$backend" && want_accounts=true; done
  selected "charge-run-$backend" && want_charge=true
  $want_seed || $want_org || $want_accounts || $want_charge || continue
  need_data=false
  { $want_accounts || $want_charge; } && need_data=true

  if [ "$backend" = sqlite ]; then
    if [ "$reuse" = 1 ]; then
      db_file="${BENCH_SQLITE_DB:-}"
      [ -n "$db_file" ] && [ -f "$db_file" ] || die "BENCH_REUSE=1 on SQLite needs BENCH_SQLITE_DB naming a seeded database file"
    else
      db_file="${BENCH_SQLITE_DB:-$work/sqlite/doorstep.db}"
      mkdir -p "$(dirname "$db_file")"
      rm -f "$db_file" "$db_file-wal" "$db_file-shm"
    fi
    url="sqlite://$db_file?mode=rwc"
    where=$db_file
  else
    DOORSTEP_TEST_PG_URL="$pg_admin" "$DOORSTEP_ROOT/scripts/ensure-pg.sh"
    if [ "$reuse" = 1 ]; then
      [ "$(psql "$pg_admin" -XqAt -c "select count(*) from pg_database where datname = '$pg_db'")" = 1 ] ||
        die "BENCH_REUSE=1: there is no database $pg_db"
    else
      psql "$pg_admin" -XqAt -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null
      psql "$pg_admin" -XqAt -c "CREATE DATABASE $pg_db" >/dev/null
      pg_made=true
    fi
    url="${pg_admin%/*}/$pg_db"
    where=$url
  fi
  say "$backend: $([ "$reuse" = 1 ] && echo "reusing" || echo "fresh") database $where"
  export DOORSTEP_DATABASE_URL="$url"
  "$bin" migrate >"$work/migrate-$backend.log" 2>&1 || {
    cat "$work/migrate-$backend.log" >&2
    die "$backend: migrate failed"
  }

  if [ "$reuse" != 1 ]; then
    # The org scenario only needs the demo landlord: seed small when nothing else needs more.
    if $want_seed || $need_data; then s_scale=$scale s_years=$years; else s_scale=50 s_years=1; fi
    say "$backend: seed-demo --scale $s_scale --years $s_years"
    cut -d' ' -f1 /proc/loadavg >"$work/out/seed-$backend.loadavg"
    t0=$(date +%s.%N)
    seed_status=0
    timeout "$seed_timeout" "$bin" seed-demo --scale "$s_scale" --years "$s_years" >"$work/seed-$backend.log" 2>&1 || seed_status=$?
    t1=$(date +%s.%N)
    tail -n 8 "$work/seed-$backend.log" | sed 's/^/    /' >&2
    if [ "$seed_status" -ne 0 ]; then
      warn "$backend: seed-demo failed (status $seed_status$([ "$seed_status" -eq 124 ] && echo ", timed out after ${seed_timeout}s"))"
      failed+=("seed-$backend")
      for k in "${kinds[@]}"; do
        [ "$k" != seed ] && selected "$k-$backend" && failed+=("$k-$backend (not run: no data)")
      done
      continue
    fi
    if $want_seed; then
      count_rows "$backend" "$where" >"$work/rows-$backend.tsv"
      python3 - "$work/out/seed-$backend.json" "$backend" "$s_scale" "$s_years" "$t0" "$t1" \
        "$work/rows-$backend.tsv" "$work/seed-$backend.log" <<'EOF'
import json, sys
out, backend, scale, years, t0, t1, rows_file, log = sys.argv[1:]
tables = {}
for line in open(rows_file):
    name, n = line.rstrip("\n").split("\t")
    tables[name] = int(n)
elapsed = float(t1) - float(t0)
rows = sum(tables.values())
tail = [l.rstrip("\n") for l in open(log, errors="replace")][-8:]
json.dump({"kind": "seed", "backend": backend, "scale": int(scale), "years": int(years),
           "elapsed_s": round(elapsed, 3), "rows": rows,
           "rows_per_s": round(rows / elapsed, 1) if elapsed > 0 else None,
           "tables": tables, "output_tail": tail}, open(out, "w"), indent=2)
EOF
    fi
    if [ "$backend" = postgres ] && { $want_org || $need_data; }; then
      # A freshly loaded table has no visibility map and no hint bits set, and autovacuum
      # would start on it in the middle of a measurement: vacuum once first, as a running
      # landlord's database would have been (not part of the seed's time).
      say "$backend: VACUUM (ANALYZE)"
      psql "$where" -XqAt -c "VACUUM (ANALYZE)" >/dev/null || warn "$backend: VACUUM failed"
    fi
  else
    rm -f "$work/out/seed-$backend.loadavg"
  fi

  if $want_accounts; then
    # The accounts to go round, from the whole group, shuffled; and a group admin to read them.
    q "$backend" "$where" "WITH RECURSIVE grp(id) AS (
          SELECT id FROM organisation WHERE slug = '$group_slug'
          UNION ALL SELECT o.id FROM organisation o JOIN grp ON o.parent_id = grp.id)
        SELECT a.id FROM rent_account a WHERE a.organisation_id IN (SELECT id FROM grp)
        ORDER BY random() LIMIT $((2 * n_accounts))" >"$work/all-ids-$backend.txt"
    # The summaries (real and baseline) go round one half and the history pages the other,
    # so that the history does not find its accounts' lines already cached by the summary.
    head -n "$n_accounts" "$work/all-ids-$backend.txt" >"$work/account-ids-$backend.txt"
    tail -n +"$((n_accounts + 1))" "$work/all-ids-$backend.txt" >"$work/history-ids-$backend.txt"
    [ -s "$work/history-ids-$backend.txt" ] || cp "$work/account-ids-$backend.txt" "$work/history-ids-$backend.txt"
    got=$(wc -l <"$work/account-ids-$backend.txt")
    if [ "$got" -eq 0 ]; then
      warn "$backend: no accounts in the $group_slug group"
      for k in baseline-summary account-summary history; do selected "$k-$backend" && failed+=("$k-$backend (no accounts)"); done
      want_accounts=false
    else
      say "$backend: $got accounts to go round ($(wc -l <"$work/history-ids-$backend.txt") others for the history pages)"
      sed 's|^|/api/v1/accounts/|' "$work/account-ids-$backend.txt" >"$work/summary-$backend.urls"
      sed 's|^\(.*\)$|/api/v1/accounts/\1/transactions?limit=50|' "$work/history-ids-$backend.txt" >"$work/history-$backend.urls"
      sed 's|^|/api/bench-baseline/accounts/|' "$work/account-ids-$backend.txt" >"$work/baseline-$backend.urls"
      bench_email="bench.$(date +%s).$$@$group_slug.example"
      od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$work/password.txt"
      "$bin" user create-staff --org "$group_slug" --email "$bench_email" --role admin --name "Benchmark" \
        <"$work/password.txt" >"$work/staff-$backend.log" 2>&1 || {
        cat "$work/staff-$backend.log" >&2
        die "$backend: user create-staff failed"
      }
    fi
  fi

  if $want_org || $want_accounts; then
    port=$(free_port)
    base="http://127.0.0.1:$port"
    say "$backend: serving at $base"
    serve_env=()
    # UNSAFE outside a benchmark: an unauthenticated account summary, on loopback only.
    $want_accounts && serve_env=(DOORSTEP_BENCH_BASELINE=1)
    env "${serve_env[@]}" "$bin" serve --addr "127.0.0.1:$port" >"$work/serve-$backend.log" 2>&1 &
    server_pid=$!
    if ! wait_http "$base/readyz" "$server_pid" 120; then
      tail -n 20 "$work/serve-$backend.log" >&2
      warn "$backend: the server did not become ready"
      for k in org baseline-summary account-summary history; do selected "$k-$backend" && failed+=("$k-$backend"); done
      stop_pid "$server_pid"
      server_pid=""
      want_org=false want_accounts=false
    elif [ "$backend" = postgres ]; then
      say "$backend: waiting for the server's start-up jobs to finish"
      settle_pg "$where" 300
    fi
  fi

  if $want_org; then
    code=$(curl -s -o /dev/null -w '%{http_code}' "$base$org_path")
    [ "$code" = 200 ] || warn "$backend: GET $org_path answers $code before the load (expected 200)"
    for rate in $rates; do
      run_load "org-$backend" "$rate" --url "$base$org_path"
    done
  fi

  if $want_accounts; then
    for rate in $rates; do
      for k in baseline-summary account-summary history; do
        selected "$k-$backend" || continue
        case $k in
          baseline-summary) list="$work/baseline-$backend.urls" ;;
          account-summary) list="$work/summary-$backend.urls" ;;
          history) list="$work/history-$backend.urls" ;;
        esac
        if ! sign_in "$base" "$bench_email" "$work/password.txt"; then
          warn "$backend: the benchmark admin could not sign in"
          failed+=("$k-$backend")
          continue
        fi
        first="$base$(head -n 1 "$list")"
        code=$(get_status "$first")
        [ "$code" = 200 ] || warn "$backend: GET $first answers $code before the load (expected 200)"
        run_load "$k-$backend" "$rate" --base "$base" --urls-file "$list" --headers-file "$work/auth.txt"
      done
    done
  fi

  if [ -n "$server_pid" ]; then
    stop_pid "$server_pid"
    server_pid=""
  fi

  if $want_charge; then
    # The first week nobody has been charged for yet that is not rent free anywhere.
    last=$(q "$backend" "$where" "SELECT MAX(effective_date) FROM ledger_entry WHERE kind = 'charge'")
    free=$(q "$backend" "$where" "SELECT DISTINCT week_start FROM rent_free_week" | tr '\n' ' ')
    week=$(python3 - "$last" "$free" <<'EOF'
import datetime, sys
last, free = sys.argv[1], set(sys.argv[2].split())
d = datetime.date.fromisoformat(last.strip()[:10]) if last.strip() else datetime.date.today()
week = d - datetime.timedelta(days=d.weekday()) + datetime.timedelta(days=7)
while week.isoformat() in free:
    week += datetime.timedelta(days=7)
print(week.isoformat())
EOF
    )
    due=$(q "$backend" "$where" "SELECT COUNT(*) FROM rent_account WHERE weekly_charge_pence > 0 AND closed_on IS NULL")
    say "$backend: charge-run --week $week (latest charge $last; about $due open accounts with a charge)"
    cut -d' ' -f1 /proc/loadavg >"$work/out/charge-run-$backend.loadavg"
    t0=$(date +%s.%N)
    charge_status=0
    timeout "$seed_timeout" "$bin" charge-run --week "$week" >"$work/charge-run-$backend.log" 2>&1 || charge_status=$?
    t1=$(date +%s.%N)
    tail -n 3 "$work/charge-run-$backend.log" | sed 's/^/    /' >&2
    if [ "$charge_status" -ne 0 ]; then
      warn "$backend: charge-run failed (status $charge_status)"
      failed+=("charge-run-$backend")
    else
      python3 - "$work/out/charge-run-$backend.json" "$backend" "$week" "$t0" "$t1" "$work/charge-run-$backend.log" <<'EOF'
import json, re, sys
out, backend, week, t0, t1, log = sys.argv[1:]
text = open(log, errors="replace").read()
m = re.search(r"(\d+) accounts charged, (\S+) in total, (\d+) already charged, (\d+) in a rent-free week \(([\d.]+)s\)", text)
elapsed = float(t1) - float(t0)
posted = int(m.group(1)) if m else None
json.dump({"kind": "charge-run", "backend": backend, "week": week, "elapsed_s": round(elapsed, 3),
           "accounts": posted, "total": m.group(2) if m else None,
           "already_charged": int(m.group(3)) if m else None,
           "run_s": float(m.group(5)) if m else None,
           "accounts_per_s": round(posted / elapsed, 1) if posted and elapsed > 0 else None,
           "output_tail": text.splitlines()[-3:]}, open(out, "w"), indent=2)
EOF
      if ! grep -q "accounts charged" "$work/charge-run-$backend.log" || grep -q " 0 accounts charged" "$work/charge-run-$backend.log"; then
        warn "$backend: the charge run charged nothing"
        failed+=("charge-run-$backend")
      fi
    fi
  fi
done
rb=""; for b in sqlite postgres; do selected "reconcile-$b" && rb+="$b "; done; [ -z "$rb" ] || BENCH_RECONCILE_BACKENDS="$rb" BENCH_SKIP_BUILD=1 BENCH_BIN="$bin" BENCH_OUT="$work/out" "$DOORSTEP_ROOT/scripts/bench-reconcile.sh" || failed+=("reconcile")
ib=""; for b in sqlite postgres; do selected "import-$b" && ib+="$b "; done; [ -z "$ib" ] || BENCH_BACKENDS="$ib" BENCH_SKIP_BUILD=1 BENCH_BIN="$bin" BENCH_OUT="$work/out" "$DOORSTEP_ROOT/scripts/bench-import.sh" || failed+=("import")
BENCH_SKIP_BUILD=1 BENCH_BIN="$bin" BENCH_PAY_OUT="$work/out" "$DOORSTEP_ROOT/scripts/bench-payments.sh" || failed+=("notify (see its table above)")

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p bench-results
if [ "$reuse" = 1 ]; then
  scale="(reused database)" years="(reused database)"
  database=$(echo "${BENCH_SQLITE_DB:-} $pg_db" | xargs)
else
  database=fresh
fi
BENCH_STAMP=$stamp BENCH_CONFIG_SCALE=$scale BENCH_CONFIG_YEARS=$years BENCH_CONFIG_RATE="$rates" \
  BENCH_CONFIG_DURATION=$duration BENCH_CONFIG_WARMUP=$warmup BENCH_CONFIG_CONNECTIONS=$connections \
  BENCH_CONFIG_SCENARIOS=$filter BENCH_CONFIG_ACCOUNTS=$n_accounts BENCH_CONFIG_REUSE=$reuse \
  BENCH_CONFIG_DATABASE="$database" \
  python3 - "$work/out" "bench-results/$stamp.json" "$(printf '%s\n' "${failed[@]:-}")" <<'EOF'
import glob, json, os, platform, subprocess, sys
out_dir, dest = sys.argv[1], sys.argv[2]
failed = [f for f in sys.argv[3].splitlines() if f.strip()]
env = os.environ

def cmd(*args):
    try:
        return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        return None

cpu = None
try:
    cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except Exception:
    pass
kinds = ["seed", "org", "baseline-summary", "account-summary", "history", "charge-run"]

def rank(path):
    key = os.path.basename(path)[:-5]
    name, _, rate = key.partition("@")
    backend = "postgres" if name.endswith("-postgres") else "sqlite"
    kind = name.rsplit("-", 1)[0]
    return (backend != "sqlite", kinds.index(kind) if kind in kinds else 99, int(rate or 0), key)

scenarios = {}
for path in sorted(glob.glob(os.path.join(out_dir, "*.json")), key=rank):
    name = os.path.basename(path)[:-5]
    scenarios[name] = json.load(open(path))
    try:
        # Other work on the machine during a run makes its figures noisy; say how much.
        scenarios[name]["loadavg_1m_before"] = float(open(path[:-5] + ".loadavg").read())
    except (OSError, ValueError):
        pass

# How many times slower the real account summary is than the raw-SQL baseline.
ratios = {}
for name, v in scenarios.items():
    if not name.startswith("account-summary-") or "measured" not in v:
        continue
    base = scenarios.get("baseline-summary-" + name[len("account-summary-"):])
    if not base or "measured" not in base:
        continue
    real_l, base_l = v["measured"]["latency_ms"], base["measured"]["latency_ms"]
    ratios[name[len("account-summary-"):]] = {
        q: round(real_l[q] / base_l[q], 2) if base_l[q] > 0 else None for q in ("p50", "p90", "p99")
    }

doc = {
    "timestamp": env["BENCH_STAMP"],
    "git_commit": cmd("git", "rev-parse", "HEAD"),
    "git_dirty": bool(cmd("git", "status", "--porcelain", "--untracked-files=no")),
    "host": {"cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
             "rustc": cmd("rustc", "--version")},
    "config": {k: env["BENCH_CONFIG_" + k.upper()]
               for k in ("scale", "years", "rate", "duration", "warmup", "connections", "scenarios",
                         "accounts", "reuse", "database")},
    "failed": failed,
    "scenarios": scenarios,
    "summary_vs_baseline": ratios,
}
text = json.dumps(doc, indent=2) + "\n"
open(dest, "w").write(text)
open(os.path.join(os.path.dirname(dest), "latest.json"), "w").write(text)

print()
seeds = [(k, v) for k, v in scenarios.items() if v.get("kind") == "seed"]
loads = [(k, v) for k, v in scenarios.items() if "measured" in v]
charges = [(k, v) for k, v in scenarios.items() if v.get("kind") == "charge-run"]
if seeds:
    print(f"{'seed-demo':<16}{'scale':>7}{'years':>6}{'rows':>12}{'seconds':>10}{'rows/s':>12}")
    for k, v in seeds:
        print(f"{k:<16}{v['scale']:>7}{v['years']:>6}{v['rows']:>12,}{v['elapsed_s']:>10.1f}{v['rows_per_s'] or 0:>12,.0f}")
    print()
if loads:
    w = max(16, max(len(k) for k, _ in loads) + 1)
    print(f"{'open-model GET':<{w}}{'target/s':>9}{'got/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
          f"{'p99.9 ms':>10}{'max ms':>9}{'errors':>8}{'uncorr p99':>12}")
    for k, v in loads:
        m = v["measured"]; l = m["latency_ms"]
        print(f"{k:<{w}}{v['rate']:>9.0f}{m['achieved_rate']:>9.1f}{l['p50']:>9.3f}{l['p90']:>9.3f}{l['p99']:>9.3f}"
              f"{l['p99_9']:>10.3f}{l['max']:>9.3f}{m['errors']['total']:>8}{m['service_time_ms']['p99']:>12.3f}")
    print("  latency from each request's scheduled send time (coordinated omission corrected);")
    print("  'uncorr p99' is from the actual send, as a closed-model tool would report it.")
    print()
if ratios:
    print("account summary vs the raw-SQL baseline (same accounts, same rate): times slower")
    for k, r in ratios.items():
        print(f"  {k:<24} p50 {r['p50']}x   p90 {r['p90']}x   p99 {r['p99']}x")
    print()
if charges:
    print(f"{'charge-run':<20}{'week':>12}{'accounts':>10}{'seconds':>10}{'accounts/s':>12}")
    for k, v in charges:
        print(f"{k:<20}{v['week']:>12}{v['accounts'] or 0:>10,}{v['elapsed_s']:>10.1f}{v['accounts_per_s'] or 0:>12,.0f}")
    print()
busy = [k for k, v in scenarios.items() if v.get("loadavg_1m_before", 0) > 0.5 * (os.cpu_count() or 1)]
if busy:
    print(f"NOTE: the machine was busy with other work before {', '.join(busy)} (1-minute load average"
          f" above half the {os.cpu_count()} CPUs): those figures are noisy; see loadavg_1m_before.")
for f in failed:
    print(f"FAILED: {f}")
print(f"results: {dest} (and bench-results/latest.json)")
EOF

[ ${#failed[@]} -eq 0 ] || exit 1
