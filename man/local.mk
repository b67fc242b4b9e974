dist_man_MANS += %reldir%/releasemanager-local.1
dist_man_MANS += %reldir%/releasemanager.1
dist_man_MANS += %reldir%/releasemanager-s3.1

# releasemanager-backend(3) shows sdk/example/example.c as it is at build time, never a
# pasted copy: the page's source has an @EXAMPLE_C@ line where the roff-escaped example goes.
man_MANS += %reldir%/releasemanager-backend.3
EXTRA_DIST += %reldir%/releasemanager-backend.3.in %reldir%/roff-listing.sed
CLEANFILES += %reldir%/releasemanager-backend.3
%reldir%/releasemanager-backend.3: $(srcdir)/%reldir%/releasemanager-backend.3.in \
		$(srcdir)/sdk/example/example.c $(srcdir)/%reldir%/roff-listing.sed
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	sed -f $(srcdir)/%reldir%/roff-listing.sed $(srcdir)/sdk/example/example.c > $@.listing && \
	sed -e '/^@EXAMPLE_C@$$/{' -e 'r $@.listing' -e 'd' -e '}' \
		$(srcdir)/%reldir%/releasemanager-backend.3.in > $@.tmp && \
	rm -f $@.listing && mv $@.tmp $@
