# Tests of the s3 backend plugin (issue 4).  Unit tests are Criterion programs linked
# with the plugin's sources built -DRM_UNITTEST; integration tests start their own
# loopback servers (moto, credential endpoints, a fault-injecting proxy) and skip with
# exit 77 and a reason when a tool they need is missing.
S3_TEST_CFLAGS = $(AM_CFLAGS) -DRM_UNITTEST $(CRITERION_CFLAGS) $(CJSON_CFLAGS) \
	$(CURL_CFLAGS) $(OPENSSL_CFLAGS) $(EXPAT_CFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
S3_TEST_LIBS = plugins/s3/libs3test.a $(CRITERION_LIBS) $(CJSON_LIBS) $(CURL_LIBS) \
	$(OPENSSL_LIBS) $(EXPAT_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/test_s3_sigv4
tests_test_s3_sigv4_SOURCES = tests/test_s3_sigv4.c
tests_test_s3_sigv4_CFLAGS = $(S3_TEST_CFLAGS)
tests_test_s3_sigv4_LDADD = $(S3_TEST_LIBS)
TESTS += tests/test_s3_sigv4

check_PROGRAMS += tests/test_s3_xml
tests_test_s3_xml_SOURCES = tests/test_s3_xml.c
tests_test_s3_xml_CFLAGS = $(S3_TEST_CFLAGS)
tests_test_s3_xml_LDADD = $(S3_TEST_LIBS)
TESTS += tests/test_s3_xml

EXTRA_DIST += tests/data/sigv4 tests/data/s3xml tests/s3/PROVENANCE tests/s3/moto_s3.py \
	tests/s3/s3env.py tests/test_s3_moto.py

# Integration against moto (tests/test_s3_moto.py runs tests/test_s3_plugin and
# tests/s3/s3tool; neither is a TESTS entry of its own).
check_PROGRAMS += tests/test_s3_plugin tests/s3/s3tool
tests_test_s3_plugin_SOURCES = tests/test_s3_plugin.c tests/s3/harness.h
tests_test_s3_plugin_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_test_s3_plugin_LDADD = $(CRITERION_LIBS) $(DL_LIBS) $(PTHREAD_LIBS)
tests_s3_s3tool_SOURCES = tests/s3/s3tool.c tests/s3/harness.h
tests_s3_s3tool_CFLAGS = $(AM_CFLAGS)
tests_s3_s3tool_LDADD = $(DL_LIBS) $(PTHREAD_LIBS)
TESTS += tests/test_s3_moto.py

check_PROGRAMS += tests/test_s3_errmap
tests_test_s3_errmap_SOURCES = tests/test_s3_errmap.c
tests_test_s3_errmap_CFLAGS = $(S3_TEST_CFLAGS)
tests_test_s3_errmap_LDADD = $(S3_TEST_LIBS)
TESTS += tests/test_s3_errmap

# Credential chain against loopback STS/ECS/IMDS servers (tests/test_s3_creds.py).
check_PROGRAMS += tests/test_s3_creds
tests_test_s3_creds_SOURCES = tests/test_s3_creds.c
tests_test_s3_creds_CFLAGS = $(S3_TEST_CFLAGS)
tests_test_s3_creds_LDADD = $(S3_TEST_LIBS)
TESTS += tests/test_s3_creds.py
EXTRA_DIST += tests/test_s3_creds.py tests/s3/credservers.py

# Fault injection through tests/s3/faultproxy.py (503, 500, dropped connections, cut and
# corrupted bodies, stalls), checked directly on moto.
TESTS += tests/test_s3_faults.py
EXTRA_DIST += tests/test_s3_faults.py tests/s3/faultproxy.py
EXTRA_DIST += bench/s3-put.sh
