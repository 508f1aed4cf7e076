#!/usr/bin/env bash
# host-control.sh: the local target's hosts on this machine, run by the LocalHosts component's
# command.local.Command resources (create and delete). Each host is a real Debian container:
# systemd-nspawn --boot on an overlay of a cached debootstrap'd rootfs, in its own network
# namespace, wired to segment bridges inside one "fabric" namespace that routes between the
# segments (the VPC's route tables) and filters what crosses them (its security groups).
# Every subcommand is idempotent: create twice is one host, delete of nothing succeeds.
#
#   rootfs  CACHE SUITE PACKAGES...            build (once per package list) and print its path; the
#                                              Debian mirror is the one this machine's apt uses
#   fabric-up   FABRIC MGMT_HOST_CIDR SEG=GW_CIDR... [allow:SEG>CIDR:PORT,PORT...]...
#                                              namespace, bridges, gateways, forwarding; with allow
#                                              rules, only those new TCP flows cross segments
#   fabric-down FABRIC
#   host-up   FABRIC NAME STATE ROOTFS SSH_ADDR SEG=CIDR...   (stdin: the host's ED25519 key, OpenSSH PEM;
#                                                        env AUTHORIZED_KEY: the admin's authorized_keys line,
#                                                        env ADMIN_USER: the delivery account, sudo to root)
#   host-down FABRIC NAME STATE
#   netns-up  FABRIC NAME SEG=CIDR             a bare namespace on a segment (the client side)
#   netns-down FABRIC NAME
set -euo pipefail

die() { printf 'host-control: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, overlay mounts, systemd-nspawn)"

# Names on this machine: <fabric>-<host>; Linux caps interface names at 15 characters, so veth
# ends are named by a short hash.
ns_of() { printf '%s-%s' "$1" "$2"; }
ifname() { printf 'ap%s' "$(printf '%s' "$*" | sha256sum | cut -c1-11)"; }
bridge_of() { printf 'br-%s' "$(printf '%s' "$1" | cut -c1-12)"; }
# A cgroup of its own in each hierarchy this machine mounts (hybrid: name=systemd and unified).
cgroup_dirs() {
    local h
    for h in systemd unified; do
        [ -d "/sys/fs/cgroup/$h" ] && printf '/sys/fs/cgroup/%s/api-proxy-security/%s\n' "$h" "$1"
    done
    return 0
}

# The Debian archive this machine's apt is configured with (deb822 or one-line sources), so
# the containers come from the same mirror as everything else installed here.
apt_mirror() {
    local uri
    uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }')"
    [ -n "$uri" ] || uri="$(grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$2 !~ /security/ { print $2; exit }')"
    [ -n "$uri" ] || die "no Debian archive found in this machine's apt sources"
    printf '%s' "$uri"
}

cmd_rootfs() {
    local cache="$1" suite="$2"; shift 2
    local mirror; mirror="$(apt_mirror)"
    local packages
    packages="$(printf '%s\n' "$@" | sort -u | paste -sd, -)"
    local key
    key="$( (printf '%s\n%s\n%s\n' "$suite" "$mirror" "$packages"; sed -n '/^cmd_rootfs()/,/^}/p' "$0") | sha256sum | cut -c1-16)"
    local dest="$cache/rootfs-$suite-$key"
    mkdir -p "$cache"
    exec 9>"$cache/.lock"
    flock 9
    if [ ! -f "$dest/.complete" ]; then
        rm -rf "$dest.tmp" "$dest"
        echo "host-control: debootstrap $suite ($packages) into $dest" >&2
        debootstrap --variant=minbase --include="$packages" "$suite" "$dest.tmp" "$mirror" >&2
        # No host inherits another's identity: SSH host keys and the machine id are per host.
        rm -f "$dest.tmp"/etc/ssh/ssh_host_* "$dest.tmp/etc/machine-id"
        : >"$dest.tmp/etc/machine-id"
        # Services start only where a role enables them.
        for unit in nginx haproxy redis-server; do
            rm -f "$dest.tmp/etc/systemd/system/multi-user.target.wants/$unit.service"
        done
        rm -rf "$dest.tmp/var/cache/apt/archives/"*.deb
        printf '%s\n' "$packages" >"$dest.tmp/.packages"
        touch "$dest.tmp/.complete"
        mv "$dest.tmp" "$dest"
    fi
    printf '%s\n' "$dest"
}

