#!/usr/bin/env bash
# `npm run setup`: makes the Pulumi engine available offline (docs/engine.md).
#
# Builds the `pulumi` CLI and the Node.js language host into .tools/bin, and the resource
# plugins `command` and `tls` into .tools/plugins, from the Go module proxy, then registers the
# plugins in the project-local PULUMI_HOME (.pulumi). Every version comes from
# engine-versions.json. A pulumi already on PATH (a normal install) is used instead of building
# the CLI when it is new enough.
#
# Idempotent: a stamp keyed by the pins and the wrapper modules makes a run with nothing
# changed return in well under a second, without invoking go. Go's module and build caches
# (GOMODCACHE, GOCACHE: the user's defaults) are reused between runs.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
PLUGINS="$TOOLS/plugins"
ENGINE_SRC="$ROOT/scripts/engine"
VERSIONS="$ROOT/engine-versions.json"
STAMP="$TOOLS/engine.stamp"
LOGS="$TOOLS/logs"
export PULUMI_HOME="${PULUMI_HOME:-$ROOT/.pulumi}"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

say() { printf '== setup-engine: %s\n' "$*" >&2; }
die() { printf 'setup-engine: ERROR: %s\n' "$*" >&2; exit 1; }

# Read one value from engine-versions.json ("" when null or absent).
pin() {
    node -e '
        const v = process.argv[1].split(".").reduce((o, k) => (o == null ? o : o[k]), require(process.argv[2]));
        process.stdout.write(v == null ? "" : String(v));' "$1" "$VERSIONS"
}

CLI_VERSION="$(pin cli.version)"
CLI_MINIMUM="$(pin cli.minimumOnPath)"
[ -n "$CLI_VERSION" ] || die "cli.version missing in $VERSIONS"
PLUGIN_NAMES=(command tls)

# --- 1. the plugin pins must be the versions the npm SDKs ask the engine for --------------
for name in "${PLUGIN_NAMES[@]}"; do
    pinned="$(pin "plugins.$name.version")"
    pkg="$ROOT/node_modules/@pulumi/$name/package.json"
    [ -f "$pkg" ] || die "$pkg missing: run 'npm ci' first"
    wanted="$(node -p 'require(process.argv[1]).pulumi.version' "$pkg")"
    if [ "$pinned" != "$wanted" ]; then
        die "plugin $name: engine-versions.json pins $pinned but node_modules/@pulumi/$name/package.json (pulumi.version) wants $wanted; update plugins.$name in engine-versions.json"
    fi
done

# --- 2. nothing changed since the last complete run: done, no go invocation --------------
stamp_key() {
    {
        cat "$VERSIONS"
        find "$ENGINE_SRC" -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print0 |
            sort -z | xargs -0 cat
        printf 'PULUMI_HOME=%s\n' "$PULUMI_HOME"
    } | sha256sum | cut -d' ' -f1
}
KEY="$(stamp_key)"
registered() { # NAME VERSION -> true when the plugin sits in PULUMI_HOME
    [ -d "$PULUMI_HOME/plugins/resource-$1-v$2" ] && [ -f "$PULUMI_HOME/plugins/resource-$1-v$2.lock" -o -x "$PULUMI_HOME/plugins/resource-$1-v$2/pulumi-resource-$1" ]
}
all_registered() {
    local name
    for name in "${PLUGIN_NAMES[@]}"; do registered "$name" "$(pin "plugins.$name.version")" || return 1; done
}
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$KEY" ] && [ -x "$(cat "$TOOLS/cli-path" 2>/dev/null || echo /nonexistent)" ] && all_registered; then
    say "engine up to date ($(cat "$TOOLS/cli-path"), plugins: ${PLUGIN_NAMES[*]})"
    exit 0
fi

mkdir -p "$BIN" "$PLUGINS" "$LOGS" "$PULUMI_HOME"
command -v go >/dev/null || die "go not found: Go >= 1.24 is needed to build the engine (docs/engine.md)"
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
GO_TAGS="osusergo,grpcnotrace"
FAILED=()

# go build with Pulumi's release flags; $1 output, $2 ldflags -X, $3 package, in the cwd module.
go_build() {
    go build -trimpath -tags "$GO_TAGS" -ldflags "-s -w -X $2" -o "$1" "$3"
}

# Run a logged step; on failure record it and show the log's tail.
step() { # NAME LOGFILE CMD...
    local name="$1" log="$2"; shift 2
    local t0=$SECONDS
    say "$name (log: ${log#"$ROOT/"})"
    if ("$@") >"$log" 2>&1; then
        say "$name: ok in $((SECONDS - t0)) s"
        return 0
    fi
    printf 'setup-engine: FAILED: %s; last lines of %s:\n' "$name" "$log" >&2
    tail -n 15 "$log" | sed 's/^/    /' >&2
    FAILED+=("$name")
    return 1
}

semver_ge() { # A >= B
    [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]
}

# --- 3. the CLI: a normal install on PATH, else our build ---------------------------------
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
    else
        say "pulumi $have on PATH is older than $CLI_MINIMUM: building our own"
        user_cli=""
    fi
fi

build_cli() {
    cd "$ENGINE_SRC/cli"
    go mod edit -require="$(pin cli.pkgModule)@$(pin cli.pkgVersion)" \
        -require="github.com/pulumi/pulumi/sdk/v3@$(pin cli.sdkVersion)"
    go_build "$BIN/pulumi" "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$CLI_VERSION" \
        github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
    "$BIN/pulumi" version
}
if [ -z "$user_cli" ]; then
    if [ -x "$BIN/pulumi" ] && [ "$("$BIN/pulumi" version 2>/dev/null)" = "v$CLI_VERSION" ]; then
        say "CLI v$CLI_VERSION already built"
    else
        step "build pulumi CLI v$CLI_VERSION" "$LOGS/cli.log" build_cli || true
    fi
    [ -x "$BIN/pulumi" ] && printf '%s\n' "$BIN/pulumi" >"$TOOLS/cli-path"
