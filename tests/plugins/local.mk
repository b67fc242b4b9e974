# Tests of the backend plugins and of what the loader needs from them.
#
# Fixture plugins for the loader failure matrix (tests/unit/test_plugin.c): one source,
# one variant per file.  abi10 is built against the frozen ABI 1.0 header in
# tests/plugins/abi/.
FIXTURE_LDFLAGS = -module -avoid-version -shared -rpath /nowhere $(SANITIZER_LDFLAGS)
check_LTLIBRARIES += tests/plugins/good.la tests/plugins/future.la tests/plugins/abi2.la tests/plugins/smallsize.la tests/plugins/oldminor.la tests/plugins/badname.la tests/plugins/noname.la tests/plugins/badthreads.la tests/plugins/smallkeys.la tests/plugins/noput.la tests/plugins/noentry.la tests/plugins/nullinit.la tests/plugins/badkey.la tests/plugins/abi10.la
tests_plugins_good_la_SOURCES = tests/plugins/fixture.c
tests_plugins_good_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"good"'
tests_plugins_good_la_LDFLAGS = $(FIXTURE_LDFLAGS)
tests_plugins_future_la_SOURCES = tests/plugins/fixture.c
tests_plugins_future_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"future"' -DVARIANT_future
tests_plugins_future_la_LDFLAGS = $(FIXTURE_LDFLAGS)
tests_plugins_abi2_la_SOURCES = tests/plugins/fixture.c
tests_plugins_abi2_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"abi2"' -DVARIANT_abi2
tests_plugins_abi2_la_LDFLAGS = $(FIXTURE_LDFLAGS)
tests_plugins_smallsize_la_SOURCES = tests/plugins/fixture.c
tests_plugins_smallsize_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"smallsize"' -DVARIANT_smallsize
tests_plugins_smallsize_la_LDFLAGS = $(FIXTURE_LDFLAGS)
tests_plugins_oldminor_la_SOURCES = tests/plugins/fixture.c
tests_plugins_oldminor_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"oldminor"' -DVARIANT_oldminor
tests_plugins_oldminor_la_LDFLAGS = $(FIXTURE_LDFLAGS)
tests_plugins_badname_la_SOURCES = tests/plugins/fixture.c
tests_plugins_badname_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"badname"' -DVARIANT_badname
tests_plugins_badname_la_LDFLAGS = $(FIXTURE_LDFLAGS)
tests_plugins_noname_la_SOURCES = tests/plugins/fixture.c
tests_plugins_noname_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"noname"' -DVARIANT_noname
tests_plugins_noname_la_LDFLAGS = $(FIXTURE_LDFLAGS)
tests_plugins_badthreads_la_SOURCES = tests/plugins/fixture.c
tests_plugins_badthreads_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"badthreads"' -DVARIANT_badthreads
tests_plugins_badthreads_la_LDFLAGS = $(FIXTURE_LDFLAGS)
tests_plugins_smallkeys_la_SOURCES = tests/plugins/fixture.c
tests_plugins_smallkeys_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"smallkeys"' -DVARIANT_smallkeys
tests_plugins_smallkeys_la_LDFLAGS = $(FIXTURE_LDFLAGS)
tests_plugins_noput_la_SOURCES = tests/plugins/fixture.c
tests_plugins_noput_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"noput"' -DVARIANT_noput
tests_plugins_noput_la_LDFLAGS = $(FIXTURE_LDFLAGS)
tests_plugins_noentry_la_SOURCES = tests/plugins/fixture.c
tests_plugins_noentry_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"noentry"' -DVARIANT_noentry
tests_plugins_noentry_la_LDFLAGS = $(FIXTURE_LDFLAGS)
tests_plugins_nullinit_la_SOURCES = tests/plugins/fixture.c
tests_plugins_nullinit_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"nullinit"' -DVARIANT_nullinit
tests_plugins_nullinit_la_LDFLAGS = $(FIXTURE_LDFLAGS)
tests_plugins_badkey_la_SOURCES = tests/plugins/fixture.c
tests_plugins_badkey_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"badkey"' -DVARIANT_badkey
tests_plugins_badkey_la_LDFLAGS = $(FIXTURE_LDFLAGS)
tests_plugins_abi10_la_SOURCES = tests/plugins/fixture.c
tests_plugins_abi10_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"abi10"'
tests_plugins_abi10_la_CPPFLAGS = -I$(top_srcdir)/tests/plugins/abi/1.0
tests_plugins_abi10_la_LDFLAGS = $(FIXTURE_LDFLAGS)
EXTRA_DIST += tests/plugins/abi/1.0/releasemanager/backend.h
EXTRA_DIST += tests/plugins/fixture.c

