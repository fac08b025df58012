#!/usr/bin/env bash
# Sets up what is missing and runs every test: formatting, clippy for the server side and for the
# wasm side (separately: `app` must never be built with `ssr` and `hydrate` together), unit and
# integration tests, and the Playwright suite against the release build (what scripts/run.sh
# serves). With PORTCULLIS_TEST_DATABASE_URL set to a PostgreSQL server (e.g.
# postgres://root@127.0.0.1:5432/test), the store, server and browser suites also run on
# PostgreSQL, each test on a database of its own.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh test || { echo "setup failed"; exit 1; }
# wasm-opt from tools/ (npm's binaryen), ahead of any older one on the machine: see setup.sh.
export PATH="$PWD/tools/node_modules/.bin:$PATH"

passed=0
failed=0
report=()
step() {
  local name=$1
  shift
  printf '\n\033[1m==> %s\033[0m\n' "$name"
  local start=$SECONDS
  if "$@"; then
    passed=$((passed + 1))
    report+=("PASS  $name ($((SECONDS - start)) s)")
  else
    failed=$((failed + 1))
    report+=("FAIL  $name ($((SECONDS - start)) s)")
  fi
}

if [ -n "${PORTCULLIS_TEST_DATABASE_URL:-}" ]; then
  pg_note="PostgreSQL suites ran against the server given by PORTCULLIS_TEST_DATABASE_URL"
else
  pg_note="PostgreSQL suites SKIPPED: set PORTCULLIS_TEST_DATABASE_URL=postgres://USER@HOST:PORT/DB to run them"
fi

step "format" cargo fmt --all --check
step "clippy, server side" cargo clippy --workspace --exclude frontend --all-targets -- -D warnings
step "clippy, wasm side" cargo clippy -p frontend -p iam-policy --target wasm32-unknown-unknown -- -D warnings
step "unit and integration tests" cargo test --workspace --exclude frontend
# The browser suite runs against the release build that scripts/run.sh serves: only that build goes
# through wasm-opt, and a debug-only suite once hid a release console that never hydrated.
step "build the release console for the browser suite" cargo leptos build --release --precompress --split
# What a failed browser suite names (its failed tests, their errors) is printed again in the summary.
digest=$(mktemp)
trap 'rm -f "$digest"' EXIT
export PORTCULLIS_E2E_DIGEST=$digest
step "browser suite on SQLite" scripts/e2e.sh sqlite
if [ -n "${PORTCULLIS_TEST_DATABASE_URL:-}" ]; then
  step "browser suite on PostgreSQL" scripts/e2e.sh postgres
fi

printf '\n\033[1m==> Summary\033[0m\n'
printf '%s\n' "${report[@]}"
echo "$pg_note"
if [ -s "$digest" ]; then
  echo "what failed in the browser suites:"
  cat "$digest"
fi
echo "steps: $passed passed, $failed failed"
[ "$failed" = 0 ]
