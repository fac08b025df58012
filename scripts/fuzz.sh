#!/usr/bin/env bash
# Fuzzes the policy engine: scripts/fuzz.sh TARGET [SECONDS]   (targets: parse, evaluate, differential)
# Needs the nightly toolchain (rustup toolchain install nightly) and cargo-fuzz; installs the latter
# if missing. The parse and differential corpora start from the AWS managed policies.
set -euo pipefail
cd "$(dirname "$0")/../iam/policy"

target=${1:?usage: scripts/fuzz.sh parse|evaluate|differential [SECONDS]}
seconds=${2:-300}
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
corpus=fuzz/corpus/$target
if [ ! -d "$corpus" ] || [ -z "$(ls -A "$corpus" 2>/dev/null)" ]; then
  mkdir -p "$corpus"
  python3 - "$corpus" <<'PY'
import json, sys
docs = json.load(open("tests/data/managed-policies.json"))
for i, name in enumerate(sorted(docs)):
    with open(f"{sys.argv[1]}/seed{i:04}.json", "w") as f:
        f.write(json.dumps(docs[name]["document"]))
PY
fi
cargo +nightly fuzz run "$target" "$corpus" -- -max_total_time="$seconds" -max_len=8192
