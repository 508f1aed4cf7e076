#!/usr/bin/env bash
# Builds the services the local and inventory targets install (services/: apiproxy-keycheck,
# apiproxy-demo-upstream) into .tools/services/ as static binaries. A no-op when the Go sources
# are unchanged since the last build (recorded in .tools/services/.source-sha256).
set -euo pipefail
cd "$(dirname "$0")/.."
out=.tools/services
sha="$(cd services && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)"
if [ -f "$out/.source-sha256" ] && [ "$(cat "$out/.source-sha256")" = "$sha" ] &&
    [ -x "$out/apiproxy-keycheck" ] && [ -x "$out/apiproxy-demo-upstream" ]; then
    exit 0
fi
command -v go >/dev/null || { echo "build-services: go not found (Go >= 1.24 builds the services)" >&2; exit 1; }
mkdir -p "$out"
echo "== build-services: go build services/cmd/... -> $out" >&2
(cd services && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "../$out/" ./cmd/...)
printf '%s\n' "$sha" >"$out/.source-sha256"
