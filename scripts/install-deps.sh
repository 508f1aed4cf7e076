#!/usr/bin/env bash
# Installs everything the tests and the main job need; idempotent (a second run only checks).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: the real tools renderers are checked with, and the daemons/clients of the local stack.
APT_PACKAGES=(nginx nftables openssh-server openssh-client apparmor haproxy redis-server curl openssl
              iproute2 nghttp2-client wrk testssl.sh jq logrotate firewalld cloud-init
              systemd-container debootstrap iputils-ping sudo libnginx-mod-http-js njs
              chromium-headless-shell)  # the evidence report's HTML is checked in a real browser
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "== apt-get install ${missing[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bash scripts/ensure-npm.sh
# The policy pack's own dependencies (bin/pulumi runs it from its node_modules), with the same
# lockfile stamp as scripts/ensure-npm.sh: a no-op when they match policy-packs/*/package-lock.json.
PACK=policy-packs/api-proxy-baseline
if [ ! -f "$PACK/node_modules/.apiproxy-lock-stamp" ] || ! cmp -s "$PACK/package-lock.json" "$PACK/node_modules/.apiproxy-lock-stamp"; then
    echo "== npm ci --prefix $PACK" >&2
    npm ci --prefix "$PACK" --no-audit --no-fund >&2
    cp "$PACK/package-lock.json" "$PACK/node_modules/.apiproxy-lock-stamp"
fi
bash scripts/setup-engine.sh --allow-incomplete
bash scripts/build-services.sh
