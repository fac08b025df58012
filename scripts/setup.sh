#!/usr/bin/env bash
# Installs what building and testing Portcullis need, skipping what is already there.
#   scripts/setup.sh build   the Rust toolchain pieces (wasm target, cargo-leptos, wasm-bindgen) and wasm-opt
#   scripts/setup.sh test    the above, plus Chromium and the end2end node packages
set -euo pipefail
cd "$(dirname "$0")/.."

want=${1:-build}
say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

apt_updated=0
# `npm ci` in folder $1, again only when its package-lock.json has changed since the last one.
npm_ci_once() {
  local stamp=$1/node_modules/.portcullis-lock
  if [ ! -f "$stamp" ] || ! cmp -s "$1/package-lock.json" "$stamp"; then
    say "npm ci ($1)"
    (cd "$1" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$1/package-lock.json" "$stamp"
  fi
}

apt_install() {
  if [ "$apt_updated" = 0 ]; then
    say "apt-get update"
    apt-get update -qq
    apt_updated=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! command -v cargo >/dev/null; then
  echo "error: cargo is not installed; install Rust $(grep rust-version Cargo.toml | head -1 | cut -d'"' -f2) with rustup first" >&2
  exit 1
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "0.3.10" ]; then
  # 0.3.11 needs a newer rustc than ours. This compiles ~660 crates: 20-35 minutes on 2 cores.
  say "cargo install cargo-leptos 0.3.10 (slow, once)"
  cargo install cargo-leptos --version 0.3.10 --locked
fi

# cargo-leptos runs the wasm-bindgen on PATH; it must match the library version in Cargo.lock.
wbg=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg" ]; then
  say "cargo install wasm-bindgen-cli $wbg"
  # No --locked: its lock file pins a webpki-roots release the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$wbg"
fi

# webauthn-rs builds on OpenSSL (openssl-sys): its headers and pkg-config.
if ! pkg-config --exists openssl 2>/dev/null; then
  apt_install libssl-dev pkg-config
fi

if ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi

# wasm-opt from npm's binaryen (tools/package.json), not Debian's binaryen 108: that one rewrites the
# release wasm of rustc 1.95 + wasm-bindgen 0.2.130 into one the browser refuses at start
# (`WebAssembly.Table.set(): Argument 1 is invalid for table`), so the console never hydrates.
# run.sh and test.sh put tools/node_modules/.bin first on PATH, where cargo-leptos finds it.
npm_ci_once tools

if [ "$want" = test ]; then
  if [ ! -x /usr/bin/chromium ]; then
    apt_install chromium
  fi
  if ! command -v curl >/dev/null; then
    apt_install curl
  fi
  if ! command -v psql >/dev/null; then
    apt_install postgresql-client
  fi
  # The browser specs age a stored password in the SQLite database (end2end/tests/helpers.ts).
  if ! command -v sqlite3 >/dev/null; then
    apt_install sqlite3
  fi
  npm_ci_once end2end
fi
