# The SDK: the ABI header, its pkg-config file and linker version script.
rmincludedir = $(includedir)/releasemanager
rminclude_HEADERS = %reldir%/include/releasemanager/backend.h

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = %reldir%/releasemanager-backend.pc

sdkdatadir = $(datadir)/releasemanager
sdkdata_DATA = %reldir%/backend.sym

EXTRA_DIST += %reldir%/example/example.c %reldir%/example/Makefile
DISTCLEANFILES += %reldir%/releasemanager-backend.pc
