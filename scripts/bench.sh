#!/usr/bin/env bash
# `npm run bench [-- --quick]`: the provisioned tier against a stock nginx twin and the hardware
# bound, side by side (test/bench/tier-bench.ts). The offline part (openssl speed, reviews,
# validation) runs first; the stack part deploys a twin of the local stack, measures and destroys
# it (or, after `npm run up`, reuses that running stack and puts it back) while holding
# /tmp/apx-local-stack.lock (only one local stack can exist on a machine: the address plan is
# fixed), so it waits for whoever else holds it. Writes bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "npm run bench: the bench enters the local stack's namespaces and pins processes: run as root" >&2; exit 1; }
bash scripts/install-deps.sh
mkdir -p .tools/bench
(cd test/bench/tier/loadgen && go build -o ../../../../.tools/bench/benchload .)
state=".tools/bench/tier-state-$$.json"
trap 'rm -f "$state"' EXIT
tsx="node_modules/.bin/tsx"
"$tsx" test/bench/tier-bench.ts --phase offline --state "$state" "$@"
flock /tmp/apx-local-stack.lock "$tsx" test/bench/tier-bench.ts --phase stack --state "$state" "$@"
"$tsx" test/bench/tier-bench.ts --phase report --state "$state" "$@"
