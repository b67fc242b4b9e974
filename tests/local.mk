# tests: see tests/README
