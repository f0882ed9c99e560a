#!/usr/bin/env bash
# Installs what the project's tasks need and this machine lacks; does nothing for what is
# already there. Nothing goes inside the repository.
#   scripts/ensure-tools.sh [GROUP...]      (no group: rust schemathesis)
# Groups:
#   rust          cargo-nextest (cargo install), and checks for rustfmt and clippy
#   schemathesis  a Python venv at $DOORSTEP_CACHE/venv (default ~/.cache/doorstep/venv)
#                 with schemathesis at the version pinned below
#   bench         sqlite3 and the PostgreSQL client (apt), to count rows
#   pdf           poppler-utils (pdftotext, for checking PIN letters and statements)
#   browser       chromium and chromium-driver (apt)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The CLI flags scripts/schemathesis.sh uses are those of this version; change both together.
SCHEMATHESIS_VERSION="${SCHEMATHESIS_VERSION:-4.32.5}"
VENV="${DOORSTEP_VENV:-$DOORSTEP_CACHE/venv}"

apt_missing=()
need_apt() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || apt_missing+=("$pkg")
  done
}

# need_cmd COMMAND PACKAGE: the package, unless the command is already on PATH.
need_cmd() { command -v "$1" >/dev/null || need_apt "$2"; }

ensure_rust() {
  command -v cargo >/dev/null || die "cargo is not installed (https://rustup.rs)"
  if ! cargo nextest --version >/dev/null 2>&1; then
    say "installing cargo-nextest"
    cargo install cargo-nextest --locked || cargo install cargo-nextest
  fi
  local comp
  for comp in fmt clippy; do
    if ! cargo "$comp" --version >/dev/null 2>&1; then
      say "adding the rustup component for cargo $comp"
      rustup component add "$([ "$comp" = fmt ] && echo rustfmt || echo clippy)" ||
        die "cargo $comp is missing and could not be installed"
    fi
  done
}

ensure_schemathesis() {
  if [ -x "$VENV/bin/st" ] && [ "$("$VENV/bin/st" --version 2>/dev/null | awk '{print $NF}')" = "$SCHEMATHESIS_VERSION" ]; then
    return 0
  fi
  need_cmd python3 python3
  need_cmd curl curl
  flush_apt
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the Python venv at $VENV"
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV" || {
      need_apt python3-venv
      flush_apt
      python3 -m venv "$VENV"
    }
  fi
  say "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
}

# Installs the collected apt packages, with one `apt-get update` first.
flush_apt() {
  [ ${#apt_missing[@]} -gt 0 ] || return 0
  say "installing with apt-get: ${apt_missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_missing[@]}"
  apt_missing=()
}

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(rust schemathesis)
for g in "${groups[@]}"; do
  case "$g" in
    rust) ensure_rust ;;
    schemathesis) ensure_schemathesis ;;
    bench) need_cmd sqlite3 sqlite3; need_cmd psql postgresql-client; need_cmd curl curl ;;
    pdf) need_cmd pdftotext poppler-utils ;;
    browser) need_apt chromium chromium-driver ;;
    *) die "unknown group $g (rust, schemathesis, bench, pdf, browser)" ;;
  esac
done
flush_apt
