#!/bin/sh
# The Debian packages (issue 14), tested installed, on this machine, as root:
#  1. build them with dpkg-buildpackage -us -uc -b from a clean copy of the tree (the
#     tracked files only), and run lintian on them: no error, no warning;
#  2. a backend package needs the ABI virtual package: releasemanager-backend-s3 alone
#     does not configure;
#  3. releasemanager alone: `backends` lists only local, from the versioned directory;
#     the completions load; `backends check local` passes;
#  4. with releasemanager-backend-s3: `backends` lists s3, and `backends check s3`
#     passes against moto (tests/plugins/s3/moto_s3.py);
#  5. with releasemanager-dev: the SDK example builds with pkg-config alone, installs
#     into the plugin directory and passes `backends check`;
#  6. removing releasemanager-backend-s3 removes s3 and changes nothing else;
#  7. purging everything leaves no file behind (/usr, /etc, dpkg's database).
# It installs and removes packages, so it is not part of `make check`: .ci/run runs it.
# Needs debhelper, dh-autoreconf, lintian, the build dependencies (debian/control), and
# python3 with moto and boto3 (as `make check` does).  Usage: tests/pkg/test_packages.sh
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" != 0 ]; then
  echo "test_packages.sh: must run as root: it installs and removes packages" >&2
  exit 2
fi
pkgs="releasemanager releasemanager-backend-s3 releasemanager-dev"
for p in $pkgs; do
  if dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
    echo "test_packages.sh: $p is already installed; purge it first (this test must own it)" >&2
    exit 2
  fi
done

if ! python3 -c 'import moto, boto3' 2>/dev/null; then
  echo "test_packages.sh: python3 cannot import moto and boto3, needed for the s3 check" \
       "(pip install 'moto[server]' boto3)" >&2
  exit 2
fi

