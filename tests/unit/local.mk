# Unit tests of the core: Criterion programs linked with the core library (libcoretest.a,
# built -DRM_UNITTEST), one per module, plus the Kubernetes client against the fake API
# server (tests/fakekube/) through a small driver program.
check_PROGRAMS += tests/unit/test_cli
TESTS += tests/unit/test_cli
tests_unit_test_cli_SOURCES = tests/unit/test_cli.c
tests_unit_test_cli_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_cli_LDADD = $(TEST_LIBS)

# The plugin loader's failure matrix, against the fixture plugins of tests/plugins/.
check_PROGRAMS += tests/unit/test_plugin
TESTS += tests/unit/test_plugin
tests_unit_test_plugin_SOURCES = tests/unit/test_plugin.c
tests_unit_test_plugin_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_plugin_LDADD = $(TEST_LIBS)
tests_unit_test_plugin_DEPENDENCIES = libcoretest.a $(check_LTLIBRARIES)

check_PROGRAMS += tests/unit/test_store
TESTS += tests/unit/test_store
tests_unit_test_store_SOURCES = tests/unit/test_store.c
tests_unit_test_store_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_store_LDADD = $(TEST_LIBS)
tests_unit_test_store_DEPENDENCIES = libcoretest.a plugins/local/local.la

# The Helm release codec (core/helm/) and the JSON scanner, on the shared fixtures.
check_PROGRAMS += tests/unit/test_helm_codec
TESTS += tests/unit/test_helm_codec
tests_unit_test_helm_codec_SOURCES = tests/unit/test_helm_codec.c
tests_unit_test_helm_codec_CFLAGS = $(TEST_CFLAGS) $(ZLIB_CFLAGS)
tests_unit_test_helm_codec_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/test_jscan
TESTS += tests/unit/test_jscan
tests_unit_test_jscan_SOURCES = tests/unit/test_jscan.c
tests_unit_test_jscan_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_jscan_LDADD = $(TEST_LIBS)

EXTRA_DIST += \
	tests/data/helm-releases/PROVENANCE.md \
	tests/data/helm-releases/decoded.sha256 \
	tests/data/helm-releases/helm_decode.py \
	tests/data/helm-releases/01-secret-basic-demo2.json \
	tests/data/helm-releases/02-secret-crd-ingress-v1beta1.yaml \
	tests/data/helm-releases/17-CONSTRUCTED-configmap-basic-demo2.yaml \
	tests/data/helm-releases/20-neg-helm2-configmap.yaml

# The Kubernetes client (core/kube/): kubeconfig parsing, and HTTP against the fake API
# server (tests/fakekube/) in scripted mode, driven through tests/unit/kube_stub.c.
check_PROGRAMS += tests/unit/test_kube_config
TESTS += tests/unit/test_kube_config
tests_unit_test_kube_config_SOURCES = tests/unit/test_kube_config.c
tests_unit_test_kube_config_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS)
tests_unit_test_kube_config_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/test_kube_http
TESTS += tests/unit/test_kube_http
tests_unit_test_kube_http_SOURCES = tests/unit/test_kube_http.c tests/unit/kube_stub.c tests/unit/kube_stub.h
tests_unit_test_kube_http_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS)
tests_unit_test_kube_http_LDADD = $(TEST_LIBS)

# The client and codec against the fake API server, through a small driver program.
check_PROGRAMS += tests/unit/kube_probe
tests_unit_kube_probe_SOURCES = tests/unit/kube_probe.c
tests_unit_kube_probe_CFLAGS = $(AM_CFLAGS) -DRM_UNITTEST $(CJSON_CFLAGS) $(OPENSSL_CFLAGS) $(CURL_CFLAGS)
tests_unit_kube_probe_LDADD = $(CORE_TEST_LIBS)
TESTS += tests/unit/test_kube_fakekube.py
EXTRA_DIST += tests/unit/test_kube_fakekube.py
EXTRA_DIST += tests/data/store/index-0.1.json bench/memory.sh bench/memory_bench.py

