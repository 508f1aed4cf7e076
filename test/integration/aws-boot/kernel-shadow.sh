#!/bin/bash
# kernel-shadow.sh (test scaffolding, runs inside the boot test's containers before cloud-init):
# a container shares this machine's kernel, so its kernel-global sysctls (kernel.*, fs.*, vm.*)
# are not the container's to set: /proc/sys is read-only there, and were it not, the user data's
# `sysctl --system` would change this machine. Each such key listed in
# /etc/apx-boot-test/kernel-keys (and in the image's sysctl.d files) that exists here gets a private file mounted at its /proc/sys
# path: the real sysctl writes it, the test reads back what it wrote, and this machine's kernel is
# never touched. Per-namespace keys (net.*) stay the container's real ones. Keys this kernel view
# lacks altogether (net.core.bpf_jit_harden outside the initial network namespace, kernel.yama.*
# on a kernel without Yama) cannot be given a path; the sysctl wrapper (aws-boot/sysctl) skips them.
set -euo pipefail
STATE=/run/apx-boot-test/kernel
mkdir -p "$STATE"
: >"$STATE/shadowed"
: >"$STATE/absent"
while read -r key; do
    [ -n "$key" ] || continue
    path="/proc/sys/${key//.//}"
    if [ ! -e "$path" ]; then printf '%s\n' "$key" >>"$STATE/absent"; continue; fi
    case "$key" in net.*) continue ;; esac # this network namespace's own
    cat "$path" >"$STATE/$key"
    mount --bind "$STATE/$key" "$path"
    printf '%s\n' "$key" >>"$STATE/shadowed"
done < <(
    # The rendered keys, and every key the image's own sysctl.d files set (`sysctl --system` applies them all).
    {
        cat /etc/apx-boot-test/kernel-keys
        cat /usr/lib/sysctl.d/*.conf /lib/sysctl.d/*.conf /etc/sysctl.d/*.conf /etc/sysctl.conf 2>/dev/null |
            sed -n 's/^[[:space:]]*-\{0,1\}\([a-z0-9_.]*\)[[:space:]]*=.*/\1/p'
    } | sort -u
)
