#!/usr/bin/env bash
# container.sh: the AWS boot test's instances - systemd-nspawn --boot on an overlay of image
# layers, in a network namespace host-control.sh made (netns-up). Like host-control.sh's boot,
# but with device binds (the instance-store disk) and no SSH identity of its own: the instance
# gets its identity from its user data, as on EC2.
#   up   STATE NAME NETNS LOWERDIRS [NSPAWN_ARG...]   (LOWERDIRS: colon-separated, top first;
#                                                       STATE/NAME/upper may be pre-filled)
#   down STATE NAME [keep-upper]                       (keep-upper: the image build's layer survives)
set -euo pipefail
die() { printf 'container: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root"

# A cgroup of its own in each hierarchy this machine mounts (its init is not systemd): host-control.sh's own.
HOST_CONTROL="$(cd "$(dirname "$0")/../../.." && pwd)/components/targets/local/host-control.sh"
cgroup_dirs() { bash "$HOST_CONTROL" cgroup-dirs "$1"; }

cmd_up() {
    local state="$1" name="$2" netns="$3" lower="$4"; shift 4
    local dir="$state/$name" cg
    [ -e "/run/netns/$netns" ] || die "no network namespace $netns"
    mkdir -p "$dir/upper" "$dir/work" "$dir/root"
    mountpoint -q "$dir/root" || mount -t overlay overlay -o "lowerdir=$lower,upperdir=$dir/upper,workdir=$dir/work" "$dir/root"
    for cg in $(cgroup_dirs "$netns"); do mkdir -p "$cg"; done
    # /proc/sys/net writable inside (the instance applies its per-namespace sysctls); resolv.conf
    # is the image's (what the VPC's DHCP would hand it), never this machine's. The console is
    # copied to console.log (read-only): a passive one is a pty nobody reads, and once its buffer
    # fills, PID 1 blocks writing to it (seen: cloud-init's apt output stalled the boot).
    setsid bash -c '
        for cg in $(printf "%s\n" "${@:5}"); do echo $$ >"$cg/cgroup.procs"; done
        export SYSTEMD_NSPAWN_API_VFS_WRITABLE=network
        exec systemd-nspawn --boot --quiet --directory="$1" --machine="$2" --register=no --keep-unit \
            --console=read-only --resolv-conf=off --capability=CAP_NET_ADMIN --network-namespace-path="/run/netns/$3" $4
    ' container "$dir/root" "$netns" "$netns" "$*" $(cgroup_dirs "$netns") >"$dir/console.log" 2>&1 </dev/null &
    echo $! >"$dir/nspawn.pid"
    printf '%s\n' "$!"
}

cmd_down() {
    local state="$1" name="$2" keep="${3:-}" dir pid cg
    dir="$state/$name"
    pid="$(cat "$dir/nspawn.pid" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" # nspawn powers the container off
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    local netns
    netns="$(cat "$dir/netns" 2>/dev/null || true)"
    if [ -n "$netns" ]; then
        for cg in $(cgroup_dirs "$netns"); do
            [ -d "$cg" ] || continue
            find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
            find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
        done
    fi
    for _ in $(seq 1 50); do
        mountpoint -q "$dir/root" 2>/dev/null || break
        umount "$dir/root" 2>/dev/null || sleep 0.1
    done
    if [ "$keep" = keep-upper ]; then rm -rf "$dir/work" "$dir/root"; else rm -rf "$dir"; fi
}

sub="${1:-}"; shift || true
case "$sub" in
    up) mkdir -p "$1/$2"; printf '%s\n' "$3" >"$1/$2/netns"; cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
