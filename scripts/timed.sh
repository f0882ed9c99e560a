#!/usr/bin/env bash
# Runs one phase of a longer job and says how long it took.
#   scripts/timed.sh LABEL COMMAND [ARGS...]
# Prints "==> LABEL" before and "<== LABEL: ok|FAILED (status N) in S s" after, and, when
# DOORSTEP_TIMINGS is set to a file, appends "LABEL<TAB>SECONDS<TAB>ok|failed" to it so that
# .ci/run can print a table of every phase at the end. Exits with the command's status.
set -uo pipefail

[ $# -ge 2 ] || {
  echo "usage: $0 LABEL COMMAND [ARGS...]" >&2
  exit 2
}
label=$1
shift
printf '\n==> %s\n' "$label" >&2
start=$(date +%s.%N)
"$@"
status=$?
secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
if [ "$status" -eq 0 ]; then
  printf '<== %s: ok in %s s\n' "$label" "$secs" >&2
  result=ok
else
  printf '<== %s: FAILED (status %s) in %s s\n' "$label" "$status" "$secs" >&2
  result=failed
fi
if [ -n "${DOORSTEP_TIMINGS:-}" ]; then
  printf '%s\t%s\t%s\n' "$label" "$secs" "$result" >>"$DOORSTEP_TIMINGS"
fi
exit "$status"
