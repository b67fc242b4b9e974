# The releasemanager program.  The core is a non-installed static library linked into
# both the program and the Criterion tests (tests reach file-private helpers through
# the UNITTEST macro, see core/util.h).
noinst_LIBRARIES += libcore.a
libcore_a_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS) $(YAML_CFLAGS) $(OPENSSL_CFLAGS)
libcore_a_SOURCES = \
	%reldir%/conffile.c %reldir%/conffile.h \
	%reldir%/plugin.c %reldir%/plugin.h \
	%reldir%/backend_wrap.c %reldir%/backend_wrap.h \
	%reldir%/cli.c %reldir%/cli.h \
	%reldir%/conformance.c %reldir%/conformance.h \
	%reldir%/cmd_backends.c %reldir%/commands.h \
	%reldir%/cmd_clear.c %reldir%/cmd_list.c %reldir%/cmd_export.c \
	%reldir%/store/store.c %reldir%/store/store.h \
	%reldir%/store/index.c \
	%reldir%/cmd_import.c %reldir%/import/import.h %reldir%/import/manifest.c \
	%reldir%/import/discovery.c %reldir%/import/apply.c %reldir%/import/hooks.c \
	%reldir%/import/records.c %reldir%/import/values.c %reldir%/import/release.c
libcore_a_SOURCES += %reldir%/store/legacy.c %reldir%/store/legacy.h \
	%reldir%/import/run.c %reldir%/import/engine.c %reldir%/import/describe.c
libcore_a_SOURCES += %reldir%/import/lock.c

libcore_a_SOURCES += %reldir%/import/convert.c %reldir%/import/convert.h

CORE_LIBS = libcore.a $(CJSON_LIBS) $(YAML_LIBS) $(OPENSSL_LIBS) $(DL_LIBS) $(PTHREAD_LIBS)

bin_PROGRAMS += releasemanager
releasemanager_SOURCES = %reldir%/main.c
releasemanager_CFLAGS = $(AM_CFLAGS) $(CJSON_CFLAGS) $(YAML_CFLAGS)
releasemanager_LDADD = $(CORE_LIBS)

# The same sources built with -DRM_UNITTEST, for the Criterion tests.
check_LIBRARIES += libcoretest.a
libcoretest_a_CFLAGS = $(libcore_a_CFLAGS) -DRM_UNITTEST
libcoretest_a_SOURCES = $(libcore_a_SOURCES)
CORE_TEST_LIBS = libcoretest.a $(CJSON_LIBS) $(YAML_LIBS) $(OPENSSL_LIBS) $(DL_LIBS) $(PTHREAD_LIBS)

# The snapshot protocol (store/) and the export engine (export/).
libcore_a_SOURCES += %reldir%/store/snapshot.c %reldir%/store/snapshot.h \
	%reldir%/export/export.h %reldir%/export/internal.h %reldir%/export/items.c %reldir%/export/plan.c \
	%reldir%/export/record.c %reldir%/export/fetch.c %reldir%/export/engine.c \
	%reldir%/export/incremental.c

# One writer per store: the lease in lock.json (store/lock.c).
libcore_a_SOURCES += %reldir%/store/lock.c %reldir%/store/lock.h
# Client-side encryption (issue 15): the store marker and the key check, and `rekey`.
libcore_a_SOURCES += %reldir%/store/crypt.c %reldir%/store/crypt.h %reldir%/cmd_encrypt.c
libcore_a_SOURCES += %reldir%/store/rekey.c
# Point-in-time snapshots and retention (issue 15): store/history.c, and `prune`.
libcore_a_SOURCES += %reldir%/store/history.c %reldir%/store/history.h %reldir%/cmd_prune.c \
	%reldir%/cmd_retention.c
# `verify`: the snapshot checked against its index (store/verify.c), and the verb.
libcore_a_SOURCES += %reldir%/store/verify.c %reldir%/store/verify.h %reldir%/cmd_verify.c
# Verbs that describe the command line itself (issue 12): `completion` and `docs`, and the
# backend plugins found, for both.
libcore_a_SOURCES += %reldir%/cmd_completion.c %reldir%/cmd_docs.c %reldir%/cmd_plugins.c
# `diff` (issue 15): a snapshot against the cluster or another snapshot.
libcore_a_SOURCES += %reldir%/diff/diff.c %reldir%/diff/diff.h %reldir%/cmd_diff.c
