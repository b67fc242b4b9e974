#!/bin/sh
# End-to-end checks of the releasemanager program: options, backend selection in both
# forms, precedence, error messages and exit codes, secret redaction, and the local
# backend passing the conformance suite through the real loader.
. "$abs_top_srcdir/tests/testlib.sh"
RM="$RM_BIN"
P="$TMP/store"

run 0 "$RM" --version && expect "$TMP/out" "releasemanager 0.1.0 (backend ABI 1."
run 0 "$RM" --help && expect "$TMP/out" "--backend-opt KEY=VALUE"
run 0 "$RM" help backends && expect "$TMP/out" "Usage: releasemanager [OPTIONS] backends"
run 2 "$RM" frobnicate && expect "$TMP/err" "unknown command 'frobnicate'"
run 2 "$RM" && expect "$TMP/err" "Usage: releasemanager"
run 2 "$RM" backends --bogus && expect "$TMP/err" "unknown option '--bogus'"
run 2 "$RM" backends --log-format xml && expect "$TMP/err" "'xml' is not a format"
run 2 "$RM" backends --debug=sometimes && expect "$TMP/err" "'sometimes' is not a boolean"

# Listing: every plugin found, broken ones reported, secrets' defaults never shown.
run 1 "$RM" backends --plugin-dir "$FIXTURES"
expect "$TMP/out" "good 0.0.1 (ABI 1.1)"
expect "$TMP/out" "password (string)"
expect "$TMP/out" "[secret]"
reject "$TMP/out" "default-token-VALUE"
expect "$TMP/err" "abi2.so: built for backend ABI 2.0"
expect "$TMP/err" "noput.so: required operation 'put' is missing"
run 0 "$RM" backends --plugin-dir "$LOCAL_DIR" -o json
expect "$TMP/out" '"name":"local"'
expect "$TMP/out" '"threads":"parallel"'

# The plugin search path: --plugin-dir, then RELEASEMANAGER_PLUGIN_PATH, then the file.
run 1 "$RM" backends check nosuch --plugin-dir /nonexistent/a
expect "$TMP/out" "Bail out! backend 'nosuch' not found"
expect "$TMP/err" "backend 'nosuch' not found: no nosuch.so in /nonexistent/a, "
run 0 env RELEASEMANAGER_PLUGIN_PATH="$LOCAL_DIR" "$RM" backends check local --path "$P" --list-keys 50
printf 'plugin-dir: %s\n' "$LOCAL_DIR" > "$TMP/cfg.yaml"
run 0 "$RM" --config "$TMP/cfg.yaml" backends check local --path "$P" --list-keys 50
run 0 "$RM" backends check "$LOCAL_DIR/local.so" --path "$P" --list-keys 50

# Both forms of backend selection and of backend options.
run 0 "$RM" backends check local --plugin-dir "$LOCAL_DIR" --path "$P" --fsync false --list-keys 50
expect "$TMP/out" "1..16"
expect "$TMP/out" " passed, 0 failed, "
reject "$TMP/out" "not ok"
run 0 "$RM" backends check --backend-opt fsync=no --plugin-dir "$LOCAL_DIR" local --path "$P" --list-keys 50
run 2 "$RM" backends check local --plugin-dir "$LOCAL_DIR" --path "$P" --colour red
expect "$TMP/err" "unknown option '--colour' (not an option of releasemanager, this command or backend 'local'"
run 2 "$RM" backends check local --plugin-dir "$LOCAL_DIR" --path "$P" --backend-opt colour=red
expect "$TMP/err" "backend 'local' has no option 'colour' (from --backend-opt); its options are: path, fsync"
run 2 "$RM" backends check local --plugin-dir "$LOCAL_DIR" --path "$P" --fsync sometimes
expect "$TMP/err" "option 'fsync' from --fsync: 'sometimes' is not a boolean"
run 2 "$RM" backends check local --plugin-dir "$LOCAL_DIR"
expect "$TMP/err" "backend 'local' needs --path"
run 2 "$RM" backends check local --plugin-dir "$LOCAL_DIR" --path "$P" --backend-opt fsync
expect "$TMP/err" "--backend-opt 'fsync': expected KEY=VALUE"

