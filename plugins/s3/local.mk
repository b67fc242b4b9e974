# s3 backend: placeholder until its issue lands (see issue 4).
