#!/usr/bin/env bash
# `npm run setup`: makes the Pulumi engine available offline (docs/engine.md).
#
# Builds the `pulumi` CLI and the Node.js language host (from sdk/v3 v3.68.0, the last release
# that contains it) into .tools/bin, and the resource plugins `command` and `tls` into
# .tools/plugins, from the Go module proxy, then registers the plugins in the project-local
# PULUMI_HOME (.pulumi). Every version comes from engine-versions.json. A pulumi already on
# PATH (a normal install) is used instead of building the CLI when it is new enough.
#
# Records what it achieved in .tools/engine-status.json (read by test/integration/engine.test.ts):
#   { "cli": {ok, path, version, source}, "languageHost": {ok, path | error, unavailable},
#     "plugins": {"command": {...}, "tls": {...}}, "complete": bool, "key", "versionsSha256" }
#
# Usage: scripts/setup-engine.sh [--allow-incomplete] [--retry]
#   exit 0  engine complete
#   exit 1  the CLI is missing, or (without --allow-incomplete) any other part is missing
#   --allow-incomplete  exit 0 with a WARNING naming the missing parts when only the language
#                       host or plugins are missing (scripts/install-deps.sh uses it). The CLI
#                       failing still exits 1.
#   --retry             ask the module proxy again for parts it refused before.
#
# Idempotent and cheap to re-run: the status is keyed by a sha256 of engine-versions.json,
# scripts/engine/** and this script. With the same key, a part that was refused (403/404 from
# the proxy, or an unpinned ref) is not requested again, and a run where every part is either
# present or refused returns in well under a second without invoking go. Go's module and build
# caches (GOMODCACHE, GOCACHE: the user's defaults) are reused between runs.
set -euo pipefail

usage() { sed -n '14,20p' "$0" | sed 's/^# \{0,1\}//'; }
ALLOW_INCOMPLETE=0
RETRY=0
for arg in "$@"; do
    case "$arg" in
        --allow-incomplete) ALLOW_INCOMPLETE=1 ;;
        --retry) RETRY=1 ;;
        -h | --help) usage; exit 0 ;;
        *) printf 'setup-engine: unknown option %s\n' "$arg" >&2; usage >&2; exit 2 ;;
    esac
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
PLUGINS="$TOOLS/plugins"
ENGINE_SRC="$ROOT/scripts/engine"
VERSIONS="$ROOT/engine-versions.json"
STATUS="$TOOLS/engine-status.json"
LOGS="$TOOLS/logs"
export PULUMI_HOME="${PULUMI_HOME:-$ROOT/.pulumi}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

say() { printf '== setup-engine: %s\n' "$*" >&2; }
die() { printf 'setup-engine: ERROR: %s\n' "$*" >&2; exit 1; }

