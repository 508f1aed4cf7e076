#!/usr/bin/env bash
# `npm run verify -- <stack> [--json] [--min-cert-days N]`: the troubleshooting matrix against a
# deployed stack (infra/verify, README "Verify a live stack"). Installs what it needs first (the
# clients it measures with, npm dependencies, the engine it reads the stack through), quietly:
# stdout is the report alone, so `--json` can be piped.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
log="$(mktemp)"
if ! bash "$root/scripts/install-deps.sh" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "npm run verify: installing its dependencies failed (above)" >&2
    exit 2
fi
rm -f "$log"
exec "$root/node_modules/.bin/tsx" "$root/infra/verify/cli.ts" "$@"
