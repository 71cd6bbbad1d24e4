# firmware/pyexec: the streaming pyexec.c is built into build/sim-board and
# build/qemu/firmware.elf by their own makefiles. Here: its benchmark.

# make bench-device: new vs upstream transport on build/sim-board --heap 256K,
# 100 KB, 1 MB and 4 MB flat and structured scripts; a Markdown table in
# build/bench/device.md.
BENCH_DEVICE_MD := $(B)/bench/device.md
.PHONY: bench-device
bench-device: $(B)/sim-board $(B)/sim-board-upstream $(PYTHON_STAMP)
	$(Q)$$(cat $(PYTHON_STAMP)) tests/pyexec/bench_device.py $(B) $(BENCH_DEVICE_MD)
BENCH_TARGETS += bench-device