# --- 0. every pin (and the versions the npm SDKs want) in one node call -------------------
PLUGIN_NAMES=(command tls)
declare -A PINS=()
while IFS= read -r -d '' k && IFS= read -r -d '' v; do PINS["$k"]="$v"; done < <(node -e '
    const fs = require("fs"), path = require("path");
    const [versions, root, ...plugins] = process.argv.slice(1);
    const out = [];
    const walk = (o, pre) => {
        for (const [k, v] of Object.entries(o)) {
            if (v !== null && typeof v === "object") walk(v, pre + k + ".");
            else if (v !== null) out.push(pre + k, String(v));
        }
    };
    walk(JSON.parse(fs.readFileSync(versions, "utf8")), "");
    for (const name of plugins) {
        try {
            const v = JSON.parse(fs.readFileSync(path.join(root, "node_modules/@pulumi", name, "package.json"), "utf8")).pulumi.version;
            if (v) out.push("npm." + name, v);
        } catch {}
    }
    process.stdout.write(out.map((s) => s + "\0").join(""));' "$VERSIONS" "$ROOT" "${PLUGIN_NAMES[@]}")
pin() { printf '%s' "${PINS[$1]-}"; }

CLI_VERSION="$(pin cli.version)"
CLI_MINIMUM="$(pin cli.minimumOnPath)"
[ -n "$CLI_VERSION" ] || die "cli.version missing in $VERSIONS"

# --- 1. the plugin pins must be the versions the npm SDKs ask the engine for --------------
for name in "${PLUGIN_NAMES[@]}"; do
    pinned="$(pin "plugins.$name.version")"
    wanted="$(pin "npm.$name")"
    [ -n "$wanted" ] || die "$ROOT/node_modules/@pulumi/$name/package.json missing (or without pulumi.version): run 'npm ci' first"
    if [ "$pinned" != "$wanted" ]; then
        die "plugin $name: engine-versions.json pins $pinned but node_modules/@pulumi/$name/package.json (pulumi.version) wants $wanted; update plugins.$name in engine-versions.json"
    fi
done

# --- 2. the status file ---------------------------------------------------------------------
stamp_key() {
    {
        cat "$VERSIONS"
        find "$ENGINE_SRC" -type f -print0 | sort -z | xargs -0 cat
        find "$ROOT/engine/providers" -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 | sort -z | xargs -0 cat
        cat "$0"
        printf 'PULUMI_HOME=%s\n' "$PULUMI_HOME"
    } | sha256sum | cut -d' ' -f1
}
KEY="$(stamp_key)"
VERSIONS_SHA="$(sha256sum "$VERSIONS" | cut -d' ' -f1)"

# All status-file logic, in node: `check` (what the recorded status still vouches for),
# `write` (from the ES_* variables below, merging cached refusals), `report` (human summary).
STATUS_JS='
const fs = require("fs");
const [mode, file, key, retry] = process.argv.slice(1);
const read = () => { try { return JSON.parse(fs.readFileSync(file, "utf8")); } catch { return undefined; } };
const exe = (p) => { try { fs.accessSync(p, fs.constants.X_OK); return true; } catch { return false; } };
const plugins = ["command", "tls"];
const registered = (home, name, version) =>
    fs.existsSync(`${home}/plugins/resource-${name}-v${version}.lock`) || exe(`${home}/plugins/resource-${name}-v${version}/pulumi-resource-${name}`);
if (mode === "check") {
    // Prints "hit" when nothing needs doing, else "miss"; then the parts whose refusal may be reused.
    const s = read();
    if (!s || s.key !== key || retry === "1") { console.log("miss"); process.exit(0); }
    const cached = [];
    let hit = Boolean(s.cli && s.cli.ok && exe(s.cli.path));
    const part = (name, p, present) => {
        if (p && p.ok && present()) return;
        if (p && !p.ok && p.unavailable) { cached.push(name); return; }
        hit = false;
    };
    part("languageHost", s.languageHost, () => exe(s.languageHost.path));
    for (const n of plugins) part(n, s.plugins && s.plugins[n], () => registered(s.pulumiHome, n, s.plugins[n].version));
    console.log([hit ? "hit" : "miss", ...cached].join("\n"));
} else if (mode === "write") {
    const old = read() || {};
    const e = process.env;
    const entry = (prefix, previous) => {
        const state = e[prefix + "STATE"];
        if (state === "cached" && previous) return previous;
        const r = { ok: state === "ok" };
        if (e[prefix + "VERSION"]) r.version = e[prefix + "VERSION"];
        if (r.ok) r.path = e[prefix + "PATH"];
        else {
            r.error = e[prefix + "ERROR"] || "unknown error";
            r.unavailable = state === "unavailable";
            if (e[prefix + "LOG"]) r.log = e[prefix + "LOG"];
            r.checkedAt = new Date().toISOString();
        }
        if (e[prefix + "SOURCE"]) r.source = e[prefix + "SOURCE"];
        return r;
    };
    const s = {
        $comment: "Written by scripts/setup-engine.sh; see docs/engine.md. Parts with unavailable: true are not requested again until key changes (or --retry).",
        key, versionsSha256: e.ES_VERSIONS_SHA, pulumiHome: e.PULUMI_HOME, updatedAt: new Date().toISOString(),
        cli: entry("ES_CLI_"),
        languageHost: entry("ES_LH_", old.languageHost),
        plugins: Object.fromEntries(plugins.map((n) => [n, entry(`ES_P_${n}_`, old.plugins && old.plugins[n])])),
    };
    s.complete = s.cli.ok && s.languageHost.ok && plugins.every((n) => s.plugins[n].ok);
    fs.writeFileSync(file + ".tmp", JSON.stringify(s, null, 2) + "\n");
    fs.renameSync(file + ".tmp", file);
} else if (mode === "report") {
    // stdout: "complete" | "incomplete" | "no-cli"; stderr: the missing parts with their reasons.
    const s = read();
    if (!s || !s.cli.ok) { console.log("no-cli"); process.exit(0); }
    const missing = [];
    const why = (p) => `${p.error}${p.unavailable ? " [cached refusal: not asked again until the pins change, or --retry]" : ""}`;
    if (!s.languageHost.ok) missing.push(`language host (pulumi-language-nodejs): ${why(s.languageHost)}`);
    for (const n of plugins) if (!s.plugins[n].ok) missing.push(`plugin ${n} ${s.plugins[n].version}: ${why(s.plugins[n])}`);
    for (const m of missing) console.error(`  - ${m}`);
    console.log(s.complete ? "complete" : "incomplete");
}
'
status() { node -e "$STATUS_JS" "$1" "$STATUS" "$KEY" "$RETRY"; }

# Prints the summary and exits with the documented code.
finish() {
    local verdict
    verdict="$(status report 2>"$TOOLS/.report")"
    case "$verdict" in
        complete)
            say "engine ready: pulumi $(pin cli.version) at $(node -p 'require(process.argv[1]).cli.path' "$STATUS"), language host (status: ${STATUS#"$ROOT/"})"
            node -e '
                const s = require(process.argv[1]);
                for (const [n, p] of Object.entries(s.plugins)) console.error(`== setup-engine: plugin ${n} ${p.version}: ${p.source === "own"
                    ? `api-proxy-security\u0027s own provider (engine/providers/${n}), because the upstream plugin is not installed`
                    : "the upstream Pulumi plugin"}`);' "$STATUS"
            rm -f "$TOOLS/.report"
            exit 0 ;;
        incomplete)
            local works
            if [ "$(node -p 'require(process.argv[1]).languageHost.ok' "$STATUS")" = true ]; then
                works="the CLI and the language host work: programs and policy packs run; resources of the missing providers cannot be deployed"
            else
                works="the CLI works; preview/up/destroy and policy packs cannot run"
            fi
            if [ "$ALLOW_INCOMPLETE" = 1 ]; then
                printf 'setup-engine: WARNING: the Pulumi engine is INCOMPLETE (%s). Missing:\n' "$works" >&2
            else
                printf 'setup-engine: ERROR: the Pulumi engine is INCOMPLETE. Missing:\n' >&2
            fi
            cat "$TOOLS/.report" >&2
            rm -f "$TOOLS/.report"
            printf 'Status: %s; logs: .tools/logs/; details: docs/engine.md ("What cannot be built here"). Ask the proxy again with: npm run setup -- --retry\n' "${STATUS#"$ROOT/"}" >&2
            [ "$ALLOW_INCOMPLETE" = 1 ] && exit 0
            exit 1 ;;
        *)
            rm -f "$TOOLS/.report"
            printf 'setup-engine: ERROR: no Pulumi CLI: %s\n' "$(node -p 'require(process.argv[1]).cli.error' "$STATUS" 2>/dev/null || echo "see .tools/logs/cli.log")" >&2
            exit 1 ;;
    esac
}

