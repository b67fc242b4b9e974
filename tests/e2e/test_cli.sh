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
# A plugin of another ABI major is skipped with the reason, and is no error on its own.
mkdir -p "$TMP/abimix"
cp "$FIXTURES/abi2.so" "$FIXTURES/good.so" "$TMP/abimix/"
run 0 "$RM" backends --plugin-dir "$TMP/abimix"
expect "$TMP/out" "good 0.0.1 (ABI 1.1)"
expect "$TMP/err" "warning: skipped $TMP/abimix/abi2.so: built for backend ABI 2.0"
expect "$TMP/err" "or use it with a releasemanager of ABI 2.  Each ABI major has its own plugin directory"
expect "$TMP/err" "releasemanager-backend-abi-N"
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

# The original tool's configuration file (issue 12): a key of another command is no error
# in a shared file, an unknown key is a warning naming the file and line, keys in any
# case as viper reads them, JSON by extension, viper's other formats a clear error.
S3_DIR="$abs_top_builddir/plugins/s3/.libs"
mkdir -p "$TMP/shared"
printf 'dryRun: false\nDEBUG: false\nverbose: false\nwait: true\ncreateNamespace: true\nvalueUpdates:\n  image.tag: v2\ncolour: red\n' > "$TMP/shared.yaml"
run 1 "$RM" --config "$TMP/shared.yaml" list local --plugin-dir "$LOCAL_DIR" --path "$TMP/shared"
expect "$TMP/err" "$TMP/shared.yaml:8: unknown setting 'colour' ignored"
reject "$TMP/err" "wait"
expect "$TMP/err" "no snapshot in local directory $TMP/shared"
printf '{\n  "path": "%s",\n  "dryRun": "maybe"\n}\n' "$TMP/shared" > "$TMP/shared.json"
run 2 "$RM" --config "$TMP/shared.json" list local --plugin-dir "$LOCAL_DIR"
expect "$TMP/err" "$TMP/shared.json:3: 'maybe' is not a boolean"
printf 'path = "x"\n' > "$TMP/old.toml"
run 2 "$RM" --config "$TMP/old.toml" list local --plugin-dir "$LOCAL_DIR"
expect "$TMP/err" "$TMP/old.toml: the configuration file is in TOML format, which releasemanager does not read: convert it to YAML (.yaml) or JSON (.json)"
# After our default, the original's /etc/releasemanager/config.* (directory overridable).
mkdir -p "$TMP/etc" "$TMP/emptyhome"
printf 'path: %s\n' "$TMP/shared" > "$TMP/etc/config.yml"
run 1 env HOME="$TMP/emptyhome" XDG_CONFIG_HOME= RELEASEMANAGER_SYSTEM_CONFIG_DIR="$TMP/etc" "$RM" list local --plugin-dir "$LOCAL_DIR" --debug
expect "$TMP/err" "$TMP/shared"
# An s3 store needs --path, as in the original (else it would live at the bucket root).
if [ -f "$S3_DIR/s3.so" ]; then
  run 2 "$RM" list s3 --plugin-dir "$S3_DIR" --bucket b
  expect "$TMP/err" "no --path given: backend 's3' keeps the store under a key prefix; give --path PREFIX"
  printf 'bucket: b\nregion: eu-west-1\n' > "$TMP/s3.yaml"
  run 2 "$RM" --config "$TMP/s3.yaml" clear s3 --plugin-dir "$S3_DIR"
  expect "$TMP/err" "no --path given: backend 's3'"
fi

finish
