# The Helm release codec (core/helm/), appended to the core library.
libcore_a_SOURCES += \
	%reldir%/helm.h %reldir%/decode.c %reldir%/encode.c
