#!/usr/bin/env bash
# End-of-day reconciliation benchmark: `doorstep reconcile` of a BENCH_RECONCILE_LINES-line
# provider file (1,000,000 by default) against a seeded demo database, on SQLite and on
# PostgreSQL (scenarios reconcile-sqlite, reconcile-postgres; target: a million lines in 60 s
# or less on PostgreSQL).
#
# Per backend:
#   1. a fresh database, `migrate`, `seed-demo --scale BENCH_RECONCILE_SCALE --years 1`;
#   2. a business day of payments that arrived in real time: the file's matched and
#      mismatched lines plus the ones the file will lack, posted to the demo's rent accounts
#      as the webhook would have (kind payment, source provider:sandbox, every channel), with
#      running balances and cached balances kept right. This is set-wise SQL in this script —
#      a million signed webhooks would take hours to set up — and `doorstep ledger check`
#      proves the result consistent before anything is measured;
#   3. the provider's file for that day, in time order: 99.7 % matched, and 1,000 lines
#      each (BENCH_RECONCILE_EXCEPTIONS) with another amount, missing from the ledger (posted
#      late, one by one, by the run), for no known account (held in suspense), plus as many
#      ledger payments the file lacks;
#   4. timed: `doorstep reconcile FILE --format json` (the whole command: reading, checking,
#      loading, matching, late postings, report); the counts are checked against the mix
#      above, the ledger is checked again, and the same file is run a second time (it must
#      change nothing).
#
# Prints seconds and lines/s per backend and writes reconcile-<backend>.json into BENCH_OUT
# (bench.sh's results folder when it calls this script) or bench-results/reconcile-<UTC
# timestamp>.json. Exits 1 if a run failed or its counts were wrong.
#
# Environment (defaults in brackets):
#   BENCH_RECONCILE_BACKENDS    "sqlite postgres" or one of them [postgres sqlite]
#   BENCH_RECONCILE_LINES       lines in the file [1000000]
#   BENCH_RECONCILE_EXCEPTIONS  lines of each exception kind [1000]
#   BENCH_RECONCILE_SCALE       tenancies seeded: the accounts paid into [2000]
#   BENCH_RECONCILE_TIMEOUT     seconds before a run is abandoned [1800]
#   BENCH_PG_URL                admin URL [postgres://postgres@127.0.0.1:5432/postgres]
#   BENCH_RECONCILE_PG_DB       the PostgreSQL database, dropped and recreated [doorstep_bench_reconcile]
#   BENCH_SKIP_BUILD=1          use the release binary already built (BENCH_BIN names another)
#   BENCH_KEEP=1                keep the temp dir (the file, the reports) and the database
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$DOORSTEP_ROOT"

backends="${BENCH_RECONCILE_BACKENDS:-postgres sqlite}"
lines="${BENCH_RECONCILE_LINES:-1000000}"
each="${BENCH_RECONCILE_EXCEPTIONS:-1000}"
scale="${BENCH_RECONCILE_SCALE:-2000}"
run_timeout="${BENCH_RECONCILE_TIMEOUT:-1800}"
pg_admin="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_db="${BENCH_RECONCILE_PG_DB:-doorstep_bench_reconcile}"
out_dir="${BENCH_OUT:-}"

