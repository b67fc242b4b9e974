#!/bin/sh
# Build releasemanager's container image (Dockerfile) with podman on a machine that reaches
# Debian's package mirrors but no image registry, then run it once as a smoke test.
#
#   scripts/build-image.sh [TAG]          # TAG defaults to localhost/releasemanager:VERSION
#
# The base image (Debian 12 slim) is made from Debian packages with mmdebstrap and
# `podman import` instead of a registry pull, and cached.  Podman keeps all its state under
# the work directory, so nothing is left in the machine's own container storage:
#   RM_IMAGE_WORKDIR   work directory (default: ./image-build under the current directory)
#   RM_IMAGE_BASE      use this base image instead (e.g. debian:12-slim where a registry works)
#   RM_IMAGE_SAVE=FILE also write the image as a docker-archive tarball to FILE
# Needs (as root): podman, runc, and mmdebstrap unless RM_IMAGE_BASE is set:
#   apt-get install -y podman buildah mmdebstrap runc
# RUN steps use --isolation=chroot and the smoke run uses runc: this machine's crun cannot
# run containers ("cgroups in hybrid mode not supported").  See /work/shared/tools/CONTAINERS.md.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^AC_INIT(\[releasemanager\], \[\([^]]*\)\].*/\1/p' "$src/configure.ac")
tag=${1:-localhost/releasemanager:$version}
work=${RM_IMAGE_WORKDIR:-$PWD/image-build}
mkdir -p "$work/root" "$work/run" "$work/tmp"
work=$(cd "$work" && pwd)
case "$work/" in
    "$src"/image-build*/) ;;
    "$src"/*) echo "build-image.sh: $work is inside the build context $src; use ./image-build or a directory outside it" >&2; exit 1 ;;
esac

for t in podman runc; do
    command -v "$t" >/dev/null 2>&1 || { echo "build-image.sh: $t not found (apt-get install -y podman runc)" >&2; exit 1; }
done
pm() { podman --root "$work/root" --runroot "$work/run" --tmpdir "$work/tmp" "$@"; }
now() { date +%s; }
t0=$(now)

base=${RM_IMAGE_BASE:-}
if [ -z "$base" ]; then
    base=localhost/debian:12-slim
    if ! pm image exists "$base"; then
        if [ ! -s "$work/bookworm-slim.tar" ]; then
            command -v mmdebstrap >/dev/null 2>&1 || { echo "build-image.sh: mmdebstrap not found (apt-get install -y mmdebstrap), or set RM_IMAGE_BASE" >&2; exit 1; }
            echo "build-image.sh: making the Debian 12 base image with mmdebstrap" >&2
            # "slim" as Debian's own debian:12-slim: no manuals, documentation (copyright
            # files kept) or translations, now or in packages installed later (the
            # options stay in /etc/dpkg/dpkg.cfg.d); no apt lists or caches.
            # merged-usr: /usr merged by the hook's symlinks, not by the usrmerge package
            # (which would bring perl, 45 MB, into the image).
            mmdebstrap --quiet --variant=minbase --format=tar \
                --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
                --dpkgopt='path-exclude=/usr/share/man/*' \
                --dpkgopt='path-exclude=/usr/share/info/*' \
                --dpkgopt='path-exclude=/usr/share/locale/*' \
                --dpkgopt='path-include=/usr/share/locale/locale.alias' \
                --dpkgopt='path-exclude=/usr/share/doc/*' \
                --dpkgopt='path-include=/usr/share/doc/*/copyright' \
                --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log "$1"/var/log/apt/*' \
                bookworm "$work/bookworm-slim.tar.part"
            mv "$work/bookworm-slim.tar.part" "$work/bookworm-slim.tar"
        fi
        pm import --quiet "$work/bookworm-slim.tar" "$base" >/dev/null
    fi
fi
t1=$(now)

echo "build-image.sh: building $tag from $src (base $base)" >&2
TMPDIR="$work/tmp" pm build --isolation=chroot --pull=never --build-arg "BASE=$base" \
    --layers=false -t "$tag" -f "$src/Dockerfile" "$src"
t2=$(now)

# Smoke test: the entrypoint runs as UID 65532 and finds both plugins in the compiled-in
# plugin directory.
run() {
    pm --runtime runc run --rm --ulimit nofile=20000:20000 --ulimit nproc=1000:1000 \
        --read-only "$tag" "$@"
}
run --version
uid=$(pm --runtime runc run --rm --ulimit nofile=20000:20000 --ulimit nproc=1000:1000 \
      --entrypoint id "$tag" -u)
[ "$uid" = 65532 ] || { echo "build-image.sh: the image runs as UID $uid, not 65532" >&2; exit 1; }
backends=$(run backends)
echo "$backends"
for b in local s3; do
    echo "$backends" | grep -q "file: /usr/lib/releasemanager/backends-1/$b.so\$" \
        || { echo "build-image.sh: backend $b missing from the image's plugin directory" >&2; exit 1; }
done
pm image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$tag"
if [ -n "${RM_IMAGE_SAVE:-}" ]; then
    pm save --format docker-archive -o "$RM_IMAGE_SAVE" "$tag"
fi
t3=$(now)
echo "build-image.sh: base $((t1 - t0))s, build $((t2 - t1))s, smoke run $((t3 - t2))s" >&2
