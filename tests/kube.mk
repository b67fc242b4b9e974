# Tests of the Kubernetes client (core/kube/).
check_PROGRAMS += tests/test_kube_config
TESTS += tests/test_kube_config
tests_test_kube_config_SOURCES = tests/test_kube_config.c
tests_test_kube_config_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS)
tests_test_kube_config_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/test_kube_http
TESTS += tests/test_kube_http
tests_test_kube_http_SOURCES = tests/test_kube_http.c tests/kube/stub.c tests/kube/stub.h
tests_test_kube_http_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS) -I$(top_srcdir)/tests
tests_test_kube_http_LDADD = $(TEST_LIBS)

EXTRA_DIST += tests/kube/stub_apiserver.py

# The client and codec against the fake API server, through a small driver program.
check_PROGRAMS += tests/kube/kube_probe
tests_kube_kube_probe_SOURCES = tests/kube/kube_probe.c
tests_kube_kube_probe_CFLAGS = $(AM_CFLAGS) -DRM_UNITTEST $(CJSON_CFLAGS) $(OPENSSL_CFLAGS) $(CURL_CFLAGS)
tests_kube_kube_probe_LDADD = $(CORE_TEST_LIBS)
TESTS += tests/test_kube_fakekube.py
EXTRA_DIST += tests/test_kube_fakekube.py
