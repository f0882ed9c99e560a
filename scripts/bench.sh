#!/usr/bin/env bash
# Scenario benchmarks against the real release binary, on SQLite and on PostgreSQL.
#
#   seed-sqlite, seed-postgres   `doorstep seed-demo --scale S --years Y` into a fresh database:
#                                wall time, rows written (counted in the database), rows/s
#   org-sqlite, org-postgres     GET /api/v1/organisations/pennine-vale under open-model load
#                                at a fixed rate (loadgen): corrected p50/p90/p99/p99.9/max,
#                                achieved rate, errors by kind
#
# Prints a table and writes bench-results/<UTC timestamp>.json and bench-results/latest.json
# (gitignored). Exits 1 if any scenario failed (including more than 1% request errors).
#
# Environment (defaults in brackets):
#   BENCH_SCENARIOS     comma-separated names or parts of names: "seed", "postgres",
#                       "org-sqlite", ... [all]
#   BENCH_SCALE         tenancies to seed [2000]          BENCH_YEARS      years of history [10]
#   BENCH_RATE          requests per second [2000]        BENCH_DURATION   measured span [20s]
#   BENCH_WARMUP        warm-up at the same rate [5s]     BENCH_CONNECTIONS most in flight [64]
#   BENCH_SEED_TIMEOUT  seconds before a seed run is abandoned [600]
#   BENCH_PG_URL        admin URL [postgres://postgres@127.0.0.1:5432/postgres]
#   BENCH_PG_DB         the benchmark database, dropped and recreated per run [doorstep_bench]
#   BENCH_SKIP_BUILD=1  use the binaries already built
#   BENCH_KEEP=1        keep the temp dir and the PostgreSQL database afterwards
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$DOORSTEP_ROOT"

scale="${BENCH_SCALE:-2000}"
years="${BENCH_YEARS:-10}"
rate="${BENCH_RATE:-2000}"
duration="${BENCH_DURATION:-20s}"
warmup="${BENCH_WARMUP:-5s}"
connections="${BENCH_CONNECTIONS:-64}"
seed_timeout="${BENCH_SEED_TIMEOUT:-600}"
pg_admin="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_db="${BENCH_PG_DB:-doorstep_bench}"
filter="${BENCH_SCENARIOS:-all}"
org_path="/api/v1/organisations/pennine-vale"