mkdir -p "$BIN" "$PLUGINS" "$LOGS" "$PULUMI_HOME"
rm -f "$TOOLS/engine.stamp" # replaced by engine-status.json

CHECK="$(status check)"
if [ "$(head -n1 <<<"$CHECK")" = hit ]; then
    say "nothing changed since the last run (${STATUS#"$ROOT/"}); not invoking go"
    finish
fi
declare -A CACHED=()
while IFS= read -r part; do [ -n "$part" ] && CACHED["$part"]=1; done < <(tail -n +2 <<<"$CHECK")

# --- 3. build helpers ------------------------------------------------------------------------
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
GO_TAGS="osusergo,grpcnotrace"

need_go() { command -v go >/dev/null || { echo "go not found: Go >= 1.24 is needed to build the engine (docs/engine.md)"; return 1; }; }

# go build with Pulumi's release flags; $1 output, $2 ldflags -X, $3 package, in the cwd module.
go_build() {
    go build -trimpath -tags "$GO_TAGS" -ldflags "-s -w -X $2" -o "$1" "$3"
}

# The first error line of a failed step's log and its indented continuation lines, on one line
# ("go: …: reading <module proxy>/…: 403 Forbidden server response: This module …").
first_error() { # LOG
    awk '
        found && /^[ \t]/ { sub(/^[ \t]+/, ""); line = line " " $0; next }
        found { exit }
        /^go: (downloading|finding|added|upgraded|extracting) / { next }
        NF { found = 1; line = $0 }
        END { print line }' "$1" | sed -E 's#https?://[^/ ]+/#<module proxy>/#g'
}
# A refusal is a property of the pins: retrying it without changing them cannot help.
is_refusal() { # LOG
    grep -qE '403 Forbidden|404 Not Found|410 Gone|This module version is not available|unknown revision|is not pinned in engine-versions.json' "$1"
}

