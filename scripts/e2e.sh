#!/usr/bin/env bash
# Runs the Playwright suite against a fresh server built by `cargo leptos build --release --precompress --split` (the build
# scripts/run.sh serves; PORTCULLIS_E2E_BINARY=target/debug/portcullis for a debug build):
#   scripts/e2e.sh sqlite      a new SQLite database in a temporary folder
#   scripts/e2e.sh postgres    a new database on PORTCULLIS_TEST_DATABASE_URL's server, dropped after
# Further arguments go to Playwright: scripts/e2e.sh sqlite tests/users.spec.ts
set -euo pipefail
cd "$(dirname "$0")/.."

backend=${1:-sqlite}
binary=${PORTCULLIS_E2E_BINARY:-target/release/portcullis}
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Every spec signs in from 127.0.0.1: a client limit of 20 a minute would throttle the suite itself
# (the HTTP tests check that limit; the specs check the per-user delays).
args=(--listen "127.0.0.1:$port" --data-dir "$work/data" --sign-in-rate 600)

db=""
# Where the specs may reach the database, to move a stored time back (a password's age): the
# server has no test clock, and should not have one.
database="$work/data/portcullis.db"
if [ "$backend" = postgres ]; then
  : "${PORTCULLIS_TEST_DATABASE_URL:?PORTCULLIS_TEST_DATABASE_URL names the PostgreSQL server for this suite}"
  db="portcullis_e2e_$(date +%s)_$$"
  psql "$PORTCULLIS_TEST_DATABASE_URL" -qc "CREATE DATABASE $db"
  database="${PORTCULLIS_TEST_DATABASE_URL%/*}/$db"
  args+=(--database-url "$database")
fi

pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  if [ -n "$db" ]; then
    psql "$PORTCULLIS_TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

LEPTOS_SITE_ROOT=target/site RUST_LOG="${PORTCULLIS_E2E_LOG:-warn}" "$binary" "${args[@]}" >"$work/stdout" 2>"$work/stderr" &
pid=$!
for _ in $(seq 1 150); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "the server exited at start:" >&2
    cat "$work/stderr" >&2
    exit 1
  fi
  sleep 0.2
done
link=$(grep -o "http://[^ ]*/setup?token=[A-Za-z0-9_-]*" "$work/stdout" || true)

cd end2end
status=0
PORTCULLIS_BASE_URL="http://localhost:$port" PORTCULLIS_SETUP_LINK="$link" PORTCULLIS_E2E_DATABASE="$database" npx playwright test "${@:2}" 2>&1 | tee "$work/playwright.log" || status=$?
# A panic on the server is a failure even when every page looked right (a page cut short, say).
if grep -q "panicked" "$work/stderr"; then
  echo "--- the server panicked ---" >&2
  grep -A 14 "panicked" "$work/stderr" | head -n 120 >&2
  status=1
fi
if [ "$status" != 0 ]; then
  echo "--- server log ---" >&2
  tail -n 80 "$work/stderr" >&2
  # What failed, short enough for the end of a long CI log: scripts/test.sh prints it in its summary
  # (CI shows only the tail of the log, where the failures of the first browser suite are long gone).
  if [ -n "${PORTCULLIS_E2E_DIGEST:-}" ]; then
    {
      echo "browser suite on $backend:"
      # Failed tests and their errors, or the error that stopped Playwright before any test ran
      # (a spec that does not compile).
      grep -E "^ +✘|^ +[0-9]+\) |^ +[0-9]+ (failed|flaky)|^ *[A-Za-z]*Error:|^ +(Expected|Received|Locator)" \
        "$work/playwright.log" 2>/dev/null | head -n 40 || true
      grep -m 3 -A 6 "panicked" "$work/stderr" || true
    } >>"$PORTCULLIS_E2E_DIGEST"
  fi
fi
exit "$status"
