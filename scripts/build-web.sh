#!/usr/bin/env bash
# Builds the single-page app into web/dist/ (gitignored), which `doorstep serve` serves at `/`:
#   index.html, boot.js, style.css       the page, its module loader and its styles
#   pkg/doorstep_web{.js,_bg.wasm}       the Leptos app (wasm-bindgen output, wasm-opt -Oz)
#   vendor/swagger-ui/, vendor/graphiql/ the docs pages' assets, served locally (no CDN)
#
# Skips all work when no input changed since the last build (hash stamp in web/dist/.stamp).
# Usage: scripts/build-web.sh [--force]
#
# Needs: npm, and either rustup with the wasm32-unknown-unknown target or Debian's rustc-web
# packages (installed here with apt-get when missing; see TOOLCHAIN.md). Everything else
# (wasm-bindgen-cli at the Cargo.lock version, binaryen's wasm-opt, the vendored assets) is
# fetched from crates.io and npm.
# Environment:
#   CARGO_TARGET_DIR          base of the target dirs (default ~/.cache/doorstep/target); the
#                             wasm build uses its own "<base>-wasm"
#   DOORSTEP_WASM_TOOLCHAIN   rustup | debian, to override the automatic choice
set -euo pipefail

started=$SECONDS
force=false
case "${1:-}" in
  --force) force=true ;;
  "") ;;
  -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
web="$repo/web"
dist="$web/dist"
target_base="${CARGO_TARGET_DIR:-$HOME/.cache/doorstep/target}"
wasm_target_dir="$target_base-wasm"

say() { printf '==> %s\n' "$*"; }
die() { printf 'build-web: %s\n' "$*" >&2; exit 1; }

# --- Anything changed? ------------------------------------------------------------------------
inputs_hash() {
  {
    find web/src shared/src -type f -print0 | sort -z | xargs -0 sha256sum
    sha256sum Cargo.toml Cargo.lock shared/Cargo.toml web/Cargo.toml web/index.html web/boot.js \
      web/style.css web/package.json web/package-lock.json scripts/build-web.sh
  } | sha256sum | cut -c1-64
}
hash=$(inputs_hash)
version=${hash:0:16}
if ! $force && [ -f "$dist/.stamp" ] && [ "$(cat "$dist/.stamp")" = "$hash" ]; then
  say "web/dist is up to date (inputs ${version}); nothing to do. Use --force to rebuild."
  exit 0
fi

apt_updated=false
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get to install them"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  say "installing with apt-get: ${missing[*]}"
  if ! $apt_updated; then "${sudo[@]}" apt-get update -qq; apt_updated=true; fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
}

# --- npm: wasm-opt (binaryen) and the vendored docs assets ------------------------------------
command -v npm >/dev/null || die "npm is needed (apt-get install nodejs npm)"
lock_hash=$(sha256sum web/package-lock.json | cut -c1-64)
if [ ! -d web/node_modules ] || [ "$(cat web/node_modules/.doorstep-lock 2>/dev/null)" != "$lock_hash" ]; then
  say "npm ci in web/ (node_modules missing or package-lock.json changed)"
  # --ignore-scripts: nothing here needs an install script, and one of them only phones home.
  (cd web && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$lock_hash" > web/node_modules/.doorstep-lock
fi
wasm_opt="$web/node_modules/binaryen/bin/wasm-opt"
[ -x "$wasm_opt" ] || die "wasm-opt missing from web/node_modules/binaryen"

# --- Which Rust builds wasm32 ------------------------------------------------------------------
toolchain="${DOORSTEP_WASM_TOOLCHAIN:-}"
if [ -z "$toolchain" ]; then
  if command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    toolchain=rustup
  else
    toolchain=debian
  fi
fi
case "$toolchain" in
  rustup)
    wasm_cargo=(cargo)
    wasm_cargo_env=()
    build_std=()
    ;;
  debian)
    # rustup has no wasm32 std here: Debian's Rust 1.96 builds std from its own sources.
    apt_install rustc-web cargo-web rust-web-src lld-22
    # /usr/bin/cargo must be told which rustc, or it finds ~/.cargo/bin/rustc first in PATH.
    wasm_cargo=(/usr/bin/cargo)
    # Since this route builds std with nightly features anyway, it also drops what only
    # panics and {:?} would print (file paths, Debug impls, panic formatting): ~55 KB less wasm.
    wasm_cargo_env=(RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 RUSTDOC=/usr/bin/rustdoc
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none")
    build_std=(-Zbuild-std=std,panic_abort)
    ;;
  *) die "DOORSTEP_WASM_TOOLCHAIN must be rustup or debian, not '$toolchain'" ;;
esac

# --- wasm-bindgen-cli at exactly the version in Cargo.lock ----------------------------------------
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
[ -n "$bindgen_version" ] || die "wasm-bindgen not found in Cargo.lock"
find_bindgen() {
  local candidate
  for candidate in "$(command -v wasm-bindgen 2>/dev/null || true)" "$HOME/.cargo/bin/wasm-bindgen"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] \
      && [ "$("$candidate" --version 2>/dev/null | awk '{print $2}')" = "$bindgen_version" ]; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}
