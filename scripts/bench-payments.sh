#!/usr/bin/env bash
# Payment notification benchmarks against the real release binary, on SQLite and on
# PostgreSQL (tool: `paybench`, crate doorstep-e2e; bench.sh calls this script).
#
#   notify-latency-<db>     notification to screen: `accountUpdated` subscriptions open over
#                           WebSocket (BENCH_PAY_SUBSCRIPTIONS of them, one run per count),
#                           signed sandbox notifications for those accounts at a fixed rate
#                           (open model), p50/p99/max from each notification's scheduled send
#                           to the push that shows it; count posted, missing. Target: p99 at
#                           most 1 s at 200/s (aim: 100 ms).
#   notify-throughput-<db>  durable notifications per second: BENCH_PAY_CONCURRENCY workers
#                           posting notifications over many accounts, each waiting for its 2xx
#                           (= committed); then, in the same run and database, the same number
#                           of workers doing plain single-row autocommit INSERTs into a scratch
#                           table, and the ratio. Target: at least 1,000/s on PostgreSQL.
# where <db> is sqlite or postgres. Each backend gets a fresh database, migrated and seeded
# with `seed-demo --scale BENCH_SCALE --years BENCH_YEARS`, a group admin made for the run
# (`user create-staff --org pennine-vale --role admin`) to watch the accounts, and
# `doorstep serve` on a free loopback port.
#
# Prints a table. JSON per scenario goes to BENCH_PAY_OUT when set (bench.sh sets it to its
# own folder, so the figures land in its bench-results/<stamp>.json); otherwise this script
# writes bench-results/payments-<UTC timestamp>.json. Exits 1 if a scenario failed.
#
# Environment (defaults in brackets):
#   BENCH_SCENARIOS          comma-separated names or parts of names, as for bench.sh; this
#                            script runs only the notify-* ones it matches [all]
#   BENCH_SCALE [2000]       BENCH_YEARS [10]        BENCH_SEED_TIMEOUT [600] (seconds)
#   BENCH_PAY_RATE           notifications/s for the latency runs [200]
#   BENCH_PAY_DURATION       measured span of a latency run [60s]
#   BENCH_PAY_WARMUP         warm-up of each run [5s]
#   BENCH_PAY_SUBSCRIPTIONS  watched accounts, a comma-separated list, one latency run each [1,50]
#   BENCH_PAY_CONCURRENCY    throughput workers (and baseline connections) [32]
#   BENCH_PAY_TP_DURATION    measured span of the throughput run and of its baseline [20s]
#   BENCH_PG_URL             admin URL [postgres://postgres@127.0.0.1:5432/postgres]
#   BENCH_PAY_PG_DB          the PostgreSQL database, dropped and recreated [doorstep_bench_pay]
#   BENCH_SKIP_BUILD=1       use the binaries already built
#   BENCH_KEEP=1             keep the temp dir and the PostgreSQL database afterwards
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$DOORSTEP_ROOT"

scale="${BENCH_SCALE:-2000}"
years="${BENCH_YEARS:-10}"
seed_timeout="${BENCH_SEED_TIMEOUT:-600}"
rate="${BENCH_PAY_RATE:-200}"
duration="${BENCH_PAY_DURATION:-60s}"
warmup="${BENCH_PAY_WARMUP:-5s}"
subs_list="${BENCH_PAY_SUBSCRIPTIONS:-1,50}"
concurrency="${BENCH_PAY_CONCURRENCY:-32}"
tp_duration="${BENCH_PAY_TP_DURATION:-20s}"
pg_admin="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
pg_db="${BENCH_PAY_PG_DB:-doorstep_bench_pay}"
filter="${BENCH_SCENARIOS:-all}"
group_slug="pennine-vale"

