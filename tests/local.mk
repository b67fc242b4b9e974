# Test harness: every test of `make check` runs under automake's parallel harness with the
# environment set here.  The tests live in one directory per kind, each with its own
# fragment (included from Makefile.am after this one): tests/unit/ (Criterion tests of the
# core), tests/plugins/ (backend plugins, loader fixtures, the frozen ABI headers),
# tests/e2e/ (the program against the fake API server and moto), tests/docs/ (manual pages
# and headers), tests/fakekube/ (the fake Kubernetes API server and its own tests).
# tests/README.md is the map.
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

EXTRA_DIST += tests/README.md tests/sanitizer-check.sh tests/testlib.sh scripts/setup-debian.sh
