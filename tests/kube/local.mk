# The daemon's Kubernetes groundwork (core/kube/watch.c, lease.c, the metadata-only LIST)
# against the fake API server (tests/fakekube/) and real kubectl, through a driver program.
check_PROGRAMS += tests/kube/kube_watch_probe
tests_kube_kube_watch_probe_SOURCES = tests/kube/kube_watch_probe.c
tests_kube_kube_watch_probe_CFLAGS = $(AM_CFLAGS) -DRM_UNITTEST $(CJSON_CFLAGS) $(CURL_CFLAGS)
tests_kube_kube_watch_probe_LDADD = $(CORE_TEST_LIBS)
TESTS += tests/kube/test_watch.py tests/kube/test_lease.py
EXTRA_DIST += tests/kube/test_watch.py tests/kube/test_lease.py
