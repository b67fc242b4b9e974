# End-to-end tests of export, list and clear: the program against the fake Kubernetes API
# server (tests/fakekube/) with releases from real helm 3 and helm 4 and the shared
# fixtures.  Skips (exit 77) when helm/kubectl (tests/fakekube/get-tools.sh) or openssl
# are missing.
TESTS += tests/export_test.py
EXTRA_DIST += tests/export_test.py
TESTS += tests/export_s3_test.py
EXTRA_DIST += tests/export_s3_test.py

# One export engine run several times in one process (driven by tests/export_test.py).
check_PROGRAMS += tests/export_probe
tests_export_probe_SOURCES = tests/export_probe.c
tests_export_probe_CFLAGS = $(AM_CFLAGS) -DRM_UNITTEST $(CJSON_CFLAGS) $(OPENSSL_CFLAGS)
tests_export_probe_LDADD = $(CORE_TEST_LIBS)
