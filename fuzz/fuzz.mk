# The libFuzzer build, run by `make fuzz` (fuzz/local.mk passes srcdir, out, CC, TARGETS,
# the source lists and the flags configure found).  GNU make; a separate file so the
# normal build never needs clang or its libFuzzer runtime.  Objects are instrumented
# for coverage (fuzzer-no-link) and built with ASan and UBSan, float-cast-overflow
# included (GCC's `undefined` leaves it out), every report fatal.
SAN = -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all
CFLAGS_FUZZ = -std=gnu11 -g -O1 -fno-omit-frame-pointer $(SAN) -fsanitize=fuzzer-no-link \
	-Wall -Wno-unused-command-line-argument \
	-I. -I$(srcdir)/sdk/include -I$(srcdir)/core -I$(srcdir)/fuzz -I$(srcdir)/plugins/s3 \
	-DPLUGINDIR='"/nonexistent"' -DSYSCONFDIR='"/nonexistent"' $(DEP_CFLAGS)
LDFLAGS_FUZZ = -fsanitize=fuzzer $(SAN)

obj = $(out)/obj
core_objs = $(patsubst %.c,$(obj)/%.o,$(CORE_SRCS))
s3_objs = $(patsubst %.c,$(obj)/%.o,$(S3_SRCS))
helpers = $(obj)/fuzz/fuzz_common.o
file_helpers = $(helpers) $(obj)/fuzz/fuzz_file.o

all: $(patsubst %,$(out)/fuzz_%,$(TARGETS))

$(obj)/%.o: $(srcdir)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_FUZZ) -MMD -MP -c $< -o $@

$(out)/libcore-fuzz.a: $(core_objs)
	rm -f $@
	ar rcs $@ $^

$(out)/fuzz_s3xml $(out)/fuzz_sigv4: $(out)/fuzz_%: $(obj)/fuzz/fuzz_%.o $(helpers) $(s3_objs)
	$(CC) $(LDFLAGS_FUZZ) -o $@ $^ $(S3_DEP_LIBS)

$(out)/fuzz_kubeconfig $(out)/fuzz_conffile: $(out)/fuzz_%: $(obj)/fuzz/fuzz_%.o $(file_helpers) \
	  $(out)/libcore-fuzz.a
	$(CC) $(LDFLAGS_FUZZ) -o $@ $^ $(CORE_DEP_LIBS)

$(out)/fuzz_%: $(obj)/fuzz/fuzz_%.o $(helpers) $(out)/libcore-fuzz.a
	$(CC) $(LDFLAGS_FUZZ) -o $@ $^ $(CORE_DEP_LIBS)

-include $(shell test -d $(obj) && find $(obj) -name '*.d')
