# tests/fuzz-device: a libFuzzer target for the device's input state machine,
# firmware/pyexec on the simulated board's core fed the fuzzed input a byte
# at a time (tests/fuzz-device/fuzz_device.c, built by its Makefile with
# clang, ASan and UBSan). A short run is tests/fuzz-device/device.test;
# `make fuzz` runs it FUZZ_SECONDS (600) after fuzz-host's and keeps its
# corpus in build/fuzz-device/corpus (tests/fuzz-device/run.sh). Run it as any
# libFuzzer binary:
#   build/fuzz-device/fuzz_device -max_total_time=60 CORPUS_DIR
# FUZZ_DEVICE_ECHO=1 shows the board's output on stderr. The build logs to
# build/obj/fuzz-device.log.

FUZZ_DEVICE_BIN := $(B)/fuzz-device/fuzz_device
ALL_TARGETS += $(FUZZ_DEVICE_BIN)

# The sub-make tracks dependencies (firmware/pyexec included), so it is
# always asked.
$(FUZZ_DEVICE_BIN): $(MPY_STAMP) $(PYTHON_STAMP) FORCE
	+$(Q)mkdir -p $(B)/obj && \
	$(MAKE) --no-print-directory -C $(ROOT)/tests/fuzz-device BUILD_VERBOSE=0 \
		PYTHON=$$(cat $(PYTHON_STAMP)) OUT=$@ >$(B)/obj/fuzz-device.log 2>&1 || \
		{ grep -v '^CC \|^GEN \|^mkdir ' $(B)/obj/fuzz-device.log | tail -30; \
		  echo "fuzz_device: build failed, log in build/obj/fuzz-device.log" >&2; exit 1; }
