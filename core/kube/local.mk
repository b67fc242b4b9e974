# The Kubernetes client (core/kube/), appended to the core library.
libcore_a_SOURCES += \
	%reldir%/yaml.h %reldir%/yaml.c
