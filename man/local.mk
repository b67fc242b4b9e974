dist_man_MANS += %reldir%/releasemanager-local.1
dist_man_MANS += %reldir%/releasemanager.1
dist_man_MANS += %reldir%/releasemanager-backend.3
dist_man_MANS += %reldir%/releasemanager-s3.1
