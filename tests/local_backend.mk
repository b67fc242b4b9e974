# local backend: Criterion tests.  plugins/local/local.c is compiled into the test
# program and called through rm_backend_init(); loading local.so with dlopen is the
# loader's tests' job.  -Wl,--wrap=write lets a test make write(2) fail (ENOSPC, EDQUOT,
# EIO) inside the backend where no small tmpfs can be mounted; it works under ASan,
# where an LD_PRELOAD shim would have to come after the sanitizer runtime.
check_PROGRAMS += %reldir%/test_local
TESTS += %reldir%/test_local
%canon_reldir%_test_local_SOURCES = %reldir%/test_local.c plugins/local/local.c
%canon_reldir%_test_local_CFLAGS = $(TEST_CFLAGS) $(OPENSSL_CFLAGS)
%canon_reldir%_test_local_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=write
%canon_reldir%_test_local_LDADD = $(CRITERION_LIBS) $(OPENSSL_LIBS) $(PTHREAD_LIBS)
