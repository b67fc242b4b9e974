# End-to-end tests of import: releases made by real helm 3 and helm 4 on one fake API
# server (tests/fakekube/), exported by our export, imported into a second fresh one and
# proven there with real helm.  Skips (exit 77) when helm/kubectl or openssl are missing.
TESTS += tests/import_test.py
EXTRA_DIST += tests/import_test.py
EXTRA_DIST += bench/import.sh bench/import_bench.py
