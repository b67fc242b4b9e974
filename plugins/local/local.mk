# local backend: a directory on a filesystem.
plugin_LTLIBRARIES += plugins/local/local.la
plugins_local_local_la_SOURCES = %reldir%/local.c
plugins_local_local_la_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS) -fvisibility=hidden
plugins_local_local_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_local_local_la_LIBADD = $(OPENSSL_LIBS)
plugins_local_local_la_LIBADD += $(PTHREAD_LIBS)