[[ $pg_db =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_PAY_PG_DB must be a plain lower-case name"
[[ $concurrency =~ ^[1-9][0-9]*$ ]] || die "BENCH_PAY_CONCURRENCY must be a whole number"
subs_list=${subs_list//,/ }
for s in $subs_list; do [[ $s =~ ^[1-9][0-9]*$ ]] || die "BENCH_PAY_SUBSCRIPTIONS: $s is not a whole number"; done

selected() {
  local name=$1 tok
  for tok in ${filter//,/ }; do
    [[ $tok == all || $name == *"$tok"* ]] && return 0
  done
  return 1
}
any=false
for b in sqlite postgres; do
  for k in notify-latency notify-throughput; do selected "$k-$b" && any=true; done
done
if ! $any; then
  # Called from bench.sh with other scenarios chosen: nothing to do here.
  exit 0
fi

"$DOORSTEP_ROOT/scripts/ensure-tools.sh" bench
if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  "$DOORSTEP_ROOT/scripts/timed.sh" "release build" cargo build --release -p doorstep-api -p doorstep-e2e
fi
bin="${BENCH_BIN:-$CARGO_TARGET_DIR/release/doorstep}"
paybench="${BENCH_PAYBENCH:-$CARGO_TARGET_DIR/release/paybench}"
[ -x "$bin" ] || die "no server binary at $bin"
[ -x "$paybench" ] || die "no paybench binary at $paybench"

work=$(mktemp -d "${TMPDIR:-/tmp}/doorstep-bench-pay.XXXXXX")
out="${BENCH_PAY_OUT:-$work/out}"
mkdir -p "$out"
server_pid=""
pg_made=false
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
ran=()

q() {
  if [ "$1" = sqlite ]; then sqlite3 "$2" "$3"; else psql "$2" -XqAt -c "$3"; fi
}

# cpu_ticks PID: user + system clock ticks the process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# begin_run KEY / end_run KEY: around one paybench run, adds to out/KEY.json the server's CPU
# time and the notifications it recorded meanwhile (so, CPU per notification).
begin_run() {
  cut -d' ' -f1 /proc/loadavg >"$out/$1.loadavg"
  run_ticks=$(cpu_ticks "$server_pid")
  run_events=$(q "$backend" "$where" "SELECT count(*) FROM provider_event")
}
end_run() {
  local ticks events
  ticks=$(($(cpu_ticks "$server_pid") - run_ticks))
  events=$(($(q "$backend" "$where" "SELECT count(*) FROM provider_event") - run_events))
  [ -f "$out/$1.json" ] || return 0
  python3 - "$out/$1.json" "$ticks" "$(getconf CLK_TCK)" "$events" <<'EOF'
import json, sys
path, ticks, hz, events = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
v = json.load(open(path))
v["server"] = {"cpu_s": round(ticks / hz, 2), "notifications_recorded": events,
               "cpu_ms_per_notification": round(ticks / hz * 1e3 / events, 3) if events else None}
json.dump(v, open(path, "w"), indent=2)
EOF
}

for backend in sqlite postgres; do
  want_latency=false want_tp=false
  selected "notify-latency-$backend" && want_latency=true
  selected "notify-throughput-$backend" && want_tp=true
  $want_latency || $want_tp || continue
  not_run() {
    $want_latency && for s in $subs_list; do failed+=("notify-latency-${s}sub-$backend ($1)"); done
    $want_tp && failed+=("notify-throughput-$backend ($1)")
    return 0
  }

  if [ "$backend" = sqlite ]; then
    db_file="$work/sqlite/doorstep.db"
    mkdir -p "$(dirname "$db_file")"
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
  say "$backend: fresh database $where; seed-demo --scale $scale --years $years"
  export DOORSTEP_DATABASE_URL="$url"
  if ! "$bin" migrate >"$work/migrate-$backend.log" 2>&1; then
    cat "$work/migrate-$backend.log" >&2
    not_run "migrate failed"
    continue
  fi
  seed_status=0
  timeout "$seed_timeout" "$bin" seed-demo --scale "$scale" --years "$years" >"$work/seed-$backend.log" 2>&1 || seed_status=$?
  if [ "$seed_status" -ne 0 ]; then
    tail -n 8 "$work/seed-$backend.log" >&2
    not_run "seed-demo failed with status $seed_status"
    continue
  fi

  # Open accounts of the whole group, shuffled: the first ones are watched, all are posted to.
  q "$backend" "$where" "WITH RECURSIVE grp(id) AS (
        SELECT id FROM organisation WHERE slug = '$group_slug'
        UNION ALL SELECT o.id FROM organisation o JOIN grp ON o.parent_id = grp.id)
      SELECT a.id || '|' || a.account_number FROM rent_account a
      WHERE a.organisation_id IN (SELECT id FROM grp) AND a.closed_on IS NULL
      ORDER BY random() LIMIT 10000" >"$work/accounts-$backend.txt"
  n_accounts=$(wc -l <"$work/accounts-$backend.txt")
  if [ "$n_accounts" -eq 0 ]; then
    not_run "no open accounts in $group_slug"
    continue
  fi
  email="paybench.$(date +%s).$$@$group_slug.example"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$work/password.txt"
  if ! "$bin" user create-staff --org "$group_slug" --email "$email" --role admin --name "Benchmark" \
    <"$work/password.txt" >"$work/staff-$backend.log" 2>&1; then
    cat "$work/staff-$backend.log" >&2
    not_run "user create-staff failed"
    continue
  fi

  port=$(free_port)
  base="http://127.0.0.1:$port"
  say "$backend: $n_accounts open accounts; serving at $base"
  "$bin" serve --addr "127.0.0.1:$port" >"$work/serve-$backend.log" 2>&1 &
  server_pid=$!
  if ! wait_http "$base/readyz" "$server_pid" 120; then
    tail -n 20 "$work/serve-$backend.log" >&2
    stop_pid "$server_pid"
    server_pid=""
    not_run "the server did not become ready"
    continue
  fi

  if $want_latency; then
    for subs in $subs_list; do
      key="notify-latency-${subs}sub-$backend"
      say "$key: $rate notifications/s for $duration (after $warmup) to $subs watched account(s)"
      begin_run "$key"
      status=0
      "$paybench" latency --base "$base" --accounts-file "$work/accounts-$backend.txt" \
        --email "$email" --password-file "$work/password.txt" --subscriptions "$subs" \
        --rate "$rate" --duration "$duration" --warmup "$warmup" \
        --label "$key" --json-out "$out/$key.json" || status=$?
      end_run "$key"
      [ "$status" -eq 0 ] || failed+=("$key")
      ran+=("$key")
    done
  fi

  if $want_tp; then
    key="notify-throughput-$backend"
    say "$key: $concurrency workers for $tp_duration (after $warmup), then the INSERT baseline"
    begin_run "$key"
    status=0
    PAYBENCH_DATABASE_URL="$url" "$paybench" throughput --base "$base" \
      --accounts-file "$work/accounts-$backend.txt" --concurrency "$concurrency" \
      --duration "$tp_duration" --warmup "$warmup" --max-error-rate 0.01 \
      --label "$key" --json-out "$out/$key.json" || status=$?
    end_run "$key"
    [ "$status" -eq 0 ] || failed+=("$key")
    ran+=("$key")
  fi

  stop_pid "$server_pid"
  server_pid=""
  rows=$(q "$backend" "$where" "SELECT count(*) FROM provider_event")
  say "$backend: $rows notifications recorded in all"
done

stamp=$(date -u +%Y%m%dT%H%M%SZ)
dest=""
if [ -z "${BENCH_PAY_OUT:-}" ]; then
  mkdir -p bench-results
  dest="bench-results/payments-$stamp.json"
fi
BENCH_PAY_SCALE=$scale BENCH_PAY_YEARS=$years python3 - "$out" "$dest" "$(printf '%s\n' "${ran[@]:-}")" \
  "$(printf '%s\n' "${failed[@]:-}")" <<'EOF'
import json, os, sys
out_dir, dest = sys.argv[1], sys.argv[2]
ran = [r for r in sys.argv[3].splitlines() if r.strip()]
failed = [f for f in sys.argv[4].splitlines() if f.strip()]
res = {}
for key in ran:
    try:
        res[key] = json.load(open(os.path.join(out_dir, key + ".json")))
    except (OSError, ValueError):
        continue
    try:
        res[key]["loadavg_1m_before"] = float(open(os.path.join(out_dir, key + ".loadavg")).read())
    except (OSError, ValueError):
        pass
scale, years = os.environ["BENCH_PAY_SCALE"], os.environ["BENCH_PAY_YEARS"]
lat = [(k, v) for k, v in res.items() if v.get("kind") == "notify-latency"]


def cpu(v):
    c = (v.get("server") or {}).get("cpu_ms_per_notification")
    return "-" if c is None else f"{c:.2f}"


tp = [(k, v) for k, v in res.items() if v.get("kind") == "notify-throughput"]
print()
print(f"payment notifications (seed-demo --scale {scale} --years {years}; {os.cpu_count()} CPUs)")
if lat:
    w = max(len(k) for k, _ in lat) + 1
    print(f"{'notify-latency':<{w}}{'watched':>8}{'rate/s':>8}{'posted':>8}{'missing':>8}{'p50 ms':>9}"
          f"{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}{'2xx p99':>9}{'cpu ms':>7}{'load':>6}")
    for k, v in lat:
        n, l = v["notifications"], v["latency_ms"]
        print(f"{k:<{w}}{v['subscriptions']:>8}{v['rate']:>8.0f}{n['posted']:>8}{n['missing']:>8}{l['p50']:>9.1f}"
              f"{l['p90']:>9.1f}{l['p99']:>9.1f}{l['max']:>9.1f}{v['ack_ms']['p99']:>9.1f}{cpu(v):>7}"
              f"{v.get('loadavg_1m_before', 0):>6.1f}")
    print("  from each notification's scheduled send to the WebSocket push that shows it (open model,")
    print("  coordinated omission corrected); '2xx p99' is to the webhook's answer. Target p99 <= 1000 ms")
    print("  (aim 100 ms). 'cpu ms': the server's CPU time per notification it recorded.")
    print()
if tp:
    w = max(len(k) for k, _ in tp) + 1
    print(f"{'notify-throughput':<{w}}{'workers':>8}{'notif/s':>9}{'errors':>7}{'p99 ms':>8}"
          f"{'INSERT/s':>10}{'p99 ms':>8}{'ratio':>7}{'cpu ms':>7}{'load':>6}")
    for k, v in tp:
        n, b = v["notifications"], v.get("baseline")
        errs = sum(n["errors"].values())
        base = (f"{b['per_s']:>10.0f}{b['latency_ms']['p99']:>8.1f}{v['ratio']:>7.3f}" if b else f"{'-':>10}{'-':>8}{'-':>7}")
        print(f"{k:<{w}}{v['concurrency']:>8}{n['per_s']:>9.0f}{errs:>7}{n['latency_ms']['p99']:>8.1f}{base}{cpu(v):>7}"
              f"{v.get('loadavg_1m_before', 0):>6.1f}")
    print("  durable = answered 2xx (committed: inbox row, ledger line, balance, outbox row, live notice);")
    print("  INSERT/s = plain single-row autocommit INSERTs, same workers, same database, same run;")
    print("  ratio = notif/s / INSERT/s; cpu ms as above (the database's own CPU not included).")
    print("  Target >= 1000 notif/s on PostgreSQL.")
    print()
busy = [k for k, v in res.items() if v.get("loadavg_1m_before", 0) > 0.5 * (os.cpu_count() or 1)]
if busy:
    print(f"NOTE: the machine was busy before {', '.join(busy)} ('load' above half the CPUs): noisy figures.")
for f in failed:
    print(f"FAILED: {f}")
if dest:
    json.dump({"scale": int(scale), "years": int(years), "failed": failed, "scenarios": res},
              open(dest, "w"), indent=2)
    print(f"results: {dest}")
EOF

[ ${#failed[@]} -eq 0 ] || exit 1
