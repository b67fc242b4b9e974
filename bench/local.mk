# The benchmarks (bench/README in bench/RESULTS.md) ship in the tarball with their results,
# so that a packager can rerun them; they are not built or run by `make check`.
EXTRA_DIST += RELIABILITY.md bench/RESULTS.md \
	bench/export.sh bench/export_bench.py bench/fakekube.py \
	bench/list_floor.py bench/scale.sh bench/scale_bench.py \
	bench/local-barrier.sh bench/local_barrier.c bench/local_sync_strategies.c \
	bench/daemon.sh bench/daemon_bench.py bench/snapshots_bench.py
EXTRA_DIST += bench/diff.sh bench/diff_bench.py
