# apply-host-files: runs on an inventory host (bash), reading a bundle of HostFiles on stdin
# (components/targets/inventory/bundle.ts). Installs what differs, validates, and only then
# activates: a configuration the daemon's own check refuses is rolled back before anything
# reloads, so the old one keeps serving, and the step fails with the daemon's message.
# Reload, never restart. Prints a JSON report on stdout: files changed, actions run, and the
# controls this host could not apply (e.g. kernel-global sysctls inside a container).
set -euo pipefail
umask 077
state=/var/lib/api-proxy-security
install -d -m 0700 "$state"
stage="$(mktemp -d "$state/stage.XXXXXX")"
trap 'rm -rf "$stage"' EXIT

json() { # a JSON string literal
    local s="$1"
    s="${s//\\/\\\\}"; s="${s//\"/\\\"}"; s="${s//$'\n'/\\n}"; s="${s//$'\t'/\\t}"
    printf '"%s"' "$s"
}
changed=() changed_actions=() backups=() not_applied=() ran=()

rollback() {
    local i
    for ((i = ${#changed[@]} - 1; i >= 0; i--)); do
        if [ -n "${backups[i]}" ]; then mv -f "${backups[i]}" "${changed[i]}"; else rm -f "${changed[i]}"; fi
    done
}

# 1. Read the bundle; keep what differs (content, mode, owner, group) from what the host has.
n=0
while IFS=$'\t' read -r tag path mode owner group action; do
    [ "$tag" = FILE ] || { echo "apply-host-files: malformed bundle line: $tag" >&2; exit 2; }
    IFS= read -r content
    n=$((n + 1))
    printf '%s' "$content" | base64 -d >"$stage/$n"
    # Unchanged when content, mode and ownership all match (stat's %a has no leading zero).
    if [ -f "$path" ] && cmp -s "$stage/$n" "$path" && [ "$(stat -c '%a %U %G' "$path")" = "$(printf '%o' "$((8#$mode))") $owner $group" ]; then
        continue
    fi
    backup=""
    if [ -e "$path" ]; then backup="$stage/backup.$n"; cp -p "$path" "$backup"; fi
    changed+=("$path") changed_actions+=("$action") backups+=("$backup")
    printf '%s\t%s\t%s\t%s\n' "$n" "$mode" "$owner" "$group" >>"$stage/plan"
done

# 2. Install each changed file atomically (a temporary name in the same directory, then rename).
i=0
while IFS=$'\t' read -r index mode owner group; do
    path="${changed[i]}"
    if ! install -D -m "$mode" -o "$owner" -g "$group" "$stage/$index" "$path.apiproxy-new" || ! mv -f "$path.apiproxy-new" "$path"; then
        rm -f "$path.apiproxy-new"
        changed=("${changed[@]:0:i}") backups=("${backups[@]:0:i}")
        rollback
        echo "apply-host-files: could not install $path (mode $mode, $owner:$group); nothing was activated" >&2
        exit 1
    fi
    i=$((i + 1))
done < <(cat "$stage/plan" 2>/dev/null)

has_action() { local a; for a in "${changed_actions[@]}"; do [ "$a" = "$1" ] && return 0; done; return 1; }
changed_with() { local j; for j in "${!changed[@]}"; do [ "${changed_actions[j]}" = "$1" ] && printf '%s\n' "${changed[j]}"; done; return 0; }

# 3. Validate with each daemon's own check before anything is activated.
check() { # NAME CMD...: on failure restore every file and fail with the tool's message
    local out
    if ! out="$("${@:2}" 2>&1)"; then
        rollback
        printf 'apply-host-files: %s refused the new configuration; the previous files were restored and keep serving:\n%s\n' "$1" "$out" >&2
        exit 1
    fi
}
if has_action nginx-reload; then
    # The unit creates nginx's runtime directory (RuntimeDirectory=) only when it starts; the
    # check needs it already (nginx -t opens the pid file's directory).
    pid="$(awk '$1 == "pid" { sub(/;$/, "", $2); print $2; exit }' /etc/nginx/nginx.conf 2>/dev/null || true)"
    if [ -n "$pid" ] && [ ! -d "$(dirname "$pid")" ]; then install -d -m 0755 "$(dirname "$pid")"; fi
    check "nginx -t" nginx -t
fi
if has_action sshd-reload; then check "sshd -t" sshd -t; fi
if has_action haproxy-reload; then
    while IFS= read -r f; do check "haproxy -c -f $f" haproxy -c -q -f "$f"; done < <(changed_with haproxy-reload)
fi
if has_action firewall-reload && command -v nft >/dev/null; then
    while IFS= read -r f; do check "nft -c -f $f" nft -c -f "$f"; done < <(changed_with firewall-reload)
fi

# 4. Activate, in ACTION_ORDER (components/core/host-file.ts): config first, daemons last.
if has_action sysctl-reload; then
    while IFS= read -r f; do
        while IFS= read -r line; do
            line="${line%%#*}"
            [[ "$line" == *=* ]] || continue
            key="${line%%=*}" value="${line#*=}"
            key="${key//[[:space:]]/}"
            # A value may hold several numbers ("1024 65535"): trim its ends, keep one space between.
            read -r -a words <<<"$value"
            value="${words[*]}"
            if ! err="$(sysctl -q -w "$key=$value" 2>&1)"; then
                not_applied+=("sysctl $key=$value: ${err:-refused} (this host cannot set it, e.g. a kernel-global key inside a container)")
            fi
        done <"$f"
    done < <(changed_with sysctl-reload)
    ran+=("sysctl")
fi
if has_action selinux-apply; then
    while IFS= read -r f; do "$f" >&2; done < <(changed_with selinux-apply)
    ran+=("selinux-apply")
fi
if has_action apparmor-reload; then
    if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] && command -v apparmor_parser >/dev/null; then
        while IFS= read -r f; do apparmor_parser -r "$f" >&2; done < <(changed_with apparmor-reload)
        ran+=("apparmor_parser -r")
    else
        while IFS= read -r f; do not_applied+=("AppArmor profile $f: AppArmor is not enabled on this host"); done < <(changed_with apparmor-reload)
    fi
fi
if has_action systemd-daemon-reload; then systemctl daemon-reload; ran+=("systemctl daemon-reload"); fi
if has_action firewall-reload; then
    if command -v nft >/dev/null; then
        # A default-deny ruleset drops untracked non-SYN packets: on a host whose netfilter was
        # not tracking connections yet, that would be this very SSH session. So make conntrack
        # pick the session up first (a hook that only observes), let packets pass both ways so
        # it is seen as established, then load the ruleset and remove the observer.
        nft -f - <<'PRIME'
table inet apiproxy_conntrack_prime {
    chain observe_in { type filter hook input priority -300; ct state new counter; }
    chain observe_out { type filter hook output priority -300; ct state new counter; }
}
PRIME
        for _ in 1 2 3 4 5; do printf '.' >&2; sleep 0.2; done
        printf '\n' >&2
        while IFS= read -r f; do nft -f "$f"; done < <(changed_with firewall-reload)
        nft delete table inet apiproxy_conntrack_prime
        ran+=("nft -f")
    else
        firewall-cmd --reload >&2
        ran+=("firewall-cmd --reload")
    fi
fi
# A daemon that runs is reloaded (SIGHUP: old workers drain); one that does not yet run is started.
# A unit that fails to (re)start fails the step with what it logged.
unit_failed() { # UNIT WHAT
    printf 'apply-host-files: %s failed for %s; its log:\n' "$2" "$1" >&2
    journalctl -u "$1" -n 15 --no-pager -o cat >&2 2>/dev/null || systemctl status "$1" --no-pager >&2 || true
    exit 1
}
activate() { # UNIT
    if systemctl is-active --quiet "$1"; then
        systemctl reload "$1" || unit_failed "$1" "systemctl reload"
        ran+=("systemctl reload $1")
    else
        systemctl enable --quiet --now "$1" 2>/dev/null || unit_failed "$1" "systemctl enable --now"
        ran+=("systemctl enable --now $1")
    fi
}
if has_action service-restart; then
    systemctl daemon-reload
    while IFS= read -r f; do
        unit="${f##*/}"
        systemctl enable --quiet "$unit"
        systemctl restart "$unit" 2>/dev/null || unit_failed "$unit" "systemctl restart"
        ran+=("systemctl restart $unit")
    done < <(changed_with service-restart)
fi
if has_action sshd-reload; then activate ssh; fi
if has_action haproxy-reload; then activate haproxy; fi
if has_action nginx-reload; then activate nginx; fi

# Limits a unit asks for but the host cannot grant (a container under this machine's ceiling)
# are reported, never silently lowered.
for unit in nginx haproxy; do
    systemctl is-active --quiet "$unit" 2>/dev/null || continue
    want="$(systemctl show "$unit" -p LimitNOFILE --value)"
    main="$(systemctl show "$unit" -p MainPID --value)"
    have="$(awk '/^Max open files/ { print $5 }' "/proc/$main/limits" 2>/dev/null || true)"
    if [[ "$want" =~ ^[0-9]+$ && "$have" =~ ^[0-9]+$ ]] && [ "$have" -lt "$want" ]; then
        not_applied+=("$unit LimitNOFILE=$want: runs with $have (this host's hard limit)")
    fi
done

# 5. The report.
list() { local first=1 x; printf '['; for x in "$@"; do [ $first = 1 ] || printf ','; first=0; json "$x"; done; printf ']'; }
printf '{"changed":%s,"actions":%s,"notApplied":%s}\n' "$(list ${changed[@]+"${changed[@]}"})" "$(list ${ran[@]+"${ran[@]}"})" \
    "$(list ${not_applied[@]+"${not_applied[@]}"})"
