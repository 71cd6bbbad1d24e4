# The transfer benchmark (tests/bench/xfer.sh): `make bench-xfer`, part of
# `make bench`. Prints its tables and writes build/bench/transfer.md,
# transfer.png (gnuplot) and transfer.tsv; nothing is asserted.
# BENCH_QUICK=1 gives the tiny run that tests/bench/smoke.test checks.
.PHONY: bench-xfer
bench-xfer: $(MPU_BIN) $(B)/sim-board $(B)/sim-board-upstream $(PYTHON_STAMP) $(MPY_STAMP) $(DEPS_STAMP)
	$(Q)tests/bench/xfer.sh
BENCH_TARGETS += bench-xfer
