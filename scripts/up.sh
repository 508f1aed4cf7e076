#!/usr/bin/env bash
# `npm run up`: deploys the `local` stack, the whole tier as real Debian containers on this
# machine, then prints its outputs and a curl command that works as printed. Installs whatever
# is missing first (Debian packages, npm dependencies, the engine and providers, the services);
# safe to run twice (a second run changes nothing). `npm run down` removes it all.
set -euo pipefail
cd "$(dirname "$0")/.."
STACK="${STACK:-local}"
[ "$(id -u)" -eq 0 ] || { echo "npm run up: the local stack creates network namespaces and containers: run as root" >&2; exit 1; }

bash scripts/install-deps.sh

bin/pulumi stack select "$STACK" >/dev/null 2>&1 || bin/pulumi stack init "$STACK" >/dev/null
# Text display only: `up --json` events can carry secret plaintext.
bin/pulumi up --yes --skip-preview --stack "$STACK"

fabric="$(bin/pulumi stack output local --stack "$STACK" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);process.stdout.write(o.clientNamespace.replace(/-client$/,""))})')"
mkdir -p .tools/local-stacks
bin/pulumi stack output caBundlePem --stack "$STACK" >".tools/local-stacks/$fabric-ca.pem"

cat <<MSG

The tier is up ($(bin/pulumi stack output endpoints --stack "$STACK" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const e=JSON.parse(s);process.stdout.write(e.https+" via load balancer "+e.dnsName)})')).
Outputs: bin/pulumi stack output --stack $STACK   (secrets: --show-secrets)
A shell on the client segment: $(bin/pulumi stack output local --stack "$STACK" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).clientShell))')
Try it (from this directory):

$(bin/pulumi stack output local --stack "$STACK" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).curl))')

Remove everything: npm run down
MSG