[[ $pg_db =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_RECONCILE_PG_DB must be a plain lower-case name"
for v in "$lines" "$each" "$scale"; do [[ $v =~ ^[0-9]+$ ]] || die "sizes must be whole numbers (got $v)"; done
matched=$((lines - 3 * each))
[ "$matched" -ge 0 ] || die "BENCH_RECONCILE_LINES must be at least 3 × BENCH_RECONCILE_EXCEPTIONS"
# Payments in the ledger before the run: matched, mismatched and those the file lacks.
realtime=$((matched + 2 * each))
# The business day: yesterday (UTC), so that no line is in the future.
day=$(date -u -d yesterday +%Y-%m-%d)
# Spread the day's payments over 23 h 50 min.
step_ms=$((85800000 / (realtime + 2 * each)))

"$DOORSTEP_ROOT/scripts/ensure-tools.sh" bench
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  "$DOORSTEP_ROOT/scripts/timed.sh" "release build" nice -n 10 cargo build --release -p doorstep-api
fi
bin="${BENCH_BIN:-$CARGO_TARGET_DIR/release/doorstep}"
[ -x "$bin" ] || die "no doorstep binary at $bin"

work=$(mktemp -d "${TMPDIR:-/tmp}/doorstep-bench-reconcile.XXXXXX")
pg_made=false
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
cleanup() {
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
mkdir -p "$work/out"

# The fixture and the file, in each database's SQL. Placeholders: @DAY@, @REALTIME@,
# @MATCHED@, @EACH@, @STEP_MS@. Payment n (1..REALTIME) goes to account (n mod accounts);
# n <= MATCHED are listed as they are, the next EACH with 1p more, the last EACH not at all.
# Late lines are `pay_bench_late_i` for real accounts, unknown ones for account `NOBODYi`.
PG_FIXTURE=$(cat <<'SQL'
BEGIN;
CREATE TEMP TABLE acct AS
  SELECT (row_number() OVER (ORDER BY id)) - 1 AS k, id, account_number, balance_pence FROM rent_account;
CREATE TEMP TABLE pay AS
  SELECT n, a.id AS account_id, a.account_number,
         500 + (n * 7919) % 50000 AS pence,
         (ARRAY['web','app','telephone','retail_cash','recurring_card','pay_by_link'])[1 + n % 6] AS channel,
         TIMESTAMPTZ '@DAY@ 00:05:00+00' + (n * @STEP_MS@) * INTERVAL '1 millisecond' AS paid_at
    FROM generate_series(1::bigint, @REALTIME@) AS n
    JOIN acct a ON a.k = n % (SELECT COUNT(*) FROM acct);
INSERT INTO ledger_entry (account_id, kind, amount_pence, effective_date, posted_at, description, source, source_ref,
                          channel, balance_after_pence)
SELECT p.account_id, 'payment', -p.pence, DATE '@DAY@', p.paid_at + INTERVAL '2 seconds', 'Card payment', 'provider:sandbox',
       'pay_bench_' || p.n, p.channel,
       a.balance_pence - SUM(p.pence) OVER (PARTITION BY p.account_id ORDER BY p.n)
  FROM pay p JOIN acct a ON a.id = p.account_id
 ORDER BY p.n;
UPDATE rent_account r SET balance_pence = r.balance_pence - s.total, version = r.version + s.cnt,
       last_entry_date = GREATEST(COALESCE(r.last_entry_date, DATE '@DAY@'), DATE '@DAY@')
  FROM (SELECT account_id, SUM(pence) AS total, COUNT(*) AS cnt FROM pay GROUP BY account_id) s
 WHERE r.id = s.account_id;
COMMIT;
ANALYZE ledger_entry;
ANALYZE rent_account;
SQL
)
PG_FILE=$(cat <<'SQL'
\copy (SELECT payment_id, account_number, amount_pence, channel, to_char(paid_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS paid_at, '' AS reference FROM (SELECT 'pay_bench_' || n AS payment_id, account_number, pence + CASE WHEN n > @MATCHED@ THEN 1 ELSE 0 END AS amount_pence, channel, paid_at FROM pay WHERE n <= @MATCHED@ + @EACH@ UNION ALL SELECT 'pay_bench_late_' || g.i, a.account_number, 1000 + g.i, 'retail_cash', TIMESTAMPTZ '@DAY@ 00:05:00+00' + ((@REALTIME@ + g.i) * @STEP_MS@) * INTERVAL '1 millisecond' FROM generate_series(1, @EACH@) AS g(i) JOIN acct a ON a.k = (g.i * 7) % (SELECT COUNT(*) FROM acct) UNION ALL SELECT 'pay_bench_nobody_' || g.i, 'NOBODY' || g.i, 700 + g.i, 'pay_by_link', TIMESTAMPTZ '@DAY@ 00:05:00+00' + ((@REALTIME@ + @EACH@ + g.i) * @STEP_MS@) * INTERVAL '1 millisecond' FROM generate_series(1, @EACH@) AS g(i)) f ORDER BY paid_at, payment_id) TO '@FILE@' WITH (FORMAT csv, HEADER)
SQL
)
SQLITE_FIXTURE=$(cat <<'SQL'
PRAGMA journal_mode = WAL;
BEGIN;
CREATE TEMP TABLE acct AS
  SELECT (row_number() OVER (ORDER BY id)) - 1 AS k, id, account_number, balance_pence FROM rent_account;
CREATE TEMP TABLE pay AS
  WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < @REALTIME@)
  SELECT n, a.id AS account_id, a.account_number,
         500 + (n * 7919) % 50000 AS pence,
         CASE n % 6 WHEN 0 THEN 'web' WHEN 1 THEN 'app' WHEN 2 THEN 'telephone' WHEN 3 THEN 'retail_cash'
                    WHEN 4 THEN 'recurring_card' ELSE 'pay_by_link' END AS channel,
         (julianday('@DAY@ 00:05:00') + n * @STEP_MS@ / 86400000.0) AS paid_jd
    FROM s JOIN acct a ON a.k = s.n % (SELECT COUNT(*) FROM acct);
INSERT INTO ledger_entry (account_id, kind, amount_pence, effective_date, posted_at, description, source, source_ref,
                          channel, balance_after_pence)
SELECT p.account_id, 'payment', -p.pence, '@DAY@', strftime('%Y-%m-%dT%H:%M:%f+00:00', p.paid_jd + 2 / 86400.0),
       'Card payment', 'provider:sandbox', 'pay_bench_' || p.n, p.channel,
       a.balance_pence - SUM(p.pence) OVER (PARTITION BY p.account_id ORDER BY p.n)
  FROM pay p JOIN acct a ON a.id = p.account_id
 ORDER BY p.n;
UPDATE rent_account SET balance_pence = balance_pence - s.total, version = version + s.cnt,
       last_entry_date = MAX(COALESCE(last_entry_date, '@DAY@'), '@DAY@')
  FROM (SELECT account_id, SUM(pence) AS total, COUNT(*) AS cnt FROM pay GROUP BY account_id) AS s
 WHERE rent_account.id = s.account_id;
COMMIT;
ANALYZE;
SQL
)
SQLITE_FILE=$(cat <<'SQL'
.headers on
.mode csv
.once @FILE@
SELECT payment_id, account_number, amount_pence, channel, strftime('%Y-%m-%dT%H:%M:%fZ', jd) AS paid_at, '' AS reference FROM (SELECT 'pay_bench_' || n AS payment_id, account_number, pence + CASE WHEN n > @MATCHED@ THEN 1 ELSE 0 END AS amount_pence, channel, paid_jd AS jd FROM pay WHERE n <= @MATCHED@ + @EACH@ UNION ALL SELECT 'pay_bench_late_' || g.i, a.account_number, 1000 + g.i, 'retail_cash', julianday('@DAY@ 00:05:00') + (@REALTIME@ + g.i) * @STEP_MS@ / 86400000.0 FROM (WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < @EACH@) SELECT i FROM s) g JOIN acct a ON a.k = (g.i * 7) % (SELECT COUNT(*) FROM acct) UNION ALL SELECT 'pay_bench_nobody_' || g.i, 'NOBODY' || g.i, 700 + g.i, 'pay_by_link', julianday('@DAY@ 00:05:00') + (@REALTIME@ + @EACH@ + g.i) * @STEP_MS@ / 86400000.0 FROM (WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < @EACH@) SELECT i FROM s) g) ORDER BY jd, payment_id;
SQL
)

fill() {
  sed -e "s|@DAY@|$day|g" -e "s|@REALTIME@|$realtime|g" -e "s|@MATCHED@|$matched|g" -e "s|@EACH@|$each|g" \
    -e "s|@STEP_MS@|$step_ms|g" -e "s|@FILE@|$file|g"
}

for backend in $backends; do
  case $backend in sqlite | postgres) ;; *) die "BENCH_RECONCILE_BACKENDS: unknown backend $backend" ;; esac
  say "reconcile-$backend: fresh database"
  file="$work/$backend-$day.csv"
  if [ "$backend" = sqlite ]; then
    mkdir -p "$work/sqlite"
    db_file="$work/sqlite/doorstep.db"
    url="sqlite://$db_file?mode=rwc"
    run_sql() { sqlite3 "$db_file"; }
  else
    DOORSTEP_TEST_PG_URL="$pg_admin" "$DOORSTEP_ROOT/scripts/ensure-pg.sh"
    psql "$pg_admin" -XqAt -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null
    psql "$pg_admin" -XqAt -c "CREATE DATABASE $pg_db" >/dev/null
    pg_made=true
    url="${pg_admin%/*}/$pg_db"
    run_sql() { psql "$url" -XqAt -v ON_ERROR_STOP=1; }
  fi
  export DOORSTEP_DATABASE_URL="$url" DOORSTEP_LOG="${DOORSTEP_LOG:-warn}"
  "$bin" migrate >"$work/migrate-$backend.log" 2>&1 || { cat "$work/migrate-$backend.log" >&2; die "$backend: migrate failed"; }
  say "reconcile-$backend: seed-demo --scale $scale --years 1"
  "$bin" seed-demo --scale "$scale" --years 1 >"$work/seed-$backend.log" 2>&1 ||
    { tail -n 20 "$work/seed-$backend.log" >&2; die "$backend: seed-demo failed"; }

  say "reconcile-$backend: $realtime payments of $day posted as they arrived, and the provider's file of $lines lines"
  t0=$(date +%s.%N)
  if [ "$backend" = sqlite ]; then
    # The temporary tables live in one sqlite3 session: fixture and file together.
    { printf '%s\n' "$SQLITE_FIXTURE" | fill; printf '%s\n' "$SQLITE_FILE" | fill; } | run_sql >/dev/null
  else
    { printf '%s\n' "$PG_FIXTURE" | fill; printf '%s\n' "$PG_FILE" | fill; } | run_sql >/dev/null
  fi
  t1=$(date +%s.%N)
  got=$(($(wc -l <"$file") - 1))
  say "reconcile-$backend: fixture and file in $(python3 -c "print(round($t1 - $t0, 1))") s; the file has $got lines ($(du -h "$file" | cut -f1))"
  [ "$got" -eq "$lines" ] || die "$backend: the file has $got lines, not $lines"
  "$bin" ledger check >"$work/check-before-$backend.log" 2>&1 ||
    { cat "$work/check-before-$backend.log" >&2; die "$backend: the fixture left the ledger inconsistent"; }

  say "reconcile-$backend: doorstep reconcile (timed)"
  cut -d' ' -f1 /proc/loadavg >"$work/out/reconcile-$backend.loadavg"
  status=0
  t0=$(date +%s.%N)
  timeout "$run_timeout" "$bin" reconcile "$file" --format json >"$work/run-$backend.json" 2>"$work/run-$backend.log" || status=$?
  t1=$(date +%s.%N)
  if [ "$status" -ne 0 ]; then
    tail -n 20 "$work/run-$backend.log" >&2
    warn "$backend: reconcile failed (status $status)"
    failed+=("reconcile-$backend")
    continue
  fi
  "$bin" ledger check >"$work/check-after-$backend.log" 2>&1 || { cat "$work/check-after-$backend.log" >&2; failed+=("reconcile-$backend (ledger check)"); }
  t2=$(date +%s.%N)
  again=0
  "$bin" reconcile "$file" --format json >"$work/again-$backend.json" 2>>"$work/run-$backend.log" || again=$?
  t3=$(date +%s.%N)
  [ "$again" -eq 0 ] || failed+=("reconcile-$backend (second run)")
  python3 - "$work/out/reconcile-$backend.json" "$backend" "$lines" "$matched" "$each" "$t0" "$t1" "$t2" "$t3" \
    "$work/run-$backend.json" "$work/again-$backend.json" "$scale" "$day" <<'EOF' || failed+=("reconcile-$backend (counts)")
