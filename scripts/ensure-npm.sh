#!/usr/bin/env bash
# npm dependencies exactly as locked; a no-op when node_modules already matches the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.apiproxy-lock-stamp ] || ! cmp -s package-lock.json node_modules/.apiproxy-lock-stamp; then
    echo "== npm ci" >&2
    npm ci --no-audit --no-fund >&2
    cp package-lock.json node_modules/.apiproxy-lock-stamp
fi
