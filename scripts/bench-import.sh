#!/usr/bin/env bash
# Housing management system import benchmark: `doorstep import DIR` of the demo landlord
# group written as an HMS export, into a fresh database that holds only the demo landlords,
# on SQLite and on PostgreSQL (scenarios import-sqlite, import-postgres).
#
#   1. once: `seed-demo --export-hms DIR --scale BENCH_SCALE --years BENCH_YEARS` writes the
#      export (at --scale 130000 --years 10, about 267,000 accounts and 115 million
#      transactions, 8-10 GB; the default here is small);
#   per backend:
#   2. a fresh database, `migrate`, `seed-demo --scale 0` (the landlords and their officers,
#      no homes: the import never creates an organisation);
#   3. timed: `doorstep import DIR` (the whole command: both readings of transactions.csv,
#      the checks, the writes); its report must say committed, with every transaction
#      posted, and the ledger must then be consistent (every account's cached balance,
#      version and last entry date against its entries, and the latest running balance);
#   4. timed: `doorstep import DIR` again, which must change nothing (every row unchanged,
#      every transaction already posted).
#
# Prints rows, seconds, rows/s and peak RSS (from /usr/bin/time -v, or VmHWM polled from
# /proc) per run, a table at the end, and writes import-<backend>.json into BENCH_OUT (when a
# caller collects results) or bench-results/import-<UTC timestamp>.json. Exits 1 if a run
# failed or its counts were wrong.
#
# Environment (defaults in brackets):
#   BENCH_BACKENDS          "sqlite postgres" or one of them [sqlite postgres]
#   BENCH_SCALE             tenancies in the export [2000]
#   BENCH_YEARS             years of rent history [10]
#   BENCH_SEED              the generator's seed [1]
#   BENCH_IMPORT_TIMEOUT    seconds before a run is abandoned [21600]
#   BENCH_PG_URL            admin URL [postgres://postgres@127.0.0.1:5432/postgres]
#   BENCH_IMPORT_PG_DB      the PostgreSQL database, dropped and recreated [doorstep_bench_import]
#   BENCH_SKIP_BUILD=1      use the release binary already built at $CARGO_TARGET_DIR/release/doorstep
#                           (BENCH_BIN names another)
#   BENCH_KEEP=1            keep the temp dir (the export, the logs, the SQLite file) and the database
#   BENCH_EXPORT_DIR        an export already written by `seed-demo --export-hms` with the same scale,
#                           years and seed: step 1 is skipped and the directory is left as it was
#                           (the full-scale export takes minutes to write and 9 GB to keep)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$DOORSTEP_ROOT"

backends="${BENCH_BACKENDS:-sqlite postgres}"
scale="${BENCH_SCALE:-2000}"
years="${BENCH_YEARS:-10}"
seed="${BENCH_SEED:-1}"
run_timeout="${BENCH_IMPORT_TIMEOUT:-21600}"
pg_admin="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_db="${BENCH_IMPORT_PG_DB:-doorstep_bench_import}"
out_dir="${BENCH_OUT:-}"

[[ $pg_db =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_IMPORT_PG_DB must be a plain lower-case name"
for v in "$scale" "$years" "$seed" "$run_timeout"; do
  [[ $v =~ ^[0-9]+$ ]] || die "sizes must be whole numbers (got $v)"
done
for b in $backends; do
  case $b in sqlite | postgres) ;; *) die "BENCH_BACKENDS: unknown backend $b" ;; esac
done

"$DOORSTEP_ROOT/scripts/ensure-tools.sh" bench
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  "$DOORSTEP_ROOT/scripts/timed.sh" "release build" nice -n 10 cargo build --release -p doorstep-api
fi
bin="${BENCH_BIN:-$CARGO_TARGET_DIR/release/doorstep}"
[ -x "$bin" ] || die "no doorstep binary at $bin"

work=$(mktemp -d "${TMPDIR:-/tmp}/doorstep-bench-import.XXXXXX")
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

