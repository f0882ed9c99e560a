# shellcheck shell=bash disable=SC2034
# Shared helpers for the scripts in this folder. Source it; it does not run anything.
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The repository root, whatever the caller's working directory.
DOORSTEP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# One cargo target dir outside the clone, so that fresh clones (CI) reuse this machine's
# build cache. The justfile exports the same default.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/doorstep/target}"
# Tools installed for the project live outside the repository too.
DOORSTEP_CACHE="${DOORSTEP_CACHE:-$HOME/.cache/doorstep}"

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$(basename "$0")" "$*" >&2; }
die() {
  printf '%s: %s\n' "$(basename "$0")" "$*" >&2
  exit 1
}

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo -n "$@"
  else
    die "need root for: $*"
  fi
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL PID SECONDS: waits until URL answers 200, failing early if PID exits.
wait_http() {
  local url=$1 pid=$2 limit=${3:-60} start=$SECONDS
  until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || return 1
    if ((SECONDS - start >= limit)); then
      printf 'no 200 from %s after %ss\n' "$url" "$limit" >&2
      return 1
    fi
    sleep 0.2
  done
}

# stop_pid PID: stops a process this script started (TERM, then KILL after 10 s).
stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