[[ $pg_db =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_PG_DB must be a plain lower-case name"

all_scenarios=(seed-sqlite seed-postgres org-sqlite org-postgres)
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

for backend in sqlite postgres; do
  want_seed=false want_org=false
  selected "seed-$backend" && want_seed=true
  selected "org-$backend" && want_org=true
  $want_seed || $want_org || continue

  say "$backend: fresh database"
  if [ "$backend" = sqlite ]; then
    mkdir -p "$work/sqlite"
    db_file="$work/sqlite/doorstep.db"
    url="sqlite://$db_file?mode=rwc"
    where=$db_file
  else
    DOORSTEP_TEST_PG_URL="$pg_admin" "$DOORSTEP_ROOT/scripts/ensure-pg.sh"
    psql "$pg_admin" -XqAt -c "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null
    psql "$pg_admin" -XqAt -c "CREATE DATABASE $pg_db" >/dev/null
    pg_made=true
    url="${pg_admin%/*}/$pg_db"
    where=$url
  fi
  export DOORSTEP_DATABASE_URL="$url"
  "$bin" migrate >"$work/migrate-$backend.log" 2>&1 || {
    cat "$work/migrate-$backend.log" >&2
    die "$backend: migrate failed"
  }

  # The load scenario only needs the demo landlord: seed small when the seed is not measured.
  if $want_seed; then s_scale=$scale s_years=$years; else s_scale=50 s_years=1; fi
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
    $want_org && failed+=("org-$backend (not run: no data)")
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

  if $want_org; then
    port=$(free_port)
    base="http://127.0.0.1:$port"
    say "$backend: serving at $base"
    "$bin" serve --addr "127.0.0.1:$port" >"$work/serve-$backend.log" 2>&1 &
    server_pid=$!
    if ! wait_http "$base/readyz" "$server_pid" 60; then
      tail -n 20 "$work/serve-$backend.log" >&2
      warn "$backend: the server did not become ready"
      failed+=("org-$backend")
      stop_pid "$server_pid"
      server_pid=""
      continue
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' "$base$org_path")
    [ "$code" = 200 ] || warn "$backend: GET $org_path answers $code before the load (expected 200)"
    cut -d' ' -f1 /proc/loadavg >"$work/out/org-$backend.loadavg"
    lg_status=0
    "$loadgen" --url "$base$org_path" --rate "$rate" --duration "$duration" --warmup "$warmup" \
      --connections "$connections" --label "org-$backend" --max-error-rate 0.01 \
      --json-out "$work/out/org-$backend.json" || lg_status=$?
    [ "$lg_status" -eq 0 ] || failed+=("org-$backend")
    stop_pid "$server_pid"
    server_pid=""
  fi
done

stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p bench-results
BENCH_STAMP=$stamp BENCH_CONFIG_SCALE=$scale BENCH_CONFIG_YEARS=$years BENCH_CONFIG_RATE=$rate \
  BENCH_CONFIG_DURATION=$duration BENCH_CONFIG_WARMUP=$warmup BENCH_CONFIG_CONNECTIONS=$connections BENCH_CONFIG_SCENARIOS=$filter \
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
scenarios = {}
order = ["seed-sqlite", "seed-postgres", "org-sqlite", "org-postgres"]
rank = lambda p: (order.index(os.path.basename(p)[:-5]) if os.path.basename(p)[:-5] in order else 99, p)
for path in sorted(glob.glob(os.path.join(out_dir, "*.json")), key=rank):
    name = os.path.basename(path)[:-5]
    scenarios[name] = json.load(open(path))
    try:
        # Other work on the machine during a run makes its figures noisy; say how much.
        scenarios[name]["loadavg_1m_before"] = float(open(path[:-5] + ".loadavg").read())
    except (OSError, ValueError):
        pass
doc = {
    "timestamp": env["BENCH_STAMP"],
    "git_commit": cmd("git", "rev-parse", "HEAD"),
    "git_dirty": bool(cmd("git", "status", "--porcelain", "--untracked-files=no")),
    "host": {"cpus": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
             "rustc": cmd("rustc", "--version")},
    "config": {k: env["BENCH_CONFIG_" + k.upper()]
               for k in ("scale", "years", "rate", "duration", "warmup", "connections", "scenarios")},
    "failed": failed,
    "scenarios": scenarios,
}
text = json.dumps(doc, indent=2) + "\n"
open(dest, "w").write(text)
open(os.path.join(os.path.dirname(dest), "latest.json"), "w").write(text)

print()
seeds = [(k, v) for k, v in scenarios.items() if v.get("kind") == "seed"]
loads = [(k, v) for k, v in scenarios.items() if "measured" in v]
if seeds:
    print(f"{'seed-demo':<16}{'scale':>7}{'years':>6}{'rows':>12}{'seconds':>10}{'rows/s':>12}")
    for k, v in seeds:
        print(f"{k:<16}{v['scale']:>7}{v['years']:>6}{v['rows']:>12,}{v['elapsed_s']:>10.1f}{v['rows_per_s'] or 0:>12,.0f}")
    print()
if loads:
    print(f"{'open-model GET':<16}{'target/s':>9}{'got/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
          f"{'p99.9 ms':>10}{'max ms':>9}{'errors':>8}{'uncorr p99':>12}")
    for k, v in loads:
        m = v["measured"]; l = m["latency_ms"]
        print(f"{k:<16}{v['rate']:>9.0f}{m['achieved_rate']:>9.1f}{l['p50']:>9.3f}{l['p90']:>9.3f}{l['p99']:>9.3f}"
              f"{l['p99_9']:>10.3f}{l['max']:>9.3f}{m['errors']['total']:>8}{m['service_time_ms']['p99']:>12.3f}")
    print("  latency from each request's scheduled send time (coordinated omission corrected);")
    print("  'uncorr p99' is from the actual send, as a closed-model tool would report it.")
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