# local backend: Criterion tests.  plugins/local/local.c is compiled into the test
# program and called through rm_backend_init(); loading local.so with dlopen is the
# loader's tests' job.  -Wl,--wrap=write lets a test make write(2) fail (ENOSPC, EDQUOT,
# EIO) inside the backend where no small tmpfs can be mounted; it works under ASan,
# where an LD_PRELOAD shim would have to come after the sanitizer runtime.
# --wrap=fsync,--wrap=syncfs count the flushes (the write barrier's tests) and fail them.
check_PROGRAMS += tests/plugins/test_local
TESTS += tests/plugins/test_local
tests_plugins_test_local_SOURCES = tests/plugins/test_local.c plugins/local/local.c
tests_plugins_test_local_CFLAGS = $(TEST_CFLAGS) $(OPENSSL_CFLAGS)
tests_plugins_test_local_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=write,--wrap=fsync,--wrap=syncfs
tests_plugins_test_local_LDADD = $(CRITERION_LIBS) $(OPENSSL_LIBS) $(PTHREAD_LIBS)

# Tests of the s3 backend plugin (issue 4).  Unit tests are Criterion programs linked
# with the plugin's sources built -DRM_UNITTEST; integration tests start their own
# loopback servers (moto, credential endpoints, a fault-injecting proxy) and skip with
# exit 77 and a reason when a tool they need is missing.
S3_TEST_CFLAGS = $(AM_CFLAGS) -DRM_UNITTEST $(CRITERION_CFLAGS) $(CJSON_CFLAGS) \
	$(CURL_CFLAGS) $(OPENSSL_CFLAGS) $(EXPAT_CFLAGS) -DTOP_SRCDIR='"$(abs_top_srcdir)"'