cmd_fabric_up() {
    local fabric="$1" mgmt_host="$2"; shift 2
    ip netns list | grep -qx "$fabric\( .*\)\?" || ip netns add "$fabric"
    ip -n "$fabric" link set lo up
    ip netns exec "$fabric" sysctl -qw net.ipv4.ip_forward=1
    local seg cidr br rules=() segments=()
    for spec in "$@"; do
        if [[ "$spec" == allow:* ]]; then rules+=("${spec#allow:}"); continue; fi
        segments+=("${spec#*=}")
        seg="${spec%%=*}" cidr="${spec#*=}" br="$(bridge_of "$seg")"
        ip -n "$fabric" link show "$br" >/dev/null 2>&1 || ip -n "$fabric" link add "$br" type bridge
        ip -n "$fabric" addr replace "$cidr" dev "$br"
        ip -n "$fabric" link set "$br" up
    done
    # This machine reaches the management segment (SSH from the engine's command provider).
    local root_end fab_end
    root_end="$(ifname "$fabric" root)" fab_end="$(ifname "$fabric" root-peer)"
    if ! ip link show "$root_end" >/dev/null 2>&1; then
        ip link add "$root_end" type veth peer name "$fab_end"
        ip link set "$fab_end" netns "$fabric"
    fi
    ip -n "$fabric" link set "$fab_end" master "$(bridge_of management)" up
    ip addr replace "$mgmt_host" dev "$root_end"
    ip link set "$root_end" up
    if [ "${#rules[@]}" -gt 0 ]; then fabric_filter "$fabric" "${segments[*]}" "${rules[@]}"; fi
}

# fabric_filter FABRIC "GW_CIDR..." SEG>CIDR:PORTS...: what crosses segments (the security
# groups' role): replies, ICMP errors, and the listed new TCP flows from a segment to an address;
# everything else routed between segments is dropped (and counted). Traffic inside one segment
# passes (it is bridged, and bridged IPv4 meets this hook where br_netfilter is loaded), like
# hosts in one security group.
fabric_filter() {
    local fabric="$1" segment_cidrs="$2"; shift 2
    local rule from dest ports lines="" net
    for net in $segment_cidrs; do
        lines+="        ip saddr $net ip daddr $net accept
"
    done
    for rule in "$@"; do
        from="${rule%%>*}" dest="${rule#*>}"; ports="${dest##*:}"; dest="${dest%:*}"
        [[ "$from" =~ ^[a-z]+$ && "$dest" =~ ^[0-9./]+$ && "$ports" =~ ^[0-9,]+$ ]] || die "bad allow rule '$rule' (SEG>CIDR:PORT,PORT)"
        lines+="        iifname \"$(bridge_of "$from")\" ip daddr $dest tcp dport { $ports } ct state new accept
"
    done
    ip netns exec "$fabric" nft -f - <<RULES
table inet api_proxy_fabric
delete table inet api_proxy_fabric
table inet api_proxy_fabric {
    counter dropped { }
    chain forward {
        type filter hook forward priority filter; policy drop;
        ct state established,related accept
        ct state invalid drop
        icmp type { destination-unreachable, time-exceeded, parameter-problem } accept
$lines        counter name "dropped" drop
    }
}
RULES
}

cmd_fabric_down() {
    local fabric="$1"
    ip link del "$(ifname "$fabric" root)" 2>/dev/null || true
    ip netns del "$fabric" 2>/dev/null || true
}

# attach FABRIC NS SEG CIDR: a veth from namespace NS onto the segment's bridge, default route
# through the segment's gateway when it is the first (primary) interface.
attach() {
    local fabric="$1" ns="$2" seg="$3" cidr="$4" primary="$5"
    local inside outside gw
    inside="$(ifname "$ns" "$seg")" outside="$(ifname "$ns" "$seg" peer)"
    if ! ip -n "$ns" link show "$inside" >/dev/null 2>&1; then
        ip -n "$fabric" link add "$outside" type veth peer name "$inside"
        ip -n "$fabric" link set "$inside" netns "$ns"
    fi
    ip -n "$fabric" link set "$outside" master "$(bridge_of "$seg")" up
    ip -n "$ns" addr replace "$cidr" dev "$inside"
    ip -n "$ns" link set "$inside" up
    if [ "$primary" = 1 ]; then
        gw="$(ip -n "$fabric" -4 -o addr show dev "$(bridge_of "$seg")" | awk '{print $4}' | cut -d/ -f1)"
        ip -n "$ns" route replace default via "$gw"
    fi
}

