#!/usr/bin/env bash
# `npm run down`: destroys the `local` stack (every container, namespace, overlay, process and
# link it created; the rootfs cache in .tools/local-hosts stays, like any build cache). Safe to
# run twice, and when nothing was deployed.
set -euo pipefail
cd "$(dirname "$0")/.."
STACK="${STACK:-local}"
if ! bin/pulumi stack select "$STACK" >/dev/null 2>&1; then
    echo "npm run down: no stack $STACK: nothing to remove"
    exit 0
fi
bin/pulumi destroy --yes --skip-preview --stack "$STACK"
rm -f .tools/local-stacks/*-ca.pem
rmdir .tools/local-stacks 2>/dev/null || true
