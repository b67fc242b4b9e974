#!/bin/sh
# `make demo` (scripts/demo.sh, issue 19) works and says what it did: run as the README's
# "Quick start" runs it, it exits 0, prints each command as typed against a real cluster,
# the four releases restored by `import` are in its output and in the second cluster as
# the real helm lists them (revisions and history included), helm's views of both clusters
# do not differ, and the daemon's live pick-up of an upgrade is in the store.  A failing
# step (an `export` that fails, through a wrapper) makes it exit non-zero naming the step.
# Both times it removes its working directory and leaves no process behind.
# Skips (77) without bash, python3, openssl or the real helm/kubectl (get-tools.sh).
. "$abs_top_srcdir/tests/testlib.sh"
DEMO="$abs_top_srcdir/scripts/demo.sh"
tools=${RM_TOOLS_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/releasemanager-tools}
for t in bash python3 openssl; do
  command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t not found"; exit 77; }
done
[ -f "$tools/env.sh" ] || { echo "SKIP: helm/kubectl not installed in $tools (tests/fakekube/get-tools.sh)"; exit 77; }

# left_behind DIR: the processes whose working directory is under DIR (the demo's fake
# clusters and daemon run there), one "PID CWD" a line.
left_behind () {
  for p in /proc/[0-9]*; do
    c=$(readlink "$p/cwd" 2>/dev/null) || continue
    case "$c" in "$1"/*) echo "${p#/proc/} $c" ;; esac
  done
}

# after NAME DIR: the demo left DIR (its TMPDIR) empty and no process running in it.
after () {
  checks=$((checks + 1))
  if [ -n "$(ls -A "$2")" ]; then
    echo "FAIL: $1: the demo left $(ls -A "$2") in its TMPDIR"
    failures=$((failures + 1))
  fi
  checks=$((checks + 1))
  procs=$(left_behind "$2")
  if [ -n "$procs" ]; then
    echo "FAIL: $1: processes left running: $procs"
    failures=$((failures + 1))
  fi
}

# block FILE CMD N: the output under the N-th "$ CMD" line of FILE, up to the next "$ " line.
block () {
  awk -v cmd="\$ $2" -v n="$3" '
    $0 == cmd { seen++; if (seen == n) { on = 1; next } }
    /^\$ / || /^== / { on = 0 }
    on { print }' "$1"
}

# has_row FILE WORDS...: a line of FILE holds WORDS in order, separated by blanks (helm's
# and releasemanager's tables).
has_row () {
  f=$1; shift
  re="^$(echo "$*" | sed 's/ /[[:space:]]+/g')([[:space:]]|\$)"
  checks=$((checks + 1))
  if ! grep -Eq -- "$re" "$f"; then
    echo "FAIL: no row '$*' in:"
    sed 's/^/  | /' "$f" | head -20
    failures=$((failures + 1))
  fi
}

# 1. The demo as `make demo` runs it.
mkdir "$TMP/t"
TMPDIR="$TMP/t" run 0 bash "$DEMO"
cp "$TMP/out" "$TMP/demo.out"; cp "$TMP/err" "$TMP/demo.err"
O="$TMP/demo.out"
after "demo" "$TMP/t"
expect "$O" "demo: done in "

# The commands, as typed against a real cluster.
expect "$O" '$ helm --kubeconfig cluster-a/kubeconfig install gadgets charts/with-crds -n tools --create-namespace'
expect "$O" '$ releasemanager export --kubeconfig cluster-a/kubeconfig --backend local --path backup'
expect "$O" '$ releasemanager list --backend local --path backup'
expect "$O" '$ releasemanager import --kubeconfig cluster-b/kubeconfig --backend local --path backup'
expect "$O" '$ releasemanager export --daemon --kubeconfig cluster-a/kubeconfig --backend local --path backup --listen 127.0.0.1:'

# import restored the four releases: its own report ...
expect "$O" "restored apps/web: revision 3, chart plain-0.1.0,"
expect "$O" "restored apps/hooked: revision 1, chart with-hooks-0.3.0,"
expect "$O" "restored tools/gadgets: revision 1, chart with-crds-0.2.0,"
expect "$O" "restored staging/web: revision 1, chart with-subchart-0.4.0,"
expect "$O" "4 restored, 0 skipped, 0 failed"
# ... and the second cluster, empty before, as the real helm and kubectl see it after.
block "$O" "helm --kubeconfig cluster-b/kubeconfig list -A" 1 > "$TMP/b-before"
block "$O" "helm --kubeconfig cluster-b/kubeconfig list -A" 2 > "$TMP/b-after"
checks=$((checks + 1))
[ "$(wc -l < "$TMP/b-before")" = 1 ] \
  || { echo "FAIL: cluster-b was not empty before import:"; cat "$TMP/b-before"; failures=$((failures + 1)); }
has_row "$TMP/b-after" web apps 3 ".*" deployed plain-0.1.0 1.16.0
has_row "$TMP/b-after" hooked apps 1 ".*" deployed with-hooks-0.3.0 3.0.0
has_row "$TMP/b-after" gadgets tools 1 ".*" deployed with-crds-0.2.0 2.0.0
has_row "$TMP/b-after" web staging 1 ".*" deployed with-subchart-0.4.0 4.0.0
block "$O" "helm --kubeconfig cluster-b/kubeconfig history web -n apps" 1 > "$TMP/b-history"
has_row "$TMP/b-history" 1 ".*" superseded plain-0.1.0 1.16.0 Install complete
has_row "$TMP/b-history" 2 ".*" superseded plain-0.1.0 1.16.0 Upgrade complete
has_row "$TMP/b-history" 3 ".*" deployed plain-0.1.0 1.16.0 Upgrade complete
block "$O" "kubectl --kubeconfig cluster-b/kubeconfig get gadgets -A" 1 > "$TMP/b-gadgets"
has_row "$TMP/b-gadgets" tools gadgets-gadget
expect "$O" "(no difference)"

# The daemon picked up the upgrade: revision 4 stored, 3 superseded, then a clean stop.
block "$O" "releasemanager list --backend local --path backup" 2 > "$TMP/live"
has_row "$TMP/live" apps web 3 superseded plain-0.1.0
has_row "$TMP/live" apps web 4 deployed plain-0.1.0
expect "$O" "releasemanager: daemon: stopped"

# 2. A step fails: export (through a wrapper) exits 1.
cat > "$TMP/rm-failing" <<EOF
#!/bin/sh
[ "\$1" = export ] && { echo "export: injected failure" >&2; exit 1; }
exec "$RM_BIN" "\$@"
EOF
chmod +x "$TMP/rm-failing"
mkdir "$TMP/t2"
TMPDIR="$TMP/t2" RM_BIN="$TMP/rm-failing" run 1 bash "$DEMO"
expect "$TMP/err" "export: injected failure"
expect "$TMP/err" "demo: step 'export cluster-a to a local store' failed: releasemanager export --kubeconfig cluster-a/kubeconfig --backend local --path backup exited 1"
expect "$TMP/err" "demo: FAILED (exit 1)"
reject "$TMP/out" "== import into cluster-b"
after "failing demo" "$TMP/t2"

finish