cmd_netns_up() {
    local fabric="$1" name="$2"; shift 2
    local ns; ns="$(ns_of "$fabric" "$name")"
    ip netns list | grep -qx "$ns\( .*\)\?" || ip netns add "$ns"
    ip -n "$ns" link set lo up
    local primary=1
    for spec in "$@"; do attach "$fabric" "$ns" "${spec%%=*}" "${spec#*=}" "$primary"; primary=0; done
}

cmd_netns_down() { ip netns del "$(ns_of "$1" "$2")" 2>/dev/null || true; }

cmd_host_up() {
    local fabric="$1" name="$2" state="$3" rootfs="$4" ssh_addr="$5"; shift 5
    [ -f "$rootfs/.complete" ] || die "$rootfs is not a complete rootfs (run rootfs first)"
    [ -n "${AUTHORIZED_KEY:-}" ] || die "AUTHORIZED_KEY (the admin's authorized_keys line) is empty"
    local admin="${ADMIN_USER:-}"
    [[ "$admin" =~ ^[a-z_][a-z0-9_-]{0,31}$ ]] || die "ADMIN_USER must be a user name, got '$admin'"
    local host_key; host_key="$(cat)"
    [[ "$host_key" == *"OPENSSH PRIVATE KEY"* ]] || die "stdin must carry the host's OpenSSH private key"
    local ns dir pid
    ns="$(ns_of "$fabric" "$name")" dir="$state/$name"
    # A host that fails to come up is removed again: the engine records no resource for a
    # failed create, so nothing would ever delete it.
    trap 'rc=$?; if [ "$rc" -ne 0 ]; then echo "host-control: $name did not come up; removing it" >&2; cmd_host_down "$fabric" "$name" "$state" || true; fi' EXIT
    cmd_netns_up "$fabric" "$name" "$@"
    mkdir -p "$dir/upper" "$dir/work" "$dir/root"
    mountpoint -q "$dir/root" || mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$dir/upper,workdir=$dir/work" "$dir/root"
    # Identity: hostname, SSH host key (pinned by the engine), the delivery account with the
    # management key (the only login: the rendered sshd_config allows this user alone and no
    # root), sshd on the management address only.
    printf '%s\n' "$name" >"$dir/root/etc/hostname"
    grep -q "[[:space:]]$name\$" "$dir/root/etc/hosts" 2>/dev/null || printf '127.0.1.1\t%s\n' "$name" >>"$dir/root/etc/hosts"
    if ! chroot "$dir/root" id -u "$admin" >/dev/null 2>&1; then
        chroot "$dir/root" useradd --create-home --shell /bin/bash "$admin"
    fi
    install -d -m 0700 -o "$(chroot "$dir/root" id -u "$admin")" -g "$(chroot "$dir/root" id -g "$admin")" "$dir/root/home/$admin/.ssh"
    printf '%s\n' "$AUTHORIZED_KEY" >"$dir/root/home/$admin/.ssh/authorized_keys"
    chroot "$dir/root" chown "$admin:$admin" "/home/$admin/.ssh/authorized_keys"
    chmod 0600 "$dir/root/home/$admin/.ssh/authorized_keys"
    # Delivery installs root-owned files and reloads daemons: the account is root-equivalent
    # by design, reachable only with the management key from the management segment.
    printf '%s ALL=(root) NOPASSWD: ALL\n' "$admin" >"$dir/root/etc/sudoers.d/api-proxy-security"
    chmod 0440 "$dir/root/etc/sudoers.d/api-proxy-security"
    (umask 077; printf '%s\n' "$host_key" >"$dir/root/etc/ssh/ssh_host_ed25519_key")
    ssh-keygen -y -f "$dir/root/etc/ssh/ssh_host_ed25519_key" >"$dir/root/etc/ssh/ssh_host_ed25519_key.pub"
    printf 'HostKey /etc/ssh/ssh_host_ed25519_key\nListenAddress %s\nPermitRootLogin prohibit-password\nPasswordAuthentication no\n' \
        "$ssh_addr" >"$dir/root/etc/ssh/sshd_config.d/00-local-target.conf"
    pid="$(cat "$dir/nspawn.pid" 2>/dev/null || true)"
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
            local cg
        # A cgroup of its own (this machine's init is not systemd); limits set there are not enforced here.
        for cg in $(cgroup_dirs "$(ns_of "$fabric" "$name")"); do mkdir -p "$cg"; done
        setsid bash "$0" boot "$dir/root" "$(ns_of "$fabric" "$name")" "$ns" >"$dir/console.log" 2>&1 </dev/null &
        echo $! >"$dir/nspawn.pid"
    fi
    # Ready when its sshd answers on the management address, from this machine (the engine's side),
    # and only through the fabric: never probe an address this machine would route elsewhere.
    ip route get "$ssh_addr" | grep -q "dev $(ifname "$fabric" root) " ||
        die "$ssh_addr is not routed into fabric $fabric (ip route get: $(ip route get "$ssh_addr" | head -n1)); is the management segment up?"
    local deadline=$((SECONDS + 60))
    until timeout 1 bash -c "exec 3<>/dev/tcp/$ssh_addr/22" 2>/dev/null; do
        [ "$SECONDS" -lt "$deadline" ] || die "$name: sshd not listening on $ssh_addr:22 after 60 s; console: $(tail -n 20 "$dir/console.log")"
        sleep 0.2
    done
    printf '{"name":"%s","namespace":"%s","sshAddress":"%s","pid":%s}\n' "$name" "$ns" "$ssh_addr" "$(cat "$dir/nspawn.pid")"
}