# measure NAME COMMAND...: runs COMMAND (stdout to $work/NAME.out, stderr to $work/NAME.log)
# and writes its wall-clock seconds to $work/NAME.secs and its peak resident set in KiB to
# $work/NAME.rss. Returns the command's status.
measure() {
  local name=$1 status=0 t0 t1 pid hwm=0 v
  shift
  t0=$(date +%s.%N)
  if [ -x /usr/bin/time ]; then
    timeout "$run_timeout" /usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.log" || status=$?
    t1=$(date +%s.%N)
    hwm=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/$name.time" 2>/dev/null || true)
  else
    # No GNU time: poll the process's high-water mark until it exits.
    "$@" >"$work/$name.out" 2>"$work/$name.log" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
      v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
      [ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
      if awk -v a="$t0" -v b="$(date +%s.%N)" -v l="$run_timeout" 'BEGIN { exit !(b - a > l) }'; then
        stop_pid "$pid"
        break
      fi
      sleep 0.2
    done
    wait "$pid" || status=$?
    t1=$(date +%s.%N)
  fi
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >"$work/$name.secs"
  echo "${hwm:-0}" >"$work/$name.rss"
  return "$status"
}

# What `doorstep ledger check` proves, and more (version and last entry date), for every
# account, in one grouped pass: the number of accounts that are wrong. (`ledger check` itself
# finds each account's latest entry with a correlated MAX(id), which PostgreSQL plans as a
# backward scan of the primary key: minutes when each account's entries are contiguous, as
# an import of a file grouped by account makes them.)
CHECK_SQL="SELECT COUNT(*) FROM rent_account a
  LEFT JOIN (SELECT account_id, SUM(amount_pence) AS total, COUNT(*) AS n, MAX(id) AS last_id,
                    MAX(effective_date) AS last_date
               FROM ledger_entry GROUP BY account_id) s ON s.account_id = a.id
  LEFT JOIN ledger_entry e ON e.id = s.last_id
 WHERE a.balance_pence <> COALESCE(s.total, 0)
    OR a.version <> COALESCE(s.n, 0)
    OR COALESCE(CAST(a.last_entry_date AS TEXT), '-') <> COALESCE(CAST(s.last_date AS TEXT), '-')
    OR (e.id IS NOT NULL AND e.balance_after_pence <> a.balance_pence);"

if [ -n "${BENCH_EXPORT_DIR:-}" ]; then
  export_dir="$BENCH_EXPORT_DIR"
  [ -s "$export_dir/transactions.csv" ] || die "BENCH_EXPORT_DIR: no transactions.csv in $export_dir"
  say "import: using the export in $export_dir (said to be scale $scale, $years years, seed $seed)"
  t0=$(date +%s.%N)
  t1=$t0
else
  say "import: writing the export (seed-demo --export-hms, scale $scale, $years years, seed $seed)"
  export_dir="$work/export"
  t0=$(date +%s.%N)
  DOORSTEP_LOG="${DOORSTEP_LOG:-warn}" "$bin" seed-demo --export-hms "$export_dir" --scale "$scale" --years "$years" \
    --seed "$seed" >"$work/export.log" 2>&1 || { tail -n 20 "$work/export.log" >&2; die "seed-demo --export-hms failed"; }
  t1=$(date +%s.%N)
fi
export_bytes=$(du -sb "$export_dir" | cut -f1)
# Data rows per file (the demo writes no line breaks inside fields).
python3 - "$export_dir" >"$work/rows.json" <<'EOF'
import json, os, sys
d = sys.argv[1]
rows = {}
for name in sorted(os.listdir(d)):
    if name.endswith(".csv"):
        with open(os.path.join(d, name), "rb") as f:
            rows[name] = max(sum(1 for _ in f) - 1, 0)
json.dump(rows, sys.stdout)
EOF
say "import: export of $(python3 -c "import json; r = json.load(open('$work/rows.json')); print(f'{sum(r.values()):,} rows, {r.get(\"transactions.csv\", 0):,} transactions')"), $(du -sh "$export_dir" | cut -f1), in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"

for backend in $backends; do
  say "import-$backend: fresh database"
  if [ "$backend" = sqlite ]; then
    mkdir -p "$work/sqlite"
    rm -f "$work/sqlite/doorstep.db"*
    url="sqlite://$work/sqlite/doorstep.db?mode=rwc"
  else
    DOORSTEP_TEST_PG_URL="$pg_admin" "$DOORSTEP_ROOT/scripts/ensure-pg.sh"
    psql "$pg_admin" -XqAt -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null
    psql "$pg_admin" -XqAt -c "CREATE DATABASE $pg_db" >/dev/null
    pg_made=true
    url="${pg_admin%/*}/$pg_db"
  fi
  export DOORSTEP_DATABASE_URL="$url" DOORSTEP_LOG="${DOORSTEP_LOG:-warn}"
  "$bin" migrate >"$work/migrate-$backend.log" 2>&1 || { cat "$work/migrate-$backend.log" >&2; die "$backend: migrate failed"; }
  "$bin" seed-demo --scale 0 --seed "$seed" >"$work/landlords-$backend.log" 2>&1 ||
    { tail -n 20 "$work/landlords-$backend.log" >&2; die "$backend: seed-demo --scale 0 failed"; }

  say "import-$backend: doorstep import (timed)"
  cut -d' ' -f1 /proc/loadavg >"$work/out/import-$backend.loadavg"
  if ! measure "first-$backend" "$bin" import "$export_dir"; then
    tail -n 20 "$work/first-$backend.log" "$work/first-$backend.out" >&2
    warn "$backend: the import failed"
    failed+=("import-$backend")
    continue
  fi
  if [ "$backend" = sqlite ]; then
    bad=$(printf '%s\n' "$CHECK_SQL" | sqlite3 "$work/sqlite/doorstep.db" 2>&1) || bad="sqlite3: $bad"
  else
    bad=$(printf '%s\n' "$CHECK_SQL" | psql "$url" -XqAt -v ON_ERROR_STOP=1 2>&1) || bad="psql: $bad"
  fi
  if [ "$bad" != 0 ]; then
    warn "$backend: the ledger is not consistent after the import ($bad accounts wrong)"
    failed+=("import-$backend (ledger check)")
  fi

  say "import-$backend: the same files again (timed)"
  measure "again-$backend" "$bin" import "$export_dir" || {
    tail -n 20 "$work/again-$backend.log" "$work/again-$backend.out" >&2
    failed+=("import-$backend (second run)")
  }

  python3 - "$work" "$backend" "$scale" "$years" "$export_bytes" <<'EOF' || failed+=("import-$backend (counts)")
import json, os, re, sys
work, backend, scale, years, export_bytes = sys.argv[1:]
rows = json.load(open(os.path.join(work, "rows.json")))

def table(name):
    """The per-file table of an import report: file -> (rows, inserted, updated, unchanged, posted, already, skipped)."""
    out, outcome = {}, None
    path = os.path.join(work, name + ".out")
    text = open(path).read() if os.path.exists(path) else ""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 8 and parts[0].endswith(".csv"):
            out[parts[0]] = [None if p == "-" else int(p) for p in parts[1:]]
        m = re.match(r"^(committed|REJECTED)", line)
        if m:
            outcome = m.group(1)
    return out, outcome

def figures(name):
    secs = float(open(os.path.join(work, name + ".secs")).read())
    rss_kb = int(open(os.path.join(work, name + ".rss")).read().strip() or 0)
    return secs, rss_kb

total = sum(rows.values())
tx = rows.get("transactions.csv", 0)
problems = []
first, first_outcome = table(f"first-{backend}")
again, again_outcome = table(f"again-{backend}")
if first_outcome != "committed":
    problems.append(f"first run: {first_outcome}")
for f, n in rows.items():
    got = first.get(f)
    if got is None or got[0] != n or got[6] != 0:
        problems.append(f"first run, {f}: {got} for {n} rows")
    elif f == "transactions.csv" and got[4] != n:
        problems.append(f"first run: {got[4]} of {n} transactions posted")
    elif f != "transactions.csv" and got[1] != n:
        problems.append(f"first run, {f}: {got[1]} of {n} rows inserted")
if again_outcome != "committed":
    problems.append(f"second run: {again_outcome}")
for f, n in rows.items():
    got = again.get(f)
    changed = None if got is None else (got[4] if f == "transactions.csv" else got[1] + got[2])
    if got is None or changed != 0 or got[6] != 0:
        problems.append(f"second run, {f}: {got} (it must change nothing)")
secs, rss = figures(f"first-{backend}")
rsecs, rrss = figures(f"again-{backend}")
doc = {
    "kind": "import", "backend": backend, "scale": int(scale), "years": int(years),
    "rows": total, "transactions": tx, "export_bytes": int(export_bytes),
    "elapsed_s": round(secs, 3), "rows_per_s": round(total / secs, 1), "peak_rss_mib": round(rss / 1024, 1),
    "rerun_s": round(rsecs, 3), "rerun_rows_per_s": round(total / rsecs, 1), "rerun_peak_rss_mib": round(rrss / 1024, 1),
    "problems": problems,
}
json.dump(doc, open(os.path.join(work, "out", f"import-{backend}.json"), "w"), indent=2)
print(f"import-{backend}: {total:,} rows ({tx:,} transactions) in {secs:.1f} s ({total / secs:,.0f} rows/s), "
      f"peak RSS {rss / 1024:,.0f} MiB; same files again: {rsecs:.1f} s ({total / rsecs:,.0f} rows/s), "
      f"peak RSS {rrss / 1024:,.0f} MiB")
for p in problems:
    print(f"import-{backend}: WRONG: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
  if [ "$backend" = postgres ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
    psql "$pg_admin" -XqAt -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
    pg_made=false
  fi
  if [ "$backend" = sqlite ] && [ "${BENCH_KEEP:-0}" != 1 ]; then
    rm -f "$work/sqlite/doorstep.db"*
  fi
done

python3 - "$work/out" <<'EOF'
import glob, json, os, sys
docs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(sys.argv[1], "import-*.json")))]
if docs:
    print()
    print(f"{'scenario':<17} {'rows':>12} {'s':>8} {'rows/s':>10} {'peak RSS':>10} {'again s':>8} {'rows/s':>10} {'peak RSS':>10}")
    for d in docs:
        print(f"{'import-' + d['backend']:<17} {d['rows']:>12,} {d['elapsed_s']:>8.1f} {d['rows_per_s']:>10,.0f} "
              f"{d['peak_rss_mib']:>6,.0f} MiB {d['rerun_s']:>8.1f} {d['rerun_rows_per_s']:>10,.0f} {d['rerun_peak_rss_mib']:>6,.0f} MiB")
EOF

if [ -n "$out_dir" ]; then
  cp "$work"/out/import-* "$out_dir"/ 2>/dev/null || true
else
  mkdir -p bench-results
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  python3 - "$work/out" "bench-results/import-$stamp.json" <<'EOF'
import glob, json, os, sys
out_dir, dest = sys.argv[1:]
docs = {}
for path in sorted(glob.glob(os.path.join(out_dir, "import-*.json"))):
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
