# Tests of the Kubernetes client (core/kube/).
check_PROGRAMS += tests/test_kube_config
TESTS += tests/test_kube_config
tests_test_kube_config_SOURCES = tests/test_kube_config.c
tests_test_kube_config_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS)
tests_test_kube_config_LDADD = $(TEST_LIBS)
