# Test harness: Criterion programs and shell/Python scripts run by `make check` under
# automake's parallel harness.  Each component may add its own fragment next to this one
# (included from Makefile.am); this file sets the environment every test sees.
TEST_EXTENSIONS = .sh .py
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
