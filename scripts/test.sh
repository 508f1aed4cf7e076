#!/usr/bin/env bash
# The README's test command (`npm test`): installs what the tests need, then runs every test.
# Safe to run twice: each install step is idempotent and cached.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "== typecheck"
npx tsc --noEmit -p tsconfig.json

echo "== tests"
mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
if [ "${#files[@]}" -eq 0 ]; then
    echo "no test files found under test/" >&2
    exit 1
fi
node --import tsx --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