# boot ROOT MACHINE NETNS (internal): joins the host's cgroups, then becomes systemd-nspawn.
cmd_boot() {
    local root="$1" machine="$2" ns="$3" cg
    for cg in $(cgroup_dirs "$machine"); do echo $$ >"$cg/cgroup.procs"; done
    # /proc/sys/net writable inside: the host applies its own per-namespace net.* sysctls.
    # The container's console goes to console.log (read-only): a passive console is a pty nobody
    # reads, and PID 1 blocks once its buffer is full (seen in the AWS boot test's containers).
    export SYSTEMD_NSPAWN_API_VFS_WRITABLE=network
    exec systemd-nspawn --boot --quiet --directory="$root" --machine="$machine" --register=no --keep-unit \
        --console=read-only --capability=CAP_NET_ADMIN --network-namespace-path="/run/netns/$ns"
}

cmd_host_down() {
    local fabric="$1" name="$2" state="$3"
    local dir="$state/$name" pid cg
    pid="$(cat "$dir/nspawn.pid" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" # nspawn powers the container off
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    for cg in $(cgroup_dirs "$(ns_of "$fabric" "$name")"); do
        [ -d "$cg" ] || continue
        find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
        find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done
    for cg in $(cgroup_dirs "$(ns_of "$fabric" "$name")"); do rmdir "$(dirname "$cg")" 2>/dev/null || true; done # the last one out
    if mountpoint -q "$dir/root" 2>/dev/null; then umount "$dir/root"; fi
    rm -rf "$dir"
    rmdir "$state" 2>/dev/null || true
    cmd_netns_down "$fabric" "$name"
}

sub="${1:-}"; shift || true
case "$sub" in
    rootfs) cmd_rootfs "$@" ;;
    fabric-up) cmd_fabric_up "$@" ;;
    fabric-down) cmd_fabric_down "$@" ;;
    host-up) cmd_host_up "$@" ;;
    host-down) cmd_host_down "$@" ;;
    boot) cmd_boot "$@" ;;
    netns-up) cmd_netns_up "$@" ;;
    netns-down) cmd_netns_down "$@" ;;
    cgroup-dirs) cgroup_dirs "$@" ;; # for other container tooling (test/integration/aws-boot/container.sh)
    *) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
