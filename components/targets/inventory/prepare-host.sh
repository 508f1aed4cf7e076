#!/usr/bin/env bash
# Prepares one inventory host before any file is delivered (infra/targets/inventory.ts runs it
# over SSH as root): checks the host runs the OS the inventory declares, installs the role's
# packages that are missing (apt-get or dnf; the host's own mirror, so air-gapped sites work with
# a local one), and prints the facts later steps size things by, as one JSON line:
#   {"os":"debian-12","nofileCeiling":N,"installed":["pkg",...]}
# Inputs (environment): EXPECT_OS (debian-12 | ubuntu-22.04 | rhel-8), PACKAGES (space separated).
set -euo pipefail

if [ ! -r /etc/os-release ]; then
    echo "prepare: /etc/os-release is missing: cannot tell which OS this host runs" >&2
    exit 1
fi
# shellcheck disable=SC1091
. /etc/os-release
matches=false
case "$EXPECT_OS" in
    debian-12) [ "${ID:-}" = debian ] && [ "${VERSION_ID:-}" = 12 ] && matches=true ;;
    ubuntu-22.04) [ "${ID:-}" = ubuntu ] && [ "${VERSION_ID:-}" = 22.04 ] && matches=true ;;
    # RHEL 8 and its rebuilds (Rocky, Alma) declare ID_LIKE="rhel ...".
    rhel-8) case " ${ID:-} ${ID_LIKE:-} " in *" rhel "*) [ "${VERSION_ID%%.*}" = 8 ] && matches=true ;; esac ;;
esac
if ! $matches; then
    echo "prepare: this host runs ${PRETTY_NAME:-an unknown OS} (ID=${ID:-?} VERSION_ID=${VERSION_ID:-?}), but the inventory declares os: $EXPECT_OS; correct inventory.hosts[].os (the rendered files depend on it)" >&2
    exit 1
fi

missing=()
for p in $PACKAGES; do
    if command -v dpkg-query >/dev/null 2>&1; then
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    else
        rpm -q "$p" >/dev/null 2>&1 || missing+=("$p")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "prepare: installing ${missing[*]}" >&2
    if command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        # The package lists may be stale or absent: refresh once if the first try fails.
        if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
            apt-get update -q >&2
            apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
        fi
    else
        # RHEL 8's default nginx stream is 1.14; the renderer targets the nginx:1.22 module stream
        # (components/host/os.ts nginxVersion), which has every directive it emits.
        case " ${missing[*]} " in *" nginx "*) dnf module enable -y -q nginx:1.22 >&2 ;; esac
        dnf install -y -q "${missing[@]}" >&2
    fi
fi

# What systemd (PID 1) may grant a service: the ceiling of every LimitNOFILE on this host.
ceiling="$(awk '/^Max open files/ { print $5 }' /proc/1/limits)"
case "$ceiling" in ''|unlimited) ceiling=1048576 ;; esac
list() { local out="" x; for x in "$@"; do out+="${out:+,}\"$x\""; done; printf '[%s]' "$out"; }
printf '{"os":"%s","nofileCeiling":%s,"installed":%s}\n' "$EXPECT_OS" "$ceiling" "$(list ${missing[@]+"${missing[@]}"})"
