#!/bin/sh
# Run each libFuzzer target of fuzz-build/ for a set time (`make fuzz`, .ci/run):
#   fuzz/run.sh SRCDIR OUTDIR SECONDS TARGET...
# Each target starts from fuzz/corpus/NAME and fuzz/regress/NAME and adds what it finds
# to OUTDIR/corpus/NAME (kept between runs); a crash is saved as OUTDIR/crashes/NAME/*.
# Prints one line per target (runs, runs/s, coverage, features, crashes) and exits 1
# when any target crashed.
set -u
src=$1 out=$2 secs=$3
shift 3
# Longest input per target: room for the largest seed, little more.
max_len () {
  case $1 in
    helm) echo 32768 ;;
    jscan) echo 32768 ;;
    manifest|index) echo 16384 ;;
    yamljson|s3xml) echo 8192 ;;
    kubeconfig|conffile) echo 4096 ;;
    sigv4) echo 1024 ;;
    *) echo 4096 ;;
  esac
}
dict_of () {
  case $1 in
    jscan|index|helm) echo json ;;
    yamljson|kubeconfig|conffile|manifest) echo yaml ;;
    s3xml) echo xml ;;
    *) echo "" ;;
  esac
}
failed=0
summary=$out/summary.txt
: > "$summary"
printf '%-11s %10s %8s %7s %7s %s\n' target runs runs/s cov ft crashes | tee -a "$summary"
for t in "$@"; do
  mkdir -p "$out/corpus/$t" "$out/crashes/$t"
  d=$(dict_of "$t")
  set -- -max_len="$(max_len "$t")" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$out/crashes/$t/"
  [ -n "$d" ] && set -- "$@" -dict="$src/fuzz/dict/$d.dict"
  seeds="$src/fuzz/corpus/$t"
  [ -d "$src/fuzz/regress/$t" ] && seeds="$seeds $src/fuzz/regress/$t"
  log=$out/$t.log
  # shellcheck disable=SC2086
  "$out/fuzz_$t" "$@" "$out/corpus/$t" $seeds > "$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  crashes=$(find "$out/crashes/$t" -type f | wc -l)
  printf '%-11s %10s %8s %7s %7s %s\n' "$t" "${runs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" \
    "$crashes" | tee -a "$summary"
  if [ "$rc" != 0 ] || [ "$crashes" != 0 ]; then
    failed=1
    echo "fuzz: $t failed (exit $rc); its log, $log, ends:" >&2
    tail -40 "$log" >&2
  fi
done
exit $failed
