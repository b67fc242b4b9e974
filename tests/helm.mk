# Tests of the Helm release codec (core/helm/).
check_PROGRAMS += tests/test_helm_codec
TESTS += tests/test_helm_codec
tests_test_helm_codec_SOURCES = tests/test_helm_codec.c
tests_test_helm_codec_CFLAGS = $(TEST_CFLAGS) $(ZLIB_CFLAGS)
tests_test_helm_codec_LDADD = $(TEST_LIBS)

EXTRA_DIST += \
	tests/data/helm-releases/PROVENANCE.md \
	tests/data/helm-releases/decoded.sha256 \
	tests/data/helm-releases/helm_decode.py \
	tests/data/helm-releases/01-secret-basic-demo2.json \
	tests/data/helm-releases/02-secret-crd-ingress-v1beta1.yaml \
	tests/data/helm-releases/17-CONSTRUCTED-configmap-basic-demo2.yaml \
	tests/data/helm-releases/20-neg-helm2-configmap.yaml

check_PROGRAMS += tests/test_jscan
TESTS += tests/test_jscan
tests_test_jscan_SOURCES = tests/test_jscan.c
tests_test_jscan_CFLAGS = $(TEST_CFLAGS)
tests_test_jscan_LDADD = $(TEST_LIBS)

# The core's error convention (core/base/error.c) and the codes of kube, helm and base.
check_PROGRAMS += tests/test_error
TESTS += tests/test_error
tests_test_error_SOURCES = tests/test_error.c
tests_test_error_CFLAGS = $(TEST_CFLAGS)
tests_test_error_LDADD = $(TEST_LIBS)
