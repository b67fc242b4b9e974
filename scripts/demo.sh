#!/bin/bash
# See releasemanager work without a cluster: two local fake Kubernetes clusters (the tests'
# API server, tests/fakekube/), real charts installed on the first with the real helm 3,
# `releasemanager export` to a local store, `list`, `import` into the second cluster, helm's
# view of both, and `export --daemon` picking up an upgrade live.  Each step prints the
# command it runs, as you would type it against a real cluster.
#   make demo                 # or: scripts/demo.sh, from the top of a built tree
# Needs the build (./releasemanager, plugins/local), python3, openssl and the real helm
# and kubectl of tests/fakekube/get-tools.sh (scripts/setup-debian.sh installs all of
# them).  Works in a temporary directory under $TMPDIR, removed at the end with everything
# it started; exits non-zero, naming the step, when a step fails.
# Environment: RM_BIN (the program; default: the build tree's), abs_top_builddir (a VPATH
# build), RM_TOOLS_DIR (where get-tools.sh put helm and kubectl).
set -euo pipefail

top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
builddir=${abs_top_builddir:-$top_srcdir}
rm_bin=${RM_BIN:-$builddir/releasemanager}
plugin_dir=$builddir/plugins/local/.libs
tools=${RM_TOOLS_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/releasemanager-tools}

die () { echo "demo: $*" >&2; exit 1; }
[ -x "$rm_bin" ] || die "$rm_bin not found: build first (make)"
[ -f "$plugin_dir/local.so" ] || die "$plugin_dir/local.so not found: build first (make)"
[ -f "$tools/env.sh" ] || die "helm and kubectl not found in $tools: run tests/fakekube/get-tools.sh"
. "$tools/env.sh"
[ -x "${HELM3_BIN:-}" ] && [ -x "${KUBECTL_BIN:-}" ] \
  || die "helm and kubectl not found in $tools: run tests/fakekube/get-tools.sh"
command -v python3 >/dev/null || die "python3 not found"
command -v openssl >/dev/null || die "openssl not found (the fake clusters make their certificates with it)"

work=$(mktemp -d "${TMPDIR:-/tmp}/releasemanager-demo.XXXXXX")
pids=()
daemon_pid=
cleanup () {
  local rc=$?
  [ -z "$daemon_pid" ] || kill -TERM "$daemon_pid" 2>/dev/null || true
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}" $daemon_pid; do wait "$p" 2>/dev/null || true; done
  cd /
  rm -rf "$work"
  if [ "$rc" = 0 ]; then echo "demo: done in ${SECONDS}s; $work removed"
  else echo "demo: FAILED (exit $rc); $work removed" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cd "$work"

# The commands below are typed as a reader would: releasemanager, helm and kubectl on PATH,
# relative paths in the working directory.  Nothing of the user's is read or written: helm's
# and kubectl's caches, releasemanager's configuration and plugins come from here.
mkdir bin config
ln -s "$rm_bin" bin/releasemanager
ln -s "$HELM3_BIN" bin/helm
ln -s "$KUBECTL_BIN" bin/kubectl
ln -s "$top_srcdir/tests/charts" charts
export PATH="$work/bin:$PATH"
export RELEASEMANAGER_PLUGIN_PATH="$plugin_dir"
export XDG_CONFIG_HOME="$work/config" RELEASEMANAGER_SYSTEM_CONFIG_DIR="$work/config"
export HELM_CACHE_HOME="$work/helm/cache" HELM_CONFIG_HOME="$work/helm/config" \
       HELM_DATA_HOME="$work/helm/data" KUBECACHEDIR="$work/kube-cache"
unset KUBECONFIG HELM_KUBECONTEXT HELM_NAMESPACE HELM_DRIVER RELEASEMANAGER_CONFIG \
      RELEASEMANAGER_BACKEND RELEASEMANAGER_PATH

