# Fuzzing (issue 11): one libFuzzer target per parser, fuzz/fuzz_NAME.c, see fuzz/README.md.
#
# `make fuzz` builds every target with clang -fsanitize=fuzzer,address,undefined in
# fuzz-build/ (fuzz/fuzz.mk, a separate make so the normal build never needs libFuzzer)
# and runs each for FUZZ_TIME seconds from fuzz/corpus/NAME/.
#
# `make check` builds the same targets with the normal compiler and fuzz/standalone.c
# as main, and runs them over fuzz/regress/NAME/ (every crash found, minimised) and
# fuzz/corpus/NAME/ (fuzz/test_regress.sh).
FUZZ_TARGETS = jscan yamljson helm kubeconfig manifest index conffile s3xml sigv4
FUZZ_CORE_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/fuzz $(CJSON_CFLAGS) $(YAML_CFLAGS)
FUZZ_S3_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/fuzz -I$(top_srcdir)/plugins/s3 $(S3_PLUGIN_CFLAGS)
FUZZ_MAIN = fuzz/standalone.c fuzz/fuzz_common.c fuzz/fuzz.h

check_PROGRAMS += fuzz/regress-jscan fuzz/regress-yamljson fuzz/regress-helm \
	fuzz/regress-kubeconfig fuzz/regress-manifest fuzz/regress-index \
	fuzz/regress-conffile fuzz/regress-s3xml fuzz/regress-sigv4
fuzz_regress_jscan_SOURCES = fuzz/fuzz_jscan.c $(FUZZ_MAIN)
fuzz_regress_jscan_CFLAGS = $(FUZZ_CORE_CFLAGS)
fuzz_regress_jscan_LDADD = $(CORE_LIBS)
fuzz_regress_yamljson_SOURCES = fuzz/fuzz_yamljson.c $(FUZZ_MAIN)
fuzz_regress_yamljson_CFLAGS = $(FUZZ_CORE_CFLAGS)
fuzz_regress_yamljson_LDADD = $(CORE_LIBS)
fuzz_regress_helm_SOURCES = fuzz/fuzz_helm.c $(FUZZ_MAIN)
fuzz_regress_helm_CFLAGS = $(FUZZ_CORE_CFLAGS)
fuzz_regress_helm_LDADD = $(CORE_LIBS)
fuzz_regress_kubeconfig_SOURCES = fuzz/fuzz_kubeconfig.c fuzz/fuzz_file.c fuzz/fuzz_file.h \
	$(FUZZ_MAIN)
fuzz_regress_kubeconfig_CFLAGS = $(FUZZ_CORE_CFLAGS)
fuzz_regress_kubeconfig_LDADD = $(CORE_LIBS)
fuzz_regress_manifest_SOURCES = fuzz/fuzz_manifest.c $(FUZZ_MAIN)
fuzz_regress_manifest_CFLAGS = $(FUZZ_CORE_CFLAGS)
fuzz_regress_manifest_LDADD = $(CORE_LIBS)
fuzz_regress_index_SOURCES = fuzz/fuzz_index.c $(FUZZ_MAIN)
fuzz_regress_index_CFLAGS = $(FUZZ_CORE_CFLAGS)
fuzz_regress_index_LDADD = $(CORE_LIBS)
fuzz_regress_conffile_SOURCES = fuzz/fuzz_conffile.c fuzz/fuzz_file.c fuzz/fuzz_file.h \
	$(FUZZ_MAIN)
fuzz_regress_conffile_CFLAGS = $(FUZZ_CORE_CFLAGS)
fuzz_regress_conffile_LDADD = $(CORE_LIBS)
fuzz_regress_s3xml_SOURCES = fuzz/fuzz_s3xml.c plugins/s3/s3xml.c plugins/s3/s3util.c \
	$(FUZZ_MAIN)
fuzz_regress_s3xml_CFLAGS = $(FUZZ_S3_CFLAGS)
fuzz_regress_s3xml_LDADD = $(S3_PLUGIN_LIBS)
fuzz_regress_sigv4_SOURCES = fuzz/fuzz_sigv4.c plugins/s3/sigv4.c plugins/s3/s3util.c \
	$(FUZZ_MAIN)
fuzz_regress_sigv4_CFLAGS = $(FUZZ_S3_CFLAGS)
fuzz_regress_sigv4_LDADD = $(S3_PLUGIN_LIBS)

TESTS += fuzz/test_regress.sh
EXTRA_DIST += fuzz/test_regress.sh fuzz/make-seeds.py fuzz/run.sh fuzz/fuzz.mk fuzz/README.md fuzz/corpus fuzz/regress \
	fuzz/dict

# The libFuzzer build and run (needs clang and its libFuzzer runtime: on Debian 12,
# clang and libclang-rt-14-dev).  FUZZ_TIME: seconds per target; FUZZ_CC: the compiler.
FUZZ_TIME = 60
FUZZ_CC = clang
fuzz:
	$(MAKE) -f $(top_srcdir)/fuzz/fuzz.mk srcdir='$(top_srcdir)' out=fuzz-build \
	  CC='$(FUZZ_CC)' TARGETS='$(FUZZ_TARGETS)' \
	  CORE_SRCS='$(filter %.c,$(libcore_a_SOURCES))' \
	  S3_SRCS='plugins/s3/s3xml.c plugins/s3/sigv4.c plugins/s3/s3util.c' \
	  DEP_CFLAGS='$(CJSON_CFLAGS) $(YAML_CFLAGS) $(OPENSSL_CFLAGS) $(ZLIB_CFLAGS) $(LIBDEFLATE_CFLAGS) $(CURL_CFLAGS) $(EXPAT_CFLAGS)' \
	  CORE_DEP_LIBS='$(filter-out libcore.a,$(CORE_LIBS))' \
	  S3_DEP_LIBS='$(S3_PLUGIN_LIBS)'
	$(SHELL) $(top_srcdir)/fuzz/run.sh '$(top_srcdir)' fuzz-build '$(FUZZ_TIME)' $(FUZZ_TARGETS)
.PHONY: fuzz
clean-local: clean-fuzz
clean-fuzz:
	rm -rf fuzz-build
.PHONY: clean-fuzz
