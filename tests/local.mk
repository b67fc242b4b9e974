# Test harness: Criterion programs and shell/Python scripts run by `make check` under
# automake's parallel harness.  Each component may add its own fragment next to this one
# (included from Makefile.am); this file sets the environment every test sees.
TEST_EXTENSIONS = .sh .py
# Criterion programs (no extension) run through a wrapper that fails on sanitizer reports.
LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/sanitizer-check.sh
SH_LOG_COMPILER = $(SHELL)
PY_LOG_COMPILER = $(PYTHON3)

# Every test gets absolute paths to the build, the program and the in-tree plugins,
# and never picks up plugins or configuration from the machine it runs on.
AM_TESTS_ENVIRONMENT = \
	export abs_top_builddir='$(abs_top_builddir)' abs_top_srcdir='$(abs_top_srcdir)'; \
	export RM_BIN='$(abs_top_builddir)/releasemanager'; \
	export RM_PLUGIN_BUILD_DIRS='$(abs_top_builddir)/plugins/local/.libs:$(abs_top_builddir)/plugins/s3/.libs'; \
	export MAKE='$(MAKE)' CC='$(CC)' PYTHON3='$(PYTHON3)'; \
	export RM_SANITIZERS='$(enable_sanitizers)'; \
	export ASAN_OPTIONS='detect_leaks=1:abort_on_error=0:exitcode=86'; \
	export UBSAN_OPTIONS='print_stacktrace=1:halt_on_error=1'; \
	unset RELEASEMANAGER_CONFIG RELEASEMANAGER_PLUGIN_PATH RELEASEMANAGER_BACKEND RELEASEMANAGER_PATH; \
	export XDG_CONFIG_HOME='$(abs_top_builddir)/tests/tmp-xdg';

# Criterion tests link the core library and may call UNITTEST helpers.
TEST_CFLAGS = $(AM_CFLAGS) -DRM_UNITTEST $(CRITERION_CFLAGS) $(CJSON_CFLAGS) $(YAML_CFLAGS) $(OPENSSL_CFLAGS)
TEST_LIBS = $(CRITERION_LIBS) $(CORE_TEST_LIBS)

# Fixture plugins for the loader failure matrix (tests/test_plugin.c): one source,
# one variant per file.  abi10 is built against the frozen ABI 1.0 header in tests/abi/.
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
tests_plugins_abi10_la_CPPFLAGS = -I$(top_srcdir)/tests/abi/1.0
tests_plugins_abi10_la_LDFLAGS = $(FIXTURE_LDFLAGS)
EXTRA_DIST += tests/abi/1.0/releasemanager/backend.h

check_PROGRAMS += tests/test_plugin tests/test_cli
TESTS += tests/test_plugin tests/test_cli tests/cli.sh tests/sdk_example.sh tests/header.sh
EXTRA_DIST += scripts/setup-debian.sh tests/sanitizer-check.sh
EXTRA_DIST += tests/cli.sh tests/sdk_example.sh tests/header.sh tests/testlib.sh tests/plugins/fixture.c
tests_test_plugin_SOURCES = tests/test_plugin.c
tests_test_plugin_CFLAGS = $(TEST_CFLAGS)
tests_test_plugin_LDADD = $(TEST_LIBS)
tests_test_plugin_DEPENDENCIES = libcoretest.a $(check_LTLIBRARIES)
tests_test_cli_SOURCES = tests/test_cli.c
tests_test_cli_CFLAGS = $(TEST_CFLAGS)
tests_test_cli_LDADD = $(TEST_LIBS)

check_PROGRAMS += tests/test_store
TESTS += tests/test_store
tests_test_store_SOURCES = tests/test_store.c
tests_test_store_CFLAGS = $(TEST_CFLAGS)
tests_test_store_LDADD = $(TEST_LIBS)
tests_test_store_DEPENDENCIES = libcoretest.a plugins/local/local.la

# One-way layers (issue 10): calls and includes between files, from the built objects.
TESTS += tests/layers.sh
EXTRA_DIST += tests/layers.sh
EXTRA_DIST += tests/data/store/index-0.1.json bench/memory.sh bench/memory_bench.py