if ! bindgen=$(find_bindgen); then
  say "installing wasm-bindgen-cli $bindgen_version into ~/.cargo/bin (one-off, several minutes)"
  # No --locked: its lockfile pins a crate version that this registry lacks (TOOLCHAIN.md).
  # Without CARGO_TARGET_DIR cargo builds it in a temp dir and removes that afterwards.
  if command -v cargo >/dev/null; then
    env -u CARGO_TARGET_DIR cargo install wasm-bindgen-cli --version "=$bindgen_version"
  else
    env -u CARGO_TARGET_DIR RUSTC=/usr/bin/rustc /usr/bin/cargo install wasm-bindgen-cli --version "=$bindgen_version"
  fi
  bindgen=$(find_bindgen) || die "wasm-bindgen $bindgen_version still not found after installing"
fi

# --- Build -------------------------------------------------------------------------------------
say "cargo build doorstep-web for wasm32 ($toolchain toolchain, profile wasm-release, target dir $wasm_target_dir)"
t0=$SECONDS
env "${wasm_cargo_env[@]}" CARGO_TARGET_DIR="$wasm_target_dir" "${wasm_cargo[@]}" build \
  -p doorstep-web --lib --locked --profile wasm-release --target wasm32-unknown-unknown "${build_std[@]}"
say "cargo build took $((SECONDS - t0)) s"
wasm_in="$wasm_target_dir/wasm32-unknown-unknown/wasm-release/doorstep_web.wasm"
[ -f "$wasm_in" ] || die "cargo did not produce $wasm_in"

# Assembled beside the build and swapped in at the end, so a failed build leaves the last good
# web/dist in place (and two builds at once do not share a staging dir).
stage=$(mktemp -d "$wasm_target_dir/dist-staging.XXXXXX")
trap 'rm -rf "$stage"' EXIT
chmod 755 "$stage"
mkdir -p "$stage/pkg" "$stage/vendor/swagger-ui" "$stage/vendor/graphiql"

say "wasm-bindgen $bindgen_version --target web"
"$bindgen" --target web --no-typescript --out-dir "$stage/pkg" --out-name doorstep_web "$wasm_in"

say "wasm-opt -Oz (binaryen $("$wasm_opt" --version | awk '{print $3}'))"
t0=$SECONDS
# Rust's wasm32 target turns these proposals on by default; all current browsers support them.
"$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$stage/pkg/doorstep_web_bg.wasm" -o "$stage/pkg/doorstep_web_bg.opt.wasm"
mv "$stage/pkg/doorstep_web_bg.opt.wasm" "$stage/pkg/doorstep_web_bg.wasm"
say "wasm-opt took $((SECONDS - t0)) s"

say "page, styles and loader (asset version $version)"
sed "s/{{VERSION}}/$version/g" web/index.html > "$stage/index.html"
sed "s/{{VERSION}}/$version/g" web/boot.js > "$stage/boot.js"
cp web/style.css "$stage/style.css"

say "vendored assets: swagger-ui-dist $(node -p 'require("./web/node_modules/swagger-ui-dist/package.json").version'), graphiql $(node -p 'require("./web/node_modules/graphiql/package.json").version'), react $(node -p 'require("./web/node_modules/react/package.json").version')"
nm=web/node_modules
cp "$nm/swagger-ui-dist/swagger-ui-bundle.js" "$nm/swagger-ui-dist/swagger-ui.css" "$stage/vendor/swagger-ui/"
cp "$nm/swagger-ui-dist/LICENSE" "$stage/vendor/swagger-ui/LICENSE"
cp "$nm/graphiql/graphiql.min.js" "$nm/graphiql/graphiql.min.css" "$stage/vendor/graphiql/"
cp "$nm/react/umd/react.production.min.js" "$nm/react-dom/umd/react-dom.production.min.js" "$stage/vendor/graphiql/"
cp "$nm/graphiql/LICENSE" "$stage/vendor/graphiql/LICENSE.graphiql"
cp "$nm/react/LICENSE" "$stage/vendor/graphiql/LICENSE.react"
cp "$nm/react-dom/LICENSE" "$stage/vendor/graphiql/LICENSE.react-dom"

echo "$hash" > "$stage/.stamp"
rm -rf "$dist"
mv "$stage" "$dist"

size() { stat -c %s "$1"; }
gz() { gzip -9 -c "$1" | wc -c; }
wasm_out="$dist/pkg/doorstep_web_bg.wasm"
js_out="$dist/pkg/doorstep_web.js"
say "built web/dist in $((SECONDS - started)) s"
printf '    %-28s %8d bytes  (%d gzip)\n' "pkg/doorstep_web_bg.wasm" "$(size "$wasm_out")" "$(gz "$wasm_out")"
printf '    %-28s %8d bytes  (%d gzip)\n' "pkg/doorstep_web.js" "$(size "$js_out")" "$(gz "$js_out")"
