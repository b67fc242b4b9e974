#!/bin/sh
# `releasemanager completion bash|zsh|fish` (issue 12): the bash script is loaded into a real
# bash and its function driven with COMP_WORDS/COMP_CWORD at a dozen positions (verbs,
# global and per-verb options, option values, file and directory names, backend names
# and backend options found at completion time); the zsh script loads under compinit and
# its candidates are computed from $words; fish's `complete -C` answers.  The fixed value
# sets of the script are checked against the program's own messages for a bad value.
# zsh and fish parts are skipped, said so, when the shell is not installed
# (scripts/setup-debian.sh installs both).
. "$abs_top_srcdir/tests/testlib.sh"
RM="$RM_BIN"
S3_DIR="$abs_top_builddir/plugins/s3/.libs"
mkdir -p "$TMP/bin" "$TMP/home" "$TMP/files/dirA" "$TMP/files/dirB"
: > "$TMP/files/fileA"
ln -s "$RM" "$TMP/bin/releasemanager"
PATH="$TMP/bin:$PATH"
HOME="$TMP/home"
export PATH HOME
unset RELEASEMANAGER_PLUGIN_PATH

# is OUTFILE LINE CANDIDATES: the line "[LINE] -> CANDIDATES" is in OUTFILE.
is () {
  checks=$((checks + 1))
  got=$(grep -F -- "[$2] -> " "$1" | head -1)
  if [ "$got" != "[$2] -> $3" ]; then
    echo "FAIL: completing '$2': expected '$3'"
    echo "  got: ${got:-(no line)}"
    failures=$((failures + 1))
  fi
}

run 2 "$RM" completion && expect "$TMP/err" "which shell?"
run 2 "$RM" completion tcsh && expect "$TMP/err" "'tcsh' is not a shell this completes (use bash, zsh or fish)"
run 1 "$RM" completion __options nosuch --plugin-dir "$LOCAL_DIR" \
  && expect "$TMP/err" "backend 'nosuch' not found"
run 0 "$RM" completion __backends --plugin-dir "$LOCAL_DIR" --plugin-dir "$S3_DIR"
checks=$((checks + 1))
[ "$(cat "$TMP/out")" = "$(printf 'local\ns3')" ] || { echo "FAIL: __backends: $(cat "$TMP/out")"; failures=$((failures + 1)); }

