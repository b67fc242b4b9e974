# The daemon's groundwork (core/daemon/): the metrics registry and its renderings, the
# daemon's metric names, and the HTTP server on libmicrohttpd; appended to the core library.
libcore_a_SOURCES += \
	%reldir%/metrics.c %reldir%/metrics.h \
	%reldir%/rmmetrics.c %reldir%/rmmetrics.h \
	%reldir%/http.c %reldir%/http.h
libcore_a_CFLAGS += $(MHD_CFLAGS)
CORE_LIBS += $(MHD_LIBS)
CORE_TEST_LIBS += $(MHD_LIBS)
# metrics.c calls floor(): gcc inlines it, clang calls libm.
CORE_LIBS += -lm
CORE_TEST_LIBS += -lm
# The daemon loop (`export --daemon`).
libcore_a_SOURCES += %reldir%/daemon.c %reldir%/daemon.h