work=$(mktemp -d /tmp/rm-pkg.XXXXXX)
moto_pid=
cleanup () {
  [ -z "$moto_pid" ] || kill "$moto_pid" 2>/dev/null
  rm -f "$bdir/example.so" 2>/dev/null
  for p in $pkgs; do
    if dpkg-query -W -f '${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
      dpkg --purge "$p" >/dev/null 2>&1
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
checks=0
bdir=/nonexistent
ok () { checks=$((checks + 1)); echo "ok: $*"; }
fail () { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*"; }
# check DESCRIPTION CMD...: CMD must succeed; its output is kept in $work/out.
check () {
  what=$1; shift
  if "$@" >"$work/out" 2>&1; then ok "$what"; else fail "$what: $*"; sed 's/^/  | /' "$work/out" | tail -30; fi
}
# The program as a user runs it: no plugin path or configuration from the environment.
rm_run () {
  env -u RELEASEMANAGER_PLUGIN_PATH -u RELEASEMANAGER_CONFIG HOME="$work/home" \
    XDG_CONFIG_HOME="$work/home/.config" releasemanager "$@"
}
# backend_names: the names `releasemanager backends -o json` lists, one line.
backend_names () {
  rm_run backends -o json | python3 -c 'import json,sys; print(" ".join(b["name"] for b in json.load(sys.stdin)))'
}
snapshot () {
  find /usr /etc /var/lib/dpkg/info -xdev 2>/dev/null | sort > "$1"
}
mkdir -p "$work/home"
abi=$(sed -n 's/^#define RM_BACKEND_ABI_MAJOR  *\([0-9]*\).*/\1/p' "$top/sdk/include/releasemanager/backend.h")
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
triplet=$(dpkg-architecture -q DEB_HOST_MULTIARCH)
bdir=/usr/lib/$triplet/releasemanager/backends-$abi

# 1. Build from a clean copy, as from a fresh clone; lintian on the result.
src="$work/releasemanager-$version"
mkdir -p "$src"
(cd "$top" && git ls-files -z | xargs -0 cp --parents -t "$src") || { echo "FAIL: copying the tree"; exit 1; }
t0=$(date +%s)
if (cd "$src" && DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
     > "$work/build.log" 2>&1; then
  ok "dpkg-buildpackage -us -uc -b ($(( $(date +%s) - t0 ))s)"
else
  fail "dpkg-buildpackage -us -uc -b"; tail -40 "$work/build.log"; exit 1
fi
deb () { echo "$work/${1}_${version}_$arch.deb"; }
for p in $pkgs; do
  [ -f "$(deb "$p")" ] && ok "built $(basename "$(deb "$p")")" || fail "not built: $(deb "$p")"
done
check "lintian: no error or warning" lintian --fail-on error,warning "$work/releasemanager_${version}_$arch.changes"
cat "$work/out"

# The ABI virtual package: the core provides it, a backend depends on it.
[ "$(dpkg-deb -f "$(deb releasemanager)" Provides)" = "releasemanager-backend-abi-$abi" ] \
  && ok "releasemanager Provides: releasemanager-backend-abi-$abi" \
  || fail "releasemanager Provides: $(dpkg-deb -f "$(deb releasemanager)" Provides)"
dpkg-deb -f "$(deb releasemanager-backend-s3)" Depends | grep -q "releasemanager-backend-abi-$abi\$" \
  && ok "releasemanager-backend-s3 Depends on releasemanager-backend-abi-$abi" \
  || fail "releasemanager-backend-s3 Depends: $(dpkg-deb -f "$(deb releasemanager-backend-s3)" Depends)"

snapshot "$work/before"

# 2. A backend package alone does not configure: nothing provides its ABI.
if dpkg -i "$(deb releasemanager-backend-s3)" > "$work/out" 2>&1; then
  fail "releasemanager-backend-s3 installed without releasemanager"
else
  grep -q "depends on releasemanager-backend-abi-$abi; however" "$work/out" \
    && ok "releasemanager-backend-s3 alone: dependency on releasemanager-backend-abi-$abi not satisfiable" \
    || { fail "releasemanager-backend-s3 alone failed for another reason"; cat "$work/out"; }
fi
check "purge the half-installed releasemanager-backend-s3" dpkg --purge releasemanager-backend-s3
[ ! -e "$bdir/s3.so" ] && ok "s3.so gone again" || fail "$bdir/s3.so left behind"

# 3. The core alone.
check "install releasemanager" dpkg -i "$(deb releasemanager)"
[ "$(backend_names)" = "local" ] && ok "backends lists only local" || fail "backends lists: $(backend_names)"
check "backends (text)" rm_run backends
grep -q "file: $bdir/local.so\$" "$work/out" && ok "local.so is in $bdir" \
  || { fail "local.so not listed from $bdir"; cat "$work/out"; }
rm_run backends -o json > "$work/core-only.json"
check "backends check local" rm_run backends check local --path "$work/store" --list-keys 50
check "bash completion loads" bash -c '. /usr/share/bash-completion/completions/releasemanager && complete -p releasemanager'
[ -s /usr/share/zsh/vendor-completions/_releasemanager ] && ok "zsh completion installed" || fail "zsh completion missing"
[ -s /usr/share/fish/vendor_completions.d/releasemanager.fish ] && ok "fish completion installed" || fail "fish completion missing"
for m in man1/releasemanager.1.gz man1/releasemanager-local.1.gz; do
  [ -f "/usr/share/man/$m" ] && ok "$m installed" || fail "$m missing"
done
dpkg --verify releasemanager > "$work/verify-core"

# 4. The s3 backend.
check "install releasemanager-backend-s3" dpkg -i "$(deb releasemanager-backend-s3)"
[ "$(backend_names)" = "local s3" ] && ok "backends lists local and s3" || fail "backends lists: $(backend_names)"
python3 "$top/tests/plugins/s3/moto_s3.py" > "$work/moto.out" 2> "$work/moto.log" &
moto_pid=$!
for _ in $(seq 1 600); do grep -q '^READY ' "$work/moto.out" && break; sleep 0.1; done
if read -r _ port ak sk < "$work/moto.out" && [ -n "${sk:-}" ]; then
  endpoint="http://127.0.0.1:$port"
  check "create a bucket in moto" python3 -c '
import sys, boto3
from botocore.config import Config
boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2],
             aws_secret_access_key=sys.argv[3], config=Config(s3={"addressing_style": "path"})
            ).create_bucket(Bucket="pkgtest")' "$endpoint" "$ak" "$sk"
  # The secret from the environment, as a user would pass it (never on the command line).
  export RELEASEMANAGER_S3_SECRET_ACCESS_KEY="$sk"
  check "backends check s3 against moto" rm_run backends check s3 --endpoint "$endpoint" \
    --bucket pkgtest --accessKeyID "$ak" --path pkgcheck --list-keys 50
  grep -q " passed, 0 failed" "$work/out" && ok "s3 conformance: 0 failed" || { fail "s3 conformance"; cat "$work/out"; }
else
  fail "moto did not start (python3 with moto and boto3 needed)"; cat "$work/moto.log"
fi

# 5. The SDK: the example, built the way a third party builds, with pkg-config alone.
check "install releasemanager-dev" dpkg -i "$(deb releasemanager-dev)"
[ "$(pkg-config --variable=backenddir releasemanager-backend)" = "$bdir" ] \
  && ok "pkg-config's backenddir is $bdir" \
  || fail "pkg-config's backenddir is $(pkg-config --variable=backenddir releasemanager-backend)"
[ "$(pkg-config --variable=abi_major releasemanager-backend)" = "$abi" ] \
  && ok "pkg-config's abi_major is $abi" || fail "pkg-config's abi_major"
cp -r /usr/share/doc/releasemanager-dev/examples "$work/sdk"
check "build the SDK example (make)" env -u PKG_CONFIG_PATH make -C "$work/sdk" CFLAGS="-O2 -Werror"
check "install it into the plugin directory (make install)" env -u PKG_CONFIG_PATH make -C "$work/sdk" install
[ -f "$bdir/example.so" ] && ok "example.so is in $bdir" || fail "example.so not in $bdir"
[ "$(backend_names)" = "example local s3" ] && ok "backends lists example, local and s3" \
  || fail "backends lists: $(backend_names)"
check "backends check example" rm_run backends check example
grep -q " passed, 0 failed" "$work/out" && ok "example conformance: 0 failed" || { fail "example conformance"; cat "$work/out"; }
rm -f "$bdir/example.so"

# 6. Removing the s3 package takes s3 away and nothing else.
check "remove releasemanager-backend-s3" dpkg -r releasemanager-backend-s3
[ ! -e "$bdir/s3.so" ] && ok "s3.so removed" || fail "$bdir/s3.so still there"
[ "$(backend_names)" = "local" ] && ok "backends lists only local again" || fail "backends lists: $(backend_names)"
rm_run backends -o json > "$work/after-s3.json"
cmp -s "$work/core-only.json" "$work/after-s3.json" && ok "backends -o json as before s3 was installed" \
  || { fail "backends -o json differs from before s3 was installed"; diff "$work/core-only.json" "$work/after-s3.json"; }
if rm_run backends check s3 > "$work/out" 2>&1; then fail "backends check s3 works without the package"
else grep -q "backend 's3' not found" "$work/out" && ok "s3: not found" || { fail "s3 without its package"; cat "$work/out"; }; fi
dpkg --verify releasemanager releasemanager-dev > "$work/verify-after" \
  && [ ! -s "$work/verify-after" ] && ok "dpkg --verify: the other packages' files unchanged" \
  || { fail "dpkg --verify after removing s3"; cat "$work/verify-after"; }
check "backends check local still passes" rm_run backends check local --path "$work/store2" --list-keys 50

# 7. Purge everything: no file left behind.
check "purge the packages" dpkg --purge $pkgs
snapshot "$work/after"
if cmp -s "$work/before" "$work/after"; then ok "nothing left behind in /usr, /etc, /var/lib/dpkg/info"
else fail "files left behind or lost:"; diff "$work/before" "$work/after" | head -30; fi
for d in "/usr/lib/$triplet/releasemanager" /usr/include/releasemanager /usr/share/releasemanager; do
  [ ! -e "$d" ] && ok "$d gone" || fail "$d left behind"
done

echo "$checks checks, $failures failed"
[ "$failures" = 0 ]
