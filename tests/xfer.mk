# File transfer (host/mpupload put/get on stock boards): its figures join `make bench`.
.PHONY: bench-xfer
bench-xfer: $(MPU_BIN) $(PYTHON_STAMP) $(MPY_STAMP)
	$(Q)tests/xfer/bench.sh
BENCH_TARGETS += bench-xfer