S3_TEST_LIBS = plugins/s3/libs3test.a $(CRITERION_LIBS) $(CJSON_LIBS) $(CURL_LIBS) \
	$(OPENSSL_LIBS) $(EXPAT_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/plugins/test_s3_sigv4
tests_plugins_test_s3_sigv4_SOURCES = tests/plugins/test_s3_sigv4.c
tests_plugins_test_s3_sigv4_CFLAGS = $(S3_TEST_CFLAGS)
tests_plugins_test_s3_sigv4_LDADD = $(S3_TEST_LIBS)
TESTS += tests/plugins/test_s3_sigv4

check_PROGRAMS += tests/plugins/test_s3_xml
tests_plugins_test_s3_xml_SOURCES = tests/plugins/test_s3_xml.c
tests_plugins_test_s3_xml_CFLAGS = $(S3_TEST_CFLAGS)
tests_plugins_test_s3_xml_LDADD = $(S3_TEST_LIBS)
TESTS += tests/plugins/test_s3_xml

EXTRA_DIST += tests/data/sigv4 tests/data/s3xml tests/plugins/s3/PROVENANCE tests/plugins/s3/moto_s3.py \
	tests/plugins/s3/s3env.py tests/plugins/test_s3_moto.py

# Integration against moto (tests/plugins/test_s3_moto.py runs tests/plugins/test_s3_plugin and
# tests/plugins/s3/s3tool; neither is a TESTS entry of its own).
check_PROGRAMS += tests/plugins/test_s3_plugin tests/plugins/s3/s3tool
tests_plugins_test_s3_plugin_SOURCES = tests/plugins/test_s3_plugin.c tests/plugins/s3/harness.h
tests_plugins_test_s3_plugin_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_plugins_test_s3_plugin_LDADD = $(CRITERION_LIBS) $(DL_LIBS) $(PTHREAD_LIBS)
tests_plugins_s3_s3tool_SOURCES = tests/plugins/s3/s3tool.c tests/plugins/s3/harness.h
tests_plugins_s3_s3tool_CFLAGS = $(AM_CFLAGS)
tests_plugins_s3_s3tool_LDADD = $(DL_LIBS) $(PTHREAD_LIBS)
TESTS += tests/plugins/test_s3_moto.py

check_PROGRAMS += tests/plugins/test_s3_errmap
tests_plugins_test_s3_errmap_SOURCES = tests/plugins/test_s3_errmap.c
tests_plugins_test_s3_errmap_CFLAGS = $(S3_TEST_CFLAGS)
tests_plugins_test_s3_errmap_LDADD = $(S3_TEST_LIBS)
TESTS += tests/plugins/test_s3_errmap

# Credential chain against loopback STS/ECS/IMDS servers (tests/plugins/test_s3_creds.py).
check_PROGRAMS += tests/plugins/test_s3_creds
tests_plugins_test_s3_creds_SOURCES = tests/plugins/test_s3_creds.c
tests_plugins_test_s3_creds_CFLAGS = $(S3_TEST_CFLAGS)
tests_plugins_test_s3_creds_LDADD = $(S3_TEST_LIBS)
TESTS += tests/plugins/test_s3_creds.py
EXTRA_DIST += tests/plugins/test_s3_creds.py tests/plugins/s3/credservers.py

# Fault injection through tests/plugins/s3/faultproxy.py (503, 500, dropped connections, cut and
# corrupted bodies, stalls), checked directly on moto.
TESTS += tests/plugins/test_s3_faults.py
EXTRA_DIST += tests/plugins/test_s3_faults.py tests/plugins/s3/faultproxy.py
EXTRA_DIST += bench/s3-put.sh

# faulty: wraps another plugin and fails chosen calls (tests/faults/, e2e tests).
check_LTLIBRARIES += tests/plugins/faulty.la
tests_plugins_faulty_la_SOURCES = tests/plugins/faulty/faulty.c
tests_plugins_faulty_la_LDFLAGS = $(FIXTURE_LDFLAGS)
tests_plugins_faulty_la_LIBADD = -ldl -lpthread

# A complete in-memory backend (tests/plugins/memstore.c) for the ABI compatibility
# tests (tests/plugins/test_abi_compat.sh): mem10 built against the frozen 1.0 header,
# mem11 and memcareless (ignores RM_OPEN_READONLY) against today's; memfile and
# memfilecareless keep their store in the file named by a "path" key.
check_LTLIBRARIES += tests/plugins/mem10.la tests/plugins/mem11.la tests/plugins/memcareless.la
tests_plugins_mem10_la_SOURCES = tests/plugins/memstore.c
tests_plugins_mem10_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"mem10"'
tests_plugins_mem10_la_CPPFLAGS = -I$(top_srcdir)/tests/plugins/abi/1.0
tests_plugins_mem10_la_LDFLAGS = $(FIXTURE_LDFLAGS)
tests_plugins_mem11_la_SOURCES = tests/plugins/memstore.c
tests_plugins_mem11_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"mem11"'
tests_plugins_mem11_la_LDFLAGS = $(FIXTURE_LDFLAGS)
tests_plugins_memcareless_la_SOURCES = tests/plugins/memstore.c
tests_plugins_memcareless_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"memcareless"' -DVARIANT_careless
tests_plugins_memcareless_la_LDFLAGS = $(FIXTURE_LDFLAGS)
check_LTLIBRARIES += tests/plugins/memfile.la tests/plugins/memfilecareless.la
tests_plugins_memfile_la_SOURCES = tests/plugins/memstore.c
tests_plugins_memfile_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"memfile"' -DVARIANT_file
tests_plugins_memfile_la_LDFLAGS = $(FIXTURE_LDFLAGS)
tests_plugins_memfilecareless_la_SOURCES = tests/plugins/memstore.c
tests_plugins_memfilecareless_la_CFLAGS = $(AM_CFLAGS) -DFIXTURE_NAME='"memfilecareless"' -DVARIANT_file -DVARIANT_careless
tests_plugins_memfilecareless_la_LDFLAGS = $(FIXTURE_LDFLAGS)

# A host that knows only ABI 1.0 driving today's local.so (tests/plugins/host10.c).
check_PROGRAMS += tests/plugins/host10
tests_plugins_host10_SOURCES = tests/plugins/host10.c
tests_plugins_host10_CPPFLAGS = -I$(top_srcdir)/tests/plugins/abi/1.0
tests_plugins_host10_LDADD = $(DL_LIBS)

TESTS += tests/plugins/test_abi_compat.sh
EXTRA_DIST += tests/plugins/test_abi_compat.sh
