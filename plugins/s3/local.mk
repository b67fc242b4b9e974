# s3 backend: any S3-compatible object store (AWS, MinIO, Ceph RGW, R2, moto).
# Links libcurl, OpenSSL libcrypto, expat and cJSON (credential endpoints) itself;
# the core links none of them for its sake.
S3_PLUGIN_SOURCES = \
	%reldir%/s3util.c %reldir%/s3util.h \
	%reldir%/sigv4.c %reldir%/sigv4.h \
	%reldir%/s3xml.c %reldir%/s3xml.h \
	%reldir%/s3creds.c %reldir%/s3creds.h \
	%reldir%/s3http.c %reldir%/s3http.h \
	%reldir%/s3put.c %reldir%/s3handle.h \
	%reldir%/s3curl.c %reldir%/s3curl.h %reldir%/s3stat.c
S3_PLUGIN_CFLAGS = $(CURL_CFLAGS) $(OPENSSL_CFLAGS) $(EXPAT_CFLAGS) $(CJSON_CFLAGS)
S3_PLUGIN_LIBS = $(CURL_LIBS) $(OPENSSL_LIBS) $(EXPAT_LIBS) $(CJSON_LIBS) $(PTHREAD_LIBS)

plugin_LTLIBRARIES += plugins/s3/s3.la
plugins_s3_s3_la_SOURCES = $(S3_PLUGIN_SOURCES) %reldir%/s3.c
plugins_s3_s3_la_CFLAGS = $(AM_CFLAGS) $(S3_PLUGIN_CFLAGS) -fvisibility=hidden
plugins_s3_s3_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_s3_s3_la_LIBADD = $(S3_PLUGIN_LIBS)

# The same sources with -DRM_UNITTEST, linked into the s3 Criterion tests.
check_LIBRARIES += plugins/s3/libs3test.a
plugins_s3_libs3test_a_SOURCES = $(S3_PLUGIN_SOURCES)
plugins_s3_libs3test_a_CFLAGS = $(AM_CFLAGS) $(S3_PLUGIN_CFLAGS) -DRM_UNITTEST
