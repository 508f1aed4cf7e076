#!/usr/bin/env bash
# `npm run review -- <stack> [--out DIR] [--json]`: the offline review (installs npm deps first).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/ensure-npm.sh"
exec "$root/node_modules/.bin/tsx" "$root/infra/review/cli.ts" "$@"