# One error convention (core/base/error.h): codes, primaries, names, err_set.
check_PROGRAMS += tests/unit/test_error
TESTS += tests/unit/test_error
tests_unit_test_error_SOURCES = tests/unit/test_error.c
tests_unit_test_error_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_error_LDADD = $(TEST_LIBS)

# One writer per store (core/store/lock.c), against the real local plugin.
check_PROGRAMS += tests/unit/test_lock
TESTS += tests/unit/test_lock
tests_unit_test_lock_SOURCES = tests/unit/test_lock.c
tests_unit_test_lock_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_lock_LDADD = $(TEST_LIBS)
tests_unit_test_lock_DEPENDENCIES = libcoretest.a plugins/local/local.la

# Helpers of core/base/util.c that guard against undefined behaviour.
check_PROGRAMS += tests/unit/test_util
TESTS += tests/unit/test_util
tests_unit_test_util_SOURCES = tests/unit/test_util.c
tests_unit_test_util_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_util_LDADD = $(TEST_LIBS)

# Import's value updates (core/import/values.c): --update-values and --new-path.
check_PROGRAMS += tests/unit/test_import_values
TESTS += tests/unit/test_import_values
tests_unit_test_import_values_SOURCES = tests/unit/test_import_values.c
tests_unit_test_import_values_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_import_values_LDADD = $(TEST_LIBS)

# The daemon's groundwork (core/daemon/): the metrics registry and its formats, and the
# HTTP server driven with libcurl (plus promtool on /metrics when installed).
check_PROGRAMS += tests/unit/test_metrics
TESTS += tests/unit/test_metrics
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c
tests_unit_test_metrics_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_metrics_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/test_daemon_http
TESTS += tests/unit/test_daemon_http
tests_unit_test_daemon_http_SOURCES = tests/unit/test_daemon_http.c
tests_unit_test_daemon_http_CFLAGS = $(TEST_CFLAGS) $(CURL_CFLAGS) $(MHD_CFLAGS)
tests_unit_test_daemon_http_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/test_log
TESTS += tests/unit/test_log
tests_unit_test_log_SOURCES = tests/unit/test_log.c
tests_unit_test_log_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_log_LDADD = $(TEST_LIBS)

# Point-in-time snapshots and retention (store/history.c), through the real local plugin.
check_PROGRAMS += tests/unit/test_store_history
TESTS += tests/unit/test_store_history
tests_unit_test_store_history_SOURCES = tests/unit/test_store_history.c
tests_unit_test_store_history_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_store_history_LDADD = $(TEST_LIBS)
tests_unit_test_store_history_DEPENDENCIES = libcoretest.a plugins/local/local.la

check_PROGRAMS += tests/unit/test_import_convert
TESTS += tests/unit/test_import_convert
tests_unit_test_import_convert_SOURCES = tests/unit/test_import_convert.c
tests_unit_test_import_convert_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_import_convert_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/unit/test_duration
TESTS += tests/unit/test_duration
tests_unit_test_duration_SOURCES = tests/unit/test_duration.c
tests_unit_test_duration_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_duration_LDADD = $(TEST_LIBS)

# The unified line diff of `diff --manifests` (core/base/linediff.c), against diff -u.
check_PROGRAMS += tests/unit/test_linediff
TESTS += tests/unit/test_linediff
tests_unit_test_linediff_SOURCES = tests/unit/test_linediff.c
tests_unit_test_linediff_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_linediff_LDADD = $(TEST_LIBS)

# The Criterion fixture of the store tests (a local store on a temporary directory).
tests_unit_test_store_SOURCES += tests/unit/store_fixture.h
tests_unit_test_store_history_SOURCES += tests/unit/store_fixture.h
tests_unit_test_lock_SOURCES += tests/unit/store_fixture.h

# Client-side encryption's object format (core/base/seal.c).
check_PROGRAMS += tests/unit/test_seal
TESTS += tests/unit/test_seal
tests_unit_test_seal_SOURCES = tests/unit/test_seal.c
tests_unit_test_seal_CFLAGS = $(TEST_CFLAGS)
tests_unit_test_seal_LDADD = $(TEST_LIBS)