# The last value given on the command line wins, in either form.
run 2 "$RM" backends check local --plugin-dir "$LOCAL_DIR" --path "$P" --fsync true --fsync bad1
expect "$TMP/err" "'bad1' is not a boolean"
run 2 "$RM" backends check local --plugin-dir "$LOCAL_DIR" --path "$P" --backend-opt fsync=yes --backend-opt fsync=bad2
expect "$TMP/err" "'bad2' is not a boolean"

# Precedence: flags > RELEASEMANAGER_* > config file > defaults, named in errors.
printf 'backends:\n  local:\n    fsync: notabool\n' > "$TMP/bad.yaml"
run 2 "$RM" --config "$TMP/bad.yaml" backends check local --plugin-dir "$LOCAL_DIR" --path "$P"
expect "$TMP/err" "option 'fsync' from $TMP/bad.yaml:3: 'notabool' is not a boolean"
run 0 "$RM" --config "$TMP/bad.yaml" backends check local --plugin-dir "$LOCAL_DIR" --path "$P" --fsync true --list-keys 20
run 2 env RELEASEMANAGER_LOCAL_FSYNC=envbad "$RM" --config "$TMP/bad.yaml" backends check local --plugin-dir "$LOCAL_DIR" --path "$P"
expect "$TMP/err" "from environment RELEASEMANAGER_LOCAL_FSYNC: 'envbad'"
printf 'path: %s\n' "$TMP/from-file" > "$TMP/path.yaml"
run 0 "$RM" --config "$TMP/path.yaml" backends check local --plugin-dir "$LOCAL_DIR" --list-keys 20
expect "$TMP/out" "local directory $TMP/from-file"
run 0 env RELEASEMANAGER_PATH="$TMP/from-env" "$RM" --config "$TMP/path.yaml" backends check local --plugin-dir "$LOCAL_DIR" --list-keys 20
expect "$TMP/out" "local directory $TMP/from-env"
run 0 env RELEASEMANAGER_PATH="$TMP/from-env" "$RM" --config "$TMP/path.yaml" backends check local --plugin-dir "$LOCAL_DIR" --path "$TMP/from-flag" --list-keys 20
expect "$TMP/out" "local directory $TMP/from-flag"
run 2 "$RM" --config "$TMP/missing.yaml" backends
expect "$TMP/err" "$TMP/missing.yaml: cannot read the configuration file: No such file or directory"
run 2 env RELEASEMANAGER_CONFIG="$TMP/missing.yaml" "$RM" backends
expect "$TMP/err" "$TMP/missing.yaml: cannot read"

# Two backends named at once is a mistake, not a guess.
run 2 "$RM" backends check local --backend=s3 --plugin-dir "$LOCAL_DIR" --path "$P"
expect "$TMP/err" "two backends given"

# Secrets: never in errors, never in --debug logs, even when the plugin is careless.
run 1 "$RM" backends check good --plugin-dir "$FIXTURES" --user alice --password 'Sup3r-s3cret' --fail_open --debug
reject "$TMP/err" "Sup3r-s3cret"
expect "$TMP/err" "login refused for password '***'"
expect "$TMP/err" "good: opening as alice with password ***"
expect "$TMP/err" "backend good: password = ***"
expect "$TMP/out" "Bail out! good: login refused for password '***'"
run 1 env RELEASEMANAGER_GOOD_PASSWORD='env-s3cret-x' "$RM" backends check good --plugin-dir "$FIXTURES" --userName bob --fail_open --debug --log-format json
reject "$TMP/err" "env-s3cret-x"
expect "$TMP/err" '"level":"debug"'
expect "$TMP/err" 'opening as bob with password ***'

finish