# Run a logged step, setting STEP_STATE (ok | unavailable | failed) and STEP_ERROR; always
# returns 0. Never call it as an `if`/`&&` condition: bash then ignores `set -e` inside the
# step, and a build function would run on past a failed `go get`.
step() { # NAME LOGFILE CMD...
    local name="$1" log="$2"; shift 2
    local t0=$SECONDS
    say "$name (log: ${log#"$ROOT/"})"
    STEP_ERROR=""
    local rc
    set +e
    (set -e; "$@") >"$log" 2>&1
    rc=$?
    set -e
    if [ "$rc" -eq 0 ]; then
        say "$name: ok in $((SECONDS - t0)) s"
        STEP_STATE=ok
        return 0
    fi
    printf 'setup-engine: FAILED: %s; last lines of %s:\n' "$name" "${log#"$ROOT/"}" >&2
    tail -n 15 "$log" | sed 's/^/    /' >&2
    STEP_ERROR="$(first_error "$log")"
    if is_refusal "$log"; then STEP_STATE=unavailable; else STEP_STATE=failed; fi
}

semver_ge() { # A >= B
    [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]
}

export ES_VERSIONS_SHA="$VERSIONS_SHA"

# --- 4. the CLI: a normal install on PATH, else our build ---------------------------------
user_cli=""
while IFS= read -r candidate; do
    real="$(readlink -f "$candidate")"
    case "$real" in "$ROOT"/bin/* | "$BIN"/*) continue ;; esac
    user_cli="$candidate"
    break
done < <(type -ap pulumi || true)

if [ -n "$user_cli" ]; then
    have="$("$user_cli" version 2>/dev/null | sed 's/^v//')"
    if semver_ge "${have%%[-+]*}" "$CLI_MINIMUM"; then
        say "using pulumi $have from PATH ($user_cli); not building the CLI"
        printf '%s\n' "$user_cli" >"$TOOLS/cli-path"
        export ES_CLI_SOURCE=path
    else
        say "pulumi $have on PATH is older than $CLI_MINIMUM: building our own"
        user_cli=""
    fi
fi

build_cli() {
    need_go
    cd "$ENGINE_SRC/cli"
    go mod edit -require="$(pin cli.pkgModule)@$(pin cli.pkgVersion)" \
        -require="github.com/pulumi/pulumi/sdk/v3@$(pin cli.sdkVersion)"
    go_build "$BIN/pulumi" "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$CLI_VERSION" \
        github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    "$BIN/pulumi" version
}
if [ -z "$user_cli" ]; then
    export ES_CLI_SOURCE=built
    if [ -x "$BIN/pulumi" ] && [ "$("$BIN/pulumi" version 2>/dev/null)" = "v$CLI_VERSION" ]; then
        say "CLI v$CLI_VERSION already built"
    else
        rm -f "$TOOLS/cli-path"
        step "build pulumi CLI v$CLI_VERSION" "$LOGS/cli.log" build_cli
        if [ "$STEP_STATE" != ok ]; then
            export ES_CLI_STATE=failed ES_CLI_ERROR="$STEP_ERROR" ES_CLI_LOG=.tools/logs/cli.log
        fi
    fi
    [ -x "$BIN/pulumi" ] && [ "${ES_CLI_STATE:-}" != failed ] && printf '%s\n' "$BIN/pulumi" >"$TOOLS/cli-path"
fi
CLI="$(cat "$TOOLS/cli-path" 2>/dev/null || true)"
if [ -n "$CLI" ]; then
    export ES_CLI_STATE=ok ES_CLI_PATH="$CLI" ES_CLI_VERSION="$("$CLI" version | sed 's/^v//')"
else
    export ES_CLI_STATE=failed ES_CLI_ERROR="${ES_CLI_ERROR:-no pulumi CLI}"
fi

# --- 5. the Node.js language host, beside the CLI -----------------------------------------
# The CLI looks for bundled plugins next to its own (symlink-resolved) binary, then on PATH.
# Built from the package inside sdk/v3 (engine-versions.json languageNodejs: the last release
# that still contains it), stamped with that sdk version.
LH_VERSION="$(pin languageNodejs.version)"
build_langhost() {
    local module package
    module="$(pin languageNodejs.module)"
    package="$(pin languageNodejs.package)"
    [ -n "$LH_VERSION" ] && [ -n "$package" ] || { echo "languageNodejs.version/package are not pinned in engine-versions.json"; return 1; }
    need_go
    cd "$ENGINE_SRC/langhost"
    go mod edit -require="$module@$LH_VERSION"
    go_build "$BIN/pulumi-language-nodejs.tmp" "$(pin languageNodejs.versionPackage).Version=$LH_VERSION" "$package"
    mv "$BIN/pulumi-language-nodejs.tmp" "$BIN/pulumi-language-nodejs"
    go version -m "$BIN/pulumi-language-nodejs" | grep -F "$module"
}
# Our build is current when its embedded build info names the pinned sdk version (no go: trust it).
own_langhost_current() {
    [ -x "$BIN/pulumi-language-nodejs" ] || return 1
    command -v go >/dev/null || return 0
    go version -m "$BIN/pulumi-language-nodejs" 2>/dev/null |
        grep -qE "^[[:space:]]+(mod|dep)[[:space:]]+$(pin languageNodejs.module)[[:space:]]+$LH_VERSION([[:space:]]|\$)"
}
langhost_path() {
    if own_langhost_current; then echo "$BIN/pulumi-language-nodejs"; return 0; fi
    [ -x "$BIN/pulumi-language-nodejs" ] && return 1 # ours, built from other pins: rebuild
    if [ -n "$user_cli" ] && [ -x "$(dirname "$(readlink -f "$user_cli")")/pulumi-language-nodejs" ]; then
        echo "$(dirname "$(readlink -f "$user_cli")")/pulumi-language-nodejs"; return 0
    fi
    command -v pulumi-language-nodejs
}
if lh="$(langhost_path)"; then
    say "pulumi-language-nodejs present ($lh)"
    export ES_LH_STATE=ok ES_LH_PATH="$lh"
    [ "$lh" = "$BIN/pulumi-language-nodejs" ] && export ES_LH_VERSION="${LH_VERSION#v}"
elif [ -n "${CACHED[languageHost]:-}" ]; then
    say "pulumi-language-nodejs: refused before with these pins; not asking again (--retry to force)"
    export ES_LH_STATE=cached
else
    step "build pulumi-language-nodejs (sdk/v3 $LH_VERSION)" "$LOGS/language-nodejs.log" build_langhost
    if [ "$STEP_STATE" = ok ]; then
        export ES_LH_STATE=ok ES_LH_PATH="$BIN/pulumi-language-nodejs" ES_LH_VERSION="${LH_VERSION#v}"
    else
        rm -f "$BIN/pulumi-language-nodejs.tmp"
        export ES_LH_STATE="$STEP_STATE" ES_LH_ERROR="$STEP_ERROR" ES_LH_LOG=.tools/logs/language-nodejs.log
    fi
fi

# --- 5b. the dynamic-provider host (pulumi-resource-pulumi-nodejs) ---------------------------
# Pulumi dynamic resources (the inventory's HostAudit) run in a provider the CLI finds next to
# itself; a Node.js install ships it as a launcher of @pulumi/pulumi/cmd/dynamic-provider. Ours
# does the same, resolving the SDK from the program's directory upward (main: infra/).
if [ -x "$BIN/pulumi" ]; then
    cat >"$BIN/pulumi-resource-pulumi-nodejs.tmp" <<'LAUNCHER'
#!/usr/bin/env bash
# Written by scripts/setup-engine.sh: the host of Pulumi dynamic providers (Node.js).
dir="$PWD"
until [ -d "$dir/node_modules/@pulumi/pulumi/cmd/dynamic-provider" ]; do
    [ "$dir" != / ] || { echo "pulumi-resource-pulumi-nodejs: no node_modules/@pulumi/pulumi above $PWD" >&2; exit 1; }
    dir="$(dirname "$dir")"
done
exec node "$dir/node_modules/@pulumi/pulumi/cmd/dynamic-provider" "$@"
LAUNCHER
    chmod 0755 "$BIN/pulumi-resource-pulumi-nodejs.tmp"
    mv "$BIN/pulumi-resource-pulumi-nodejs.tmp" "$BIN/pulumi-resource-pulumi-nodejs"
fi

# --- 6. resource plugins: the upstream plugin where installed, else the project's own --------
# The module proxy refuses pulumi-command and pulumi-tls, so the project ships providers of its
# own for the resource types those SDKs register (engine/providers, docs/engine.md). An upstream
# plugin of the exact version, already in PULUMI_HOME or in the user's ~/.pulumi, always wins.
# Ours carry a marker file, apiproxy-provider.json, naming the source they were built from.
PROVIDERS_SRC="$ROOT/engine/providers"
OWN_MARKER=apiproxy-provider.json
providers_sha() {
    (cd "$PROVIDERS_SRC" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 | sort -z |
        xargs -0 sha256sum) | sha256sum | cut -c1-16
}
PROVIDERS_SHA="$(providers_sha)"
marker_sha() { # DIR -> the source sha an own build records, or nothing
    node -e 'try { process.stdout.write(require(process.argv[1]).sourceSha256 || "") } catch {}' "$1/$OWN_MARKER"
}
build_own_provider() { # NAME VERSION OUTDIR
    need_go
    cd "$PROVIDERS_SRC"
    mkdir -p "$3"
    go_build "$3/pulumi-resource-$1.tmp" "main.Version=$2" "./cmd/pulumi-resource-$1"
    mv "$3/pulumi-resource-$1.tmp" "$3/pulumi-resource-$1"
    printf '{\n  "implementation": "api-proxy-security'"'"'s own provider",\n  "source": "engine/providers (cmd/pulumi-resource-%s)",\n  "name": "%s",\n  "version": "%s",\n  "sourceSha256": "%s"\n}\n' \
        "$1" "$1" "$2" "$PROVIDERS_SHA" >"$3/$OWN_MARKER"
}

for name in "${PLUGIN_NAMES[@]}"; do
    version="$(pin "plugins.$name.version")"
    export "ES_P_${name}_VERSION=$version"
    set_plugin() { export "ES_P_${name}_STATE=$1" "ES_P_${name}_ERROR=${2:-}" "ES_P_${name}_LOG=${3:-}" "ES_P_${name}_PATH=${4:-}" "ES_P_${name}_SOURCE=${5:-}"; }
    plugin_dir="resource-$name-v$version"
    home_dir="$PULUMI_HOME/plugins/$plugin_dir"
    if [ -x "$home_dir/pulumi-resource-$name" ] && [ ! -f "$home_dir/$OWN_MARKER" ]; then
        say "plugin $name $version: the upstream plugin is registered in ${PULUMI_HOME#"$ROOT/"}; using it"
        set_plugin ok "" "" "$home_dir" upstream
        continue
    fi
    user_dir="${HOME:-/nonexistent}/.pulumi/plugins/$plugin_dir"
    if [ "$user_dir" != "$home_dir" ] && [ -x "$user_dir/pulumi-resource-$name" ] && [ ! -f "$user_dir/$OWN_MARKER" ] && [ -n "$CLI" ]; then
        step "register the upstream plugin $name $version from $user_dir" "$LOGS/register-$name.log" \
            "$CLI" plugin install resource "$name" "$version" --file "$user_dir" --reinstall
        if [ "$STEP_STATE" = ok ]; then set_plugin ok "" "" "$home_dir" upstream; continue; fi
    fi
    out="$TOOLS/providers/$plugin_dir"
    if [ ! -x "$out/pulumi-resource-$name" ] || [ "$(marker_sha "$out")" != "$PROVIDERS_SHA" ]; then
        step "build the project's own $name provider $version (engine/providers)" "$LOGS/provider-$name.log" \
            build_own_provider "$name" "$version" "$out"
        if [ "$STEP_STATE" != ok ]; then
            set_plugin failed "$STEP_ERROR" ".tools/logs/provider-$name.log"
            continue
        fi
    fi
    if [ -z "$CLI" ]; then
        set_plugin failed "built at ${out#"$ROOT/"} but not registered: no CLI"
        continue
    fi
    if [ "$(marker_sha "$home_dir")" != "$PROVIDERS_SHA" ] || [ ! -x "$home_dir/pulumi-resource-$name" ]; then
        # --reinstall: without it the CLI silently keeps an older copy of the same version.
        step "register $name $version (the project's own provider)" "$LOGS/register-$name.log" \
            "$CLI" plugin install resource "$name" "$version" --file "$out" --reinstall
        if [ "$STEP_STATE" != ok ]; then
            set_plugin failed "$STEP_ERROR" ".tools/logs/register-$name.log"
            continue
        fi
    else
        say "plugin $name $version: the project's own provider, already registered and current"
    fi
    set_plugin ok "" "" "$home_dir" own
done

# The key after the run: builds may rewrite scripts/engine/*/go.mod (go mod edit / go get).
KEY="$(stamp_key)"
status write
finish
