#!/usr/bin/env bash
# setup.sh: what the AWS boot test (test/integration/aws-boot.test.ts) needs on this machine,
# installed once and cached under .tools/aws-boot (idempotent: a second run only checks).
#   - moto's server (the AWS emulator: Secrets Manager, instance metadata) and dnslib (the VPC
#     resolver's stand-in), pinned, in a venv;
#   - apt-cacher-ng (the package mirror stock hosts install from), unpacked from Debian's
#     packages, not installed: no daemon starts on this machine;
#   - the containers' rootfs: Debian 12 and Debian 11 (nginx 1.18, Ubuntu 22.04's version),
#     each with cloud-init and what a stock cloud image carries (components/targets/local/host-control.sh
#     builds them). Debian 11's own cloud-init (20.4) predates write_files `defer` (Ubuntu 22.04
#     ships 22.1 or later), so the Debian 11 image gets Debian 12's cloud-init 22.4 in a layer.
# Prints one JSON object: the paths the test uses.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
CACHE="$ROOT/.tools/aws-boot"
HOST_CONTROL="$ROOT/components/targets/local/host-control.sh"
MOTO_VERSION=5.2.5
DNSLIB_VERSION=0.9.26
mkdir -p "$CACHE"
exec 8>"$CACHE/.setup.lock"
flock 8

log() { printf 'aws-boot setup: %s\n' "$*" >&2; }

# ---- the AWS emulator and the resolver, pinned ----
VENV="$CACHE/venv"
stamp="moto[server]==$MOTO_VERSION dnslib==$DNSLIB_VERSION"
if [ ! -x "$VENV/bin/moto_server" ] || [ "$(cat "$VENV/.apiproxy-stamp" 2>/dev/null)" != "$stamp" ]; then
    log "pip install $stamp"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" "dnslib==$DNSLIB_VERSION" >&2
    printf '%s' "$stamp" >"$VENV/.apiproxy-stamp"
fi

# ---- the package mirror: apt-cacher-ng unpacked (with the two libraries it needs beyond this machine's) ----
ACNG="$CACHE/apt-cacher-ng"
if [ ! -f "$ACNG/.complete" ]; then
    log "unpack apt-cacher-ng"
    rm -rf "$ACNG" "$ACNG.tmp"
    mkdir -p "$ACNG.tmp/debs"
    # apt-get download needs package lists; a machine whose packages all came preinstalled may have none.
    apt-cache policy apt-cacher-ng 2>/dev/null | grep -q 'Candidate: [0-9]' || apt-get update -qq >&2
    (cd "$ACNG.tmp/debs" && apt-get download -q apt-cacher-ng libevent-pthreads-2.1-7 libc-ares2 >&2 2>/dev/null)
    for deb in "$ACNG.tmp"/debs/*.deb; do dpkg -x "$deb" "$ACNG.tmp/root"; done
    LD_LIBRARY_PATH="$ACNG.tmp/root/usr/lib/x86_64-linux-gnu" ldd "$ACNG.tmp/root/usr/sbin/apt-cacher-ng" | grep -q "not found" &&
        { log "apt-cacher-ng: libraries missing: $(LD_LIBRARY_PATH="$ACNG.tmp/root/usr/lib/x86_64-linux-gnu" ldd "$ACNG.tmp/root/usr/sbin/apt-cacher-ng" | grep 'not found')"; exit 1; }
    rm -rf "$ACNG.tmp/debs"
    touch "$ACNG.tmp/.complete"
    mv "$ACNG.tmp" "$ACNG"
fi

# ---- the containers' images ----
# What a stock cloud image carries (Ubuntu's: systemd, sshd, sudo, cloud-init), nothing the user data installs.
# python3-cffi-backend: debootstrap does not resolve the virtual package python3-cryptography needs.
IMAGE_PACKAGES=(systemd systemd-sysv dbus openssh-server sudo iproute2 procps ca-certificates cloud-init python3-cffi-backend)
# Debian 12's cloud-init 22.4 also needs these on Debian 11.
CLOUD_INIT_22_DEPS=(eject gdisk isc-dhcp-client locales lsb-release python3-configobj python3-jinja2 python3-jsonpatch
                    python3-jsonschema python3-netifaces python3-oauthlib python3-requests python3-serial python3-yaml)
bookworm="$(bash "$HOST_CONTROL" rootfs "$CACHE/rootfs" bookworm "${IMAGE_PACKAGES[@]}")"
bullseye="$(bash "$HOST_CONTROL" rootfs "$CACHE/rootfs" bullseye "${IMAGE_PACKAGES[@]}" "${CLOUD_INIT_22_DEPS[@]}")"

# Debian 11 + cloud-init 22.4 (Debian 12's package, architecture all) as an overlay layer.
LAYER="$CACHE/layers/bullseye-cloud-init-$(basename "$bullseye")"
if [ ! -f "$LAYER/.complete" ]; then
    log "cloud-init 22.4 layer on $bullseye"
    rm -rf "$LAYER.tmp"
    mkdir -p "$LAYER.tmp/upper" "$LAYER.tmp/work" "$LAYER.tmp/merged" "$LAYER.tmp/debs"
    (cd "$LAYER.tmp/debs" && apt-get download -q "cloud-init=$(apt-cache policy cloud-init | awk '/Candidate:/ { print $2 }')" >&2 2>/dev/null)
    unshare -m bash -euo pipefail -c '
        mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$2/merged"
        cp "$2"/debs/cloud-init_*.deb "$2/merged/tmp/cloud-init.deb"
        mount -t proc proc "$2/merged/proc"
        chroot "$2/merged" env DEBIAN_FRONTEND=noninteractive dpkg -i /tmp/cloud-init.deb >&2
        rm -f "$2/merged/tmp/cloud-init.deb"
        chroot "$2/merged" cloud-init --version >&2
    ' layer "$bullseye" "$LAYER.tmp"
    rm -rf "$LAYER.tmp/work" "$LAYER.tmp/merged" "$LAYER.tmp/debs"
    touch "$LAYER.tmp/.complete"
    mv "$LAYER.tmp" "$LAYER"
fi

printf '{"venv":"%s","aptCacherNg":"%s","bookworm":["%s"],"bullseye":["%s","%s"]}\n' \
    "$VENV" "$ACNG/root" "$bookworm" "$LAYER/upper" "$bullseye"