step=
section () { step=$1; printf '\n== %s\n' "$1"; }
quoted () { local q; q=$(printf ' %q' "$@"); printf '%s' "${q# }"; }
# show CMD...: print a command line as one would type it ('&' is printed unquoted).
show () {
  if [ "${!#}" = '&' ]; then printf '$ %s &\n' "$(quoted "${@:1:$#-1}")"
  else printf '$ %s\n' "$(quoted "$@")"; fi
}
fail () { echo "demo: step '$step' failed: $*" >&2; exit 1; }
# run CMD...: print it, run it, show its output.
run () {
  local rc=0
  show "$@"; "$@" || rc=$?
  [ "$rc" = 0 ] || fail "$(quoted "$@") exited $rc"
}
# quiet CMD...: print it, run it, show its output only when it fails.
quiet () {
  local rc=0
  show "$@"; "$@" > out 2>&1 || rc=$?
  [ "$rc" = 0 ] || { cat out >&2; fail "$(quoted "$@") exited $rc"; }
}

section "two fake clusters (the tests' Kubernetes API server): cluster-a and cluster-b"
for c in cluster-a cluster-b; do
  show python3 "$top_srcdir/tests/fakekube/fakekube.py" --state-dir "$c" --job-delay 0.1 '&'
  python3 "$top_srcdir/tests/fakekube/fakekube.py" --state-dir "$c" --job-delay 0.1 \
    > "$c.out" 2> "$c.log" < /dev/null &
  pids+=($!)
done
for c in cluster-a cluster-b; do
  i=0
  until [ -s "$c.out" ]; do
    i=$((i + 1))
    [ "$i" -le 300 ] || { cat "$c.log" >&2; fail "$c did not start within 60 s"; }
    kill -0 "${pids[0]}" 2>/dev/null && kill -0 "${pids[1]}" 2>/dev/null \
      || { cat "$c.log" >&2; fail "$c exited"; }
    sleep 0.2
  done
done
echo "cluster-a/kubeconfig and cluster-b/kubeconfig written"

section "real charts on cluster-a with helm 3: a CRD, hooks, three revisions, two namespaces"
a=(--kubeconfig cluster-a/kubeconfig)
b=(--kubeconfig cluster-b/kubeconfig)
quiet helm "${a[@]}" install web charts/plain -n apps --create-namespace
quiet helm "${a[@]}" upgrade web charts/plain -n apps --set message=v2
quiet helm "${a[@]}" upgrade web charts/plain -n apps --set message=v3
quiet helm "${a[@]}" install hooked charts/with-hooks -n apps
quiet helm "${a[@]}" install gadgets charts/with-crds -n tools --create-namespace
quiet helm "${a[@]}" install web charts/with-subchart -n staging --create-namespace
run helm "${a[@]}" list -A

section "export cluster-a to a local store"
store=(--backend local --path backup)
run releasemanager export "${a[@]}" "${store[@]}"
run releasemanager list "${store[@]}"

section "import into cluster-b (empty until now)"
run helm "${b[@]}" list -A
run releasemanager import "${b[@]}" "${store[@]}"

section "helm sees the same releases on both clusters"
run helm "${b[@]}" list -A
run helm "${a[@]}" history web -n apps
run helm "${b[@]}" history web -n apps
run kubectl "${b[@]}" get gadgets -A
# diff: what helm says of every release (sorted: helm orders by name only), and all it
# keeps of apps/web, is the same on both.
printf '$ diff <(helm %s list -A | sort) <(helm %s list -A | sort)\n' "${a[*]}" "${b[*]}"
diff <(helm "${a[@]}" list -A | sort) <(helm "${b[@]}" list -A | sort) > out 2>&1 \
  || { cat out; fail "helm list -A differs between cluster-a and cluster-b"; }
printf '$ diff <(helm %s get all web -n apps) <(helm %s get all web -n apps)\n' "${a[*]}" "${b[*]}"
diff <(helm "${a[@]}" get all web -n apps) <(helm "${b[@]}" get all web -n apps) > out 2>&1 \
  || { cat out; fail "helm get all web -n apps differs between cluster-a and cluster-b"; }
echo "(no difference)"

section "export --daemon: an upgrade on cluster-a is in the store within about a second"
# Port 0: the daemon binds a free port itself and logs it (a port picked here could be
# taken by another program before the daemon binds it).
show releasemanager export --daemon "${a[@]}" "${store[@]}" --listen 127.0.0.1:0 -v '&'
releasemanager export --daemon "${a[@]}" "${store[@]}" --listen 127.0.0.1:0 -v \
  > daemon.log 2>&1 < /dev/null &
daemon_pid=$!
i=0
until port=$(sed -En 's/.*daemon: serving .* on port ([0-9]+);.*/\1/p' daemon.log) && [ -n "$port" ]; do
  i=$((i + 1))
  kill -0 "$daemon_pid" 2>/dev/null || { cat daemon.log >&2; fail "the daemon exited"; }
  [ "$i" -le 300 ] || { cat daemon.log >&2; fail "the daemon did not listen within 60 s"; }
  sleep 0.2
done
echo "# waiting until http://127.0.0.1:$port/readyz answers 200"
i=0
until python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
        "http://127.0.0.1:$port/readyz" 2>/dev/null; do
  i=$((i + 1))
  kill -0 "$daemon_pid" 2>/dev/null || { cat daemon.log >&2; fail "the daemon exited"; }
  [ "$i" -le 300 ] || { cat daemon.log >&2; fail "the daemon was not ready within 60 s"; }
  sleep 0.2
done
quiet helm "${a[@]}" upgrade web charts/plain -n apps --set message=v4
echo "# running \`releasemanager list --backend local --path backup\` until it shows apps/web revision 4 deployed"
# helm writes revision 4 as pending-upgrade, then marks it deployed and 3 superseded: wait
# for that last state, the one shown below, not for the first sight of revision 4.
upgraded () {
  releasemanager list "${store[@]}" > list.out 2>/dev/null || return 1
  grep -Eq '^apps +web +3 +superseded ' list.out && grep -Eq '^apps +web +4 +deployed ' list.out
}
i=0
until upgraded; do
  i=$((i + 1))
  kill -0 "$daemon_pid" 2>/dev/null || { cat daemon.log >&2; fail "the daemon exited"; }
  [ "$i" -le 300 ] || { cat daemon.log >&2; fail "revision 4 not deployed in the store within 60 s"; }
  sleep 0.2
done
run releasemanager list "${store[@]}"
show kill -TERM "$daemon_pid"
kill -TERM "$daemon_pid"
rc=0; wait "$daemon_pid" || rc=$?
daemon_pid=
cat daemon.log
[ "$rc" = 0 ] || fail "the daemon exited $rc on SIGTERM"