import json, sys
out, backend, lines, matched, each, t0, t1, t2, t3, run_file, again_file, scale, day = sys.argv[1:]
lines, matched, each = int(lines), int(matched), int(each)
run, again = json.load(open(run_file)), json.load(open(again_file))
counts = run["report"]["run"]["counts"]
want = {"matched": matched, "late": each, "amount_mismatch": each, "unknown_account": each, "not_in_file": each}
got = {k: counts[k] for k in want}
elapsed = float(t1) - float(t0)
doc = {"kind": "reconcile", "backend": backend, "lines": lines, "business_date": day, "seeded_tenancies": int(scale),
       "elapsed_s": round(elapsed, 3), "lines_per_s": round(lines / elapsed, 1),
       "run_elapsed_s": round(run["elapsed_ms"] / 1000, 3), "counts": got, "expected": want,
       "rerun_s": round(float(t3) - float(t2), 3), "rerun_outcome": again["outcome"],
       "target_s": 60 if backend == "postgres" else None}
json.dump(doc, open(out, "w"), indent=2)
print(f"reconcile-{backend}: {lines:,} lines in {elapsed:.1f} s ({lines / elapsed:,.0f} lines/s; "
      f"{doc['run_elapsed_s']:.1f} s in the run itself); same file again: {again['outcome']} in {doc['rerun_s']:.1f} s")
ok = got == want and again["outcome"] == "already_reconciled"
if not ok:
    print(f"reconcile-{backend}: WRONG: counts {got}, expected {want}; second run {again['outcome']}", file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
  if [ "$backend" = postgres ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
    psql "$pg_admin" -XqAt -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
    pg_made=false
  fi
done

if [ -n "$out_dir" ]; then
  cp "$work"/out/reconcile-* "$out_dir"/ 2>/dev/null || true
else
  mkdir -p bench-results
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  python3 - "$work/out" "bench-results/reconcile-$stamp.json" <<'EOF'
import glob, json, os, sys
out_dir, dest = sys.argv[1:]
docs = {}
for path in sorted(glob.glob(os.path.join(out_dir, "reconcile-*.json"))):
    name = os.path.basename(path)[:-5]
    docs[name] = json.load(open(path))
    try:
        docs[name]["loadavg_1m_before"] = float(open(path[:-5] + ".loadavg").read())
    except (OSError, ValueError):
        pass
json.dump({"scenarios": docs}, open(dest, "w"), indent=2)
print(f"results: {dest}")
EOF
fi
for f in "${failed[@]:-}"; do [ -n "$f" ] && echo "FAILED: $f"; done
[ ${#failed[@]} -eq 0 ]
