# The base layer (core/base/): generic helpers every other core module may use and that
# include nothing above them: allocation and strings, logging, base64, capped gzip, the
# YAML-to-cJSON reader, the validating JSON scanner, SHA-256 hex and the error convention.
libcore_a_SOURCES += \
	%reldir%/util.c %reldir%/util.h \
	%reldir%/log.c %reldir%/log.h \
	%reldir%/base64.c %reldir%/base64.h \
	%reldir%/gzip.c %reldir%/gzip.h \
	%reldir%/yamljson.c %reldir%/yamljson.h \
	%reldir%/jscan.c %reldir%/jscan.h \
	%reldir%/sha256.c %reldir%/sha256.h \
	%reldir%/duration.c %reldir%/duration.h \
	%reldir%/seal.c %reldir%/seal.h \
	%reldir%/error.c %reldir%/error.h
libcore_a_CFLAGS += $(ZLIB_CFLAGS) $(LIBDEFLATE_CFLAGS)
CORE_LIBS += $(ZLIB_LIBS) $(LIBDEFLATE_LIBS)
CORE_TEST_LIBS += $(ZLIB_LIBS) $(LIBDEFLATE_LIBS)
# The unified line diff of `diff --manifests`.
libcore_a_SOURCES += %reldir%/linediff.c %reldir%/linediff.h