# ---- bash -------------------------------------------------------------------------
run 0 "$RM" completion bash && cp "$TMP/out" "$TMP/rm.bash"
expect "$TMP/rm.bash" "source <(releasemanager completion bash)"
cat > "$TMP/drive.bash" <<'EOF'
source "$1" || exit 1
# comp LINE: the words of LINE (split at spaces; a trailing space starts an empty word,
# and '=' is a word of its own as bash's COMP_WORDBREAKS makes it), completed at the end.
comp () {
  local line=$1 w
  COMP_WORDS=()
  for w in $line; do
    if [[ $w == --*=* ]]; then COMP_WORDS+=("${w%%=*}" "=" "${w#*=}")
    elif [[ $w == --*= ]]; then COMP_WORDS+=("${w%=}" "=")
    else COMP_WORDS+=("$w"); fi
  done
  [[ $line == *' ' ]] && COMP_WORDS+=("")
  COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
  COMP_LINE=$line COMP_POINT=${#line}
  COMPREPLY=()
  _releasemanager releasemanager "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  echo "[$line] -> ${COMPREPLY[*]}"
}
shift
for l in "$@"; do comp "$l"; done
EOF
F="$TMP/files"
run 0 env RELEASEMANAGER_PLUGIN_PATH="$LOCAL_DIR:$S3_DIR" bash "$TMP/drive.bash" "$TMP/rm.bash" \
  "releasemanager ex" \
  "releasemanager " \
  "releasemanager -v li" \
  "releasemanager export --helm-driver " \
  "releasemanager import --helm-driver " \
  "releasemanager --log-format=j" \
  "releasemanager list -o " \
  "releasemanager backends --output " \
  "releasemanager completion " \
  "releasemanager help imp" \
  "releasemanager export " \
  "releasemanager backends check s" \
  "releasemanager export local --fs" \
  "releasemanager export s3 --secretAccessKey x --reg" \
  "releasemanager export s3 --ca_bundle $F/fi" \
  "releasemanager --kubeconfig $F/fi" \
  "releasemanager docs --output $F/di" \
  "releasemanager --config $F/fileA clear --lock" \
  "releasemanager export -" \
  "releasemanager export --namespace " \
  "releasemanager docs --out"
cp "$TMP/out" "$TMP/bash.out"
is "$TMP/bash.out" "releasemanager ex" "export"
is "$TMP/bash.out" "releasemanager " "export import list clear verify prune diff rekey backends completion docs help"
is "$TMP/bash.out" "releasemanager -v li" "list"
is "$TMP/bash.out" "releasemanager export --helm-driver " "secret configmap auto"
is "$TMP/bash.out" "releasemanager import --helm-driver " "secret configmap"
is "$TMP/bash.out" "releasemanager --log-format=j" "json"
is "$TMP/bash.out" "releasemanager list -o " "table json"
is "$TMP/bash.out" "releasemanager backends --output " "text json"
is "$TMP/bash.out" "releasemanager completion " "bash zsh fish"
is "$TMP/bash.out" "releasemanager help imp" "import"
is "$TMP/bash.out" "releasemanager export " "local s3"
is "$TMP/bash.out" "releasemanager backends check s" "s3"
is "$TMP/bash.out" "releasemanager export local --fs" "--fsync"
is "$TMP/bash.out" "releasemanager export s3 --secretAccessKey x --reg" "--region"
is "$TMP/bash.out" "releasemanager export s3 --ca_bundle $F/fi" "$F/fileA"
is "$TMP/bash.out" "releasemanager --kubeconfig $F/fi" "$F/fileA"
is "$TMP/bash.out" "releasemanager docs --output $F/di" "$F/dirA $F/dirB"
is "$TMP/bash.out" "releasemanager --config $F/fileA clear --lock" "--lock-timeout"
is "$TMP/bash.out" "releasemanager export --namespace " ""
is "$TMP/bash.out" "releasemanager docs --out" "--output"

# Every option --help shows (global, and export's) is offered after `export -`, short
# names too, and nothing else.
grep -F -- "[releasemanager export -] -> " "$TMP/bash.out" | sed 's/.*-> //' | tr ' ' '\n' \
  | sort > "$TMP/offered"
"$RM" --help > "$TMP/h1"; "$RM" export --help > "$TMP/h2"
sed -n 's/^  \(-[a-zA-Z]\), \(--[a-z-]*\).*/\1\n\2/p; s/^      \(--[a-z-]*\).*/\1/p' \
  "$TMP/h1" "$TMP/h2" | sort > "$TMP/helped"
checks=$((checks + 1))
if ! cmp -s "$TMP/offered" "$TMP/helped" || [ ! -s "$TMP/helped" ]; then
  echo "FAIL: options offered after 'export -' differ from --help (< offered, > --help):"
  diff "$TMP/offered" "$TMP/helped" | sed 's/^/  /'
  failures=$((failures + 1))
fi

# Backends and their options are found along --plugin-dir given on the line.
run 0 bash "$TMP/drive.bash" "$TMP/rm.bash" "releasemanager --plugin-dir $LOCAL_DIR export " \
  "releasemanager export --plugin-dir=$S3_DIR s3 --buc"
is "$TMP/out" "releasemanager --plugin-dir $LOCAL_DIR export " "local"
is "$TMP/out" "releasemanager export --plugin-dir=$S3_DIR s3 --buc" "--bucket"

# The fixed value sets agree with the program: each value passes the option's check (the
# error, if any, is about something else), and a bad value's message names every value.
sed -n "/^_releasemanager_spec='/,/'\$/p" "$TMP/rm.bash" | awk -F '\t' '$1 == "opt" && $6 ~ /^enum=/ {
  sub(/^enum=/, "", $6); print $2, $3, $6 }' > "$TMP/enums"
checks=$((checks + 1))
[ "$(wc -l < "$TMP/enums")" -ge 6 ] || { echo "FAIL: too few fixed value sets:"; cat "$TMP/enums"; failures=$((failures + 1)); }
while read -r scope opt values; do
  if [ "$scope" = '*' ]; then pre="--$opt"; verb=list; else pre=; verb=$scope; fi
  for v in $(echo "$values" | tr '|' ' ') bogus-value; do
    if [ -n "$pre" ]; then
      "$RM" "$pre" "$v" "$verb" --path "$TMP/none" > "$TMP/o" 2> "$TMP/e"
    else
      "$RM" "$verb" --plugin-dir /nonexistent "--$opt" "$v" --path "$TMP/none" > "$TMP/o" 2> "$TMP/e"
    fi
    checks=$((checks + 1))
    if [ "$v" = bogus-value ]; then
      for w in $(echo "$values" | tr '|' ' '); do
        grep -q -- "--$opt.*$w" "$TMP/e" || { echo "FAIL: $scope --$opt bogus-value: message lacks '$w': $(cat "$TMP/e")"; failures=$((failures + 1)); }
      done
    elif grep -q -- "--$opt" "$TMP/e"; then
      echo "FAIL: $scope --$opt $v: rejected: $(cat "$TMP/e")"
      failures=$((failures + 1))
    fi
  done
