# End-to-end tests of export, list and clear: the program against the fake Kubernetes API
# server (tests/fakekube/) with releases from real helm 3 and helm 4 and the shared
# fixtures.  Skips (exit 77) when helm/kubectl (tests/fakekube/get-tools.sh) or openssl
# are missing.
TESTS += tests/export_test.py
EXTRA_DIST += tests/export_test.py
TESTS += tests/export_s3_test.py
EXTRA_DIST += tests/export_s3_test.py
