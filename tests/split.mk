# The statement splitter of firmware/pyexec: its benchmark joins `make bench`
# (its tests build their own binaries; see tests/split/*.test).
.PHONY: bench-split
bench-split: $(MPY_STAMP) $(PYTHON_STAMP)
	$(Q)tests/split/bench.sh
BENCH_TARGETS += bench-split