done < "$TMP/enums"

# ---- zsh --------------------------------------------------------------------------
if command -v zsh >/dev/null 2>&1; then
  run 0 "$RM" completion zsh && cp "$TMP/out" "$TMP/_releasemanager"
  mkdir "$TMP/zfunc" && cp "$TMP/_releasemanager" "$TMP/zfunc/"
  cat > "$TMP/drive.zsh" <<'EOF'
autoload -U compinit && compinit -u -d "$TMP/zcompdump" || exit 1
# comp LINE: what the script offers at the end of LINE, those starting with the word.
comp () {
  local -a words reply _rm_extra
  local CURRENT _rm_verb _rm_backend _rm_keys _rm_cmd _rm_cur _rm_how _rm_prefix
  local _rm_long _rm_arg _rm_compl
  words=(${=1}); [[ $1 == *' ' ]] && words+=("")
  CURRENT=$#words
  __releasemanager_compute && __releasemanager_candidates
  reply=(${reply%%:*})
  print -r -- "[$1] -> ${(j: :)${(@M)reply:#${_rm_cur}*}}"
}
if [[ $MODE == fpath ]]; then
  fpath=("$TMP/zfunc" $fpath); compinit -u -d "$TMP/zcompdump2"
  print -r -- "compdef: $_comps[releasemanager]"
  exit 0
fi
source "$TMP/_releasemanager" || exit 1
print -r -- "compdef: $_comps[releasemanager]"
comp 'releasemanager ex'
comp 'releasemanager export --helm-driver '
comp 'releasemanager export --helm-driver=con'
comp 'releasemanager export s3 --reg'
comp 'releasemanager export l'
comp 'releasemanager completion '
EOF
  run 0 env TMP="$TMP" RELEASEMANAGER_PLUGIN_PATH="$LOCAL_DIR:$S3_DIR" zsh -f "$TMP/drive.zsh"
  reject "$TMP/err" "releasemanager"
  expect "$TMP/out" "compdef: _releasemanager"
  is "$TMP/out" "releasemanager ex" "export"
  is "$TMP/out" "releasemanager export --helm-driver " "secret configmap auto"
  is "$TMP/out" "releasemanager export --helm-driver=con" "configmap"
  is "$TMP/out" "releasemanager export s3 --reg" "--region"
  is "$TMP/out" "releasemanager export l" "local"
  is "$TMP/out" "releasemanager completion " "bash zsh fish"
  # Installed in a directory of $fpath, compinit finds it.
  run 0 env TMP="$TMP" MODE=fpath zsh -f "$TMP/drive.zsh"
  expect "$TMP/out" "compdef: _releasemanager"
else
  echo "SKIP (part): zsh is not installed; the zsh script was not loaded"
fi

# ---- fish -------------------------------------------------------------------------
if command -v fish >/dev/null 2>&1; then
  run 0 "$RM" completion fish && cp "$TMP/out" "$TMP/releasemanager.fish"
  cat > "$TMP/drive.fish" <<'EOF'
source $argv[1]; or exit 1
for l in $argv[2..-1]
    set -l c (complete -C "$l" | string replace -r '\t.*' '' | string join ' ')
    echo "[$l] -> $c"
end
EOF
  run 0 env RELEASEMANAGER_PLUGIN_PATH="$LOCAL_DIR:$S3_DIR" fish --no-config "$TMP/drive.fish" \
    "$TMP/releasemanager.fish" "releasemanager ex" "releasemanager list -o " \
    "releasemanager export --helm-driver=c" "releasemanager export s3 --reg" \
    "releasemanager backends check l" "releasemanager --config $F/fileA im"
  expect "$TMP/out" "[releasemanager ex] -> export"
  is "$TMP/out" "releasemanager ex" "export"
  is "$TMP/out" "releasemanager list -o " "json table"
  is "$TMP/out" "releasemanager export --helm-driver=c" "--helm-driver=configmap"
  is "$TMP/out" "releasemanager export s3 --reg" "--region"
  is "$TMP/out" "releasemanager backends check l" "local"
  is "$TMP/out" "releasemanager --config $F/fileA im" "import"
else
  echo "SKIP (part): fish is not installed; the fish script was not loaded"
fi
finish
