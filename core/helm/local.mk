# The Helm release codec (core/helm/), appended to the core library.
libcore_a_SOURCES += \
	%reldir%/helm.h %reldir%/base64.h \
	%reldir%/jscan.h \
	%reldir%/base64.c %reldir%/gzip.c %reldir%/decode.c %reldir%/encode.c %reldir%/jscan.c
libcore_a_CFLAGS += $(ZLIB_CFLAGS) $(LIBDEFLATE_CFLAGS)
CORE_LIBS += $(ZLIB_LIBS) $(LIBDEFLATE_LIBS)
CORE_TEST_LIBS += $(ZLIB_LIBS) $(LIBDEFLATE_LIBS)
