# End-to-end tests: the releasemanager program itself.  test_cli.sh checks options, backend
# selection, messages and exit codes with the local backend; test_export*.py and
# test_import.py run export, list, clear and import against the fake Kubernetes API server
# (tests/fakekube/) with releases from real helm 3 and helm 4 and the shared fixtures, and
# against moto for the s3 backend.  They skip (exit 77) when helm/kubectl
# (tests/fakekube/get-tools.sh), openssl or moto are missing.
TESTS += tests/e2e/test_cli.sh tests/e2e/test_export.py tests/e2e/test_export_s3.py \
	tests/e2e/test_import.py
EXTRA_DIST += tests/e2e/test_cli.sh tests/e2e/test_export.py tests/e2e/test_export_s3.py \
	tests/e2e/test_import.py
EXTRA_DIST += bench/import.sh bench/import_bench.py
# list and the dry runs create nothing (needs plugins/local honouring RM_OPEN_READONLY).
TESTS += tests/e2e/test_readonly_open.sh
EXTRA_DIST += tests/e2e/test_readonly_open.sh

# One export engine run several times in one process (driven by test_export.py).
check_PROGRAMS += tests/e2e/export_probe
tests_e2e_export_probe_SOURCES = tests/e2e/export_probe.c
tests_e2e_export_probe_CFLAGS = $(AM_CFLAGS) -DRM_UNITTEST $(CJSON_CFLAGS) $(OPENSSL_CFLAGS)
tests_e2e_export_probe_LDADD = $(CORE_TEST_LIBS)

# `verify` against damaged stores, and --repair (local backend; s3 through moto).
TESTS += tests/e2e/test_verify.py tests/e2e/test_verify_s3.py
EXTRA_DIST += tests/e2e/test_verify.py tests/e2e/test_verify_s3.py

# The original's cobra verbs (issue 12): `completion` driven in real bash, zsh and fish,
# and `docs` pages checked against --help both ways.
TESTS += tests/e2e/test_completion.sh tests/e2e/test_docs_cmd.sh
EXTRA_DIST += tests/e2e/test_completion.sh tests/e2e/test_docs_cmd.sh

# Migrating from the original Go tool: its chart's command line and config file, its
# import command line and its stores (s3 through moto, the fake API server, real helm).
TESTS += tests/e2e/test_compat.py
EXTRA_DIST += tests/e2e/test_compat.py

# `export --daemon` (issue 13): the daemon as a subprocess following real helm changes,
# 410 and dropped watches, the store down then up, SIGTERM mid-batch, two replicas and a
# Lease.
TESTS += tests/e2e/test_daemon.py
EXTRA_DIST += tests/e2e/test_daemon.py

# The daemon's Helm chart (issue 13): helm 3 and 4 lint/template checks, install, upgrade
# (also from the original chart's layout) and uninstall in the fake API server.  The chart,
# the Dockerfile and the image build script ship in the tarball.
TESTS += tests/e2e/test_chart.py
EXTRA_DIST += tests/e2e/test_chart.py deploy/helm/releasemanager Dockerfile .dockerignore \
	scripts/build-image.sh

# `make demo` (issue 19, scripts/demo.sh): two fake clusters, real helm, export, list,
# import and the daemon, as the README's "Quick start" shows; the test runs it and checks
# what it restored, and that a failing step fails it and everything is cleaned up.
TESTS += tests/e2e/test_demo.sh
EXTRA_DIST += tests/e2e/test_demo.sh scripts/demo.sh

# Point-in-time snapshots (issue 15): list --snapshots, --snapshot ID|TIME on list, import
# and verify, retention on export and `prune`, prune killed midway, stores without snapshots/.
TESTS += tests/e2e/test_snapshots.py
EXTRA_DIST += tests/e2e/test_snapshots.py

# Import into a current cluster of releases rendered for removed API versions (issue 16):
# conversion, --no-convert-apis, preflight, no orphans, real helm upgrade/rollback after.
TESTS += tests/e2e/test_import_convert.py
EXTRA_DIST += tests/e2e/test_import_convert.py

# Point-in-time snapshots through the s3 backend (moto): list/verify/import --snapshot, prune.
TESTS += tests/e2e/test_snapshots_s3.py
EXTRA_DIST += tests/e2e/test_snapshots_s3.py

# `diff` (issue 15): a snapshot against the cluster changed by real helm, two snapshots,
# filters, -o json, --manifests, a damaged record.
TESTS += tests/e2e/test_diff.py
EXTRA_DIST += tests/e2e/test_diff.py

# What the unittest-based e2e tests share (not a test): paths, rm(), store decoding, main().
EXTRA_DIST += tests/e2e/e2elib.py

# Client-side encryption (issue 15): local and s3 (moto), wrong/missing key, tampering,
# never mixed, and a record decrypted with Python's cryptography from the man page alone.
TESTS += tests/e2e/test_encrypt.py
EXTRA_DIST += tests/e2e/test_encrypt.py

# `diff` through the s3 backend (moto): equal, an upgrade, --to-snapshot, -o json, damage.
TESTS += tests/e2e/test_diff_s3.py
EXTRA_DIST += tests/e2e/test_diff_s3.py
