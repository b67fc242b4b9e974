# The Kubernetes client (core/kube/), appended to the core library.
libcore_a_SOURCES += \
	%reldir%/kube.h %reldir%/internal.h \
	%reldir%/common.c %reldir%/kubeconfig.c %reldir%/incluster.c \
	%reldir%/exec.c %reldir%/auth.c %reldir%/http.c %reldir%/api.c %reldir%/list.c \
	%reldir%/watch.c %reldir%/lease.c
libcore_a_CFLAGS += $(CURL_CFLAGS)
CORE_LIBS += $(CURL_LIBS)
CORE_TEST_LIBS += $(CURL_LIBS)
