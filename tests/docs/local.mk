# Documentation tests: code in releasemanager-backend(3) compiles and its example is
# sdk/example/example.c (test_docs.sh), plugin keys match their man pages' PARAMETERS,
# every global option is documented in releasemanager(1) and README.md, every RM_E_* code
# is documented and the SDK header compiles on its own (test_header.sh), and sdk/example/
# builds against a staged install and loads (test_sdk_example.sh).
TESTS += tests/docs/test_docs.sh tests/docs/test_header.sh tests/docs/test_sdk_example.sh
EXTRA_DIST += tests/docs/test_docs.sh tests/docs/test_header.sh tests/docs/test_sdk_example.sh

# One-way layers (issue 10): calls and includes between files, from the built objects
# (nm) and the #include lines: no circles, no use of a higher layer by a lower one.
TESTS += tests/docs/test_layers.sh
EXTRA_DIST += tests/docs/test_layers.sh

# One source of truth (issue 17): the installed releasemanager-backend(3)'s REFERENCE is the
# installed backend.h, installed documents refer only to installed files, and README's
# "Writing a backend" code comes from sdk/example/example.c.
TESTS += tests/docs/test_man_reference.sh
EXTRA_DIST += tests/docs/test_man_reference.sh
