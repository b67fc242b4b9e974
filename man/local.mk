dist_man_MANS += %reldir%/releasemanager-local.1
dist_man_MANS += %reldir%/releasemanager.1
dist_man_MANS += %reldir%/releasemanager-s3.1

# releasemanager-backend(3) is generated, never pasted: its source has an @BACKEND_H@ line
# where the SDK header goes as the REFERENCE section (man/header-reference.awk: comments
# as text, code as listings), and @EXAMPLE_C@ and @EXAMPLE_MAKEFILE@ lines where the
# roff-escaped sdk/example/example.c and Makefile go (man/roff-listing.sed).
man_MANS += %reldir%/releasemanager-backend.3
EXTRA_DIST += %reldir%/releasemanager-backend.3.in %reldir%/roff-listing.sed \
	%reldir%/header-reference.awk
CLEANFILES += %reldir%/releasemanager-backend.3
%reldir%/releasemanager-backend.3: $(srcdir)/%reldir%/releasemanager-backend.3.in \
		$(srcdir)/sdk/include/releasemanager/backend.h \
		$(srcdir)/sdk/example/example.c $(srcdir)/sdk/example/Makefile \
		$(srcdir)/%reldir%/roff-listing.sed $(srcdir)/%reldir%/header-reference.awk
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	$(AWK) -f $(srcdir)/%reldir%/header-reference.awk \
		$(srcdir)/sdk/include/releasemanager/backend.h > $@.ref && \
	sed -f $(srcdir)/%reldir%/roff-listing.sed $(srcdir)/sdk/example/example.c > $@.c && \
	sed -f $(srcdir)/%reldir%/roff-listing.sed $(srcdir)/sdk/example/Makefile > $@.mk && \
	sed -e '/^@BACKEND_H@$$/{' -e 'r $@.ref' -e 'd' -e '}' \
	    -e '/^@EXAMPLE_C@$$/{' -e 'r $@.c' -e 'd' -e '}' \
	    -e '/^@EXAMPLE_MAKEFILE@$$/{' -e 'r $@.mk' -e 'd' -e '}' \
		$(srcdir)/%reldir%/releasemanager-backend.3.in > $@.tmp && \
	rm -f $@.ref $@.c $@.mk && mv $@.tmp $@
