# Documentation tests: code in releasemanager-backend(3) compiles and matches
# sdk/example/example.c, plugin keys match their man pages' PARAMETERS, and every
# global option is documented in releasemanager(1) and README.md.
TESTS += tests/docs.sh
EXTRA_DIST += tests/docs.sh
