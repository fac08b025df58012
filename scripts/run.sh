#!/usr/bin/env bash
# Sets up what is missing, builds the console in release mode, and starts it on
# http://127.0.0.1:3000 with the embedded SQLite database in ./data/.
# Every PORTCULLIS_* variable (see README) is passed through; extra arguments go to `portcullis`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh build
# wasm-opt from tools/ (npm's binaryen), ahead of any older one on the machine: see setup.sh.
export PATH="$PWD/tools/node_modules/.bin:$PATH"
cargo leptos build --release --precompress --split
export LEPTOS_SITE_ROOT=${LEPTOS_SITE_ROOT:-target/site}
exec target/release/portcullis "$@"