fi
CLI="$(cat "$TOOLS/cli-path" 2>/dev/null || true)"

# --- 4. the Node.js language host, beside the CLI -----------------------------------------
# The CLI looks for bundled plugins next to its own (symlink-resolved) binary, then on PATH.
build_langhost() {
    local module ref
    module="$(pin languageNodejs.module)"
    ref="$(pin languageNodejs.ref)"
    [ -n "$ref" ] || { echo "languageNodejs.ref is not pinned in engine-versions.json"; return 1; }
    cd "$ENGINE_SRC/langhost"
    go mod edit \
        -replace="github.com/pulumi/pulumi/pkg/v3=github.com/pulumi/pulumi/pkg/v3@$(pin languageNodejs.pkgVersion)" \
        -replace="github.com/pulumi/pulumi/sdk/v3=github.com/pulumi/pulumi/sdk/v3@$(pin languageNodejs.sdkVersion)"
    go get -tool "$module@$ref"
    go_build "$BIN/pulumi-language-nodejs" "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$CLI_VERSION" "$module"
}
langhost_present() {
    [ -x "$BIN/pulumi-language-nodejs" ] && return 0
    [ -n "$user_cli" ] && [ -x "$(dirname "$(readlink -f "$user_cli")")/pulumi-language-nodejs" ] && return 0
    command -v pulumi-language-nodejs >/dev/null
}
if langhost_present; then
    say "pulumi-language-nodejs present"
else
    step "build pulumi-language-nodejs" "$LOGS/language-nodejs.log" build_langhost || true
fi

# --- 5. resource plugins, each from its own wrapper module --------------------------------
build_command() { # OUT
    local module ref version
    module="$(pin plugins.command.module)"
    ref="$(pin plugins.command.ref)"
    version="$(pin plugins.command.version)"
    cd "$ENGINE_SRC/command"
    go get -tool "$module/cmd/pulumi-resource-command@$ref"
    go_build "$1" "$(pin plugins.command.versionPackage).Version=$version" "$module/cmd/pulumi-resource-command"
}

build_tls() { # OUT
    local module ref version src fork
    module="$(pin plugins.tls.module)"
    ref="$(pin plugins.tls.ref)"
    version="$(pin plugins.tls.version)"
    fork="$(pin plugins.tls.terraformPluginSdkFork)"
    [ -n "$ref" ] || { echo "plugins.tls.ref is not pinned in engine-versions.json (${module} has no tags of its own: pin the commit of pulumi-tls v$version)"; return 1; }
    # The module zip lacks its nested ./shim module and the generated schema-embed.json, so build
    # from a writable copy with both supplied.
    local dir
    dir="$(cd "$TOOLS" && GOFLAGS= go mod download -json "$module@$ref" | node -e '
        let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
            const j = JSON.parse(s); if (j.Error) { console.error(j.Error); process.exit(1); } console.log(j.Dir); });')"
    src="$TOOLS/src/pulumi-tls-provider"
    rm -rf "$src"
    mkdir -p "$(dirname "$src")"
    cp -R "$dir" "$src"
    chmod -R u+w "$src"
    rm -rf "$src/shim"
    cp -R "$ENGINE_SRC/tls/shim" "$src/shim"
    node -e '
        const fs = require("fs");
        const schema = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
        schema.version = process.argv[3];
        fs.writeFileSync(process.argv[2], JSON.stringify(schema));' \
        "$src/cmd/pulumi-resource-tls/schema.json" "$src/cmd/pulumi-resource-tls/schema-embed.json" "$version"
    cd "$src"
    go mod edit -replace="github.com/hashicorp/terraform-provider-tls/shim=./shim" \
        -replace="${fork%% *}=${fork%% *}@${fork##* }" \
        -replace="github.com/hashicorp/terraform-plugin-sdk/v2=${fork%% *}@${fork##* }"
    go_build "$1" "$(pin plugins.tls.versionPackage).Version=$version" ./cmd/pulumi-resource-tls
}

for name in "${PLUGIN_NAMES[@]}"; do
    version="$(pin "plugins.$name.version")"
    if registered "$name" "$version"; then
        say "plugin $name $version already registered in ${PULUMI_HOME#"$ROOT/"}"
        continue
    fi
    out="$PLUGINS/pulumi-resource-$name-v$version"
    if [ ! -x "$out" ]; then
        step "build plugin $name $version" "$LOGS/plugin-$name.log" "build_$name" "$out" || continue
    fi
    if [ -z "$CLI" ]; then
        FAILED+=("register plugin $name (no CLI)")
        continue
    fi
    step "register plugin $name $version" "$LOGS/register-$name.log" \
        "$CLI" plugin install resource "$name" "$version" --file "$out" || true
done

if [ "${#FAILED[@]}" -gt 0 ]; then
    printf 'setup-engine: the engine is INCOMPLETE; failed steps:\n' >&2
    printf '  - %s\n' "${FAILED[@]}" >&2
    printf 'See docs/engine.md ("What cannot be built here") and the logs in .tools/logs/.\n' >&2
    rm -f "$STAMP"
    exit 1
fi

printf '%s\n' "$KEY" >"$STAMP"
say "engine ready: $("$CLI" version) at $CLI; plugins: ${PLUGIN_NAMES[*]}"
