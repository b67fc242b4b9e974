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

EXTRA_DIST += tests/data/sigv4 tests/data/s3xml tests/s3
