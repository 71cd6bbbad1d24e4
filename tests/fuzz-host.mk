# tests/fuzz-host: a libFuzzer target for host/mpupload's engine, the board's
# answers as the fuzzed input (tests/fuzz-host/fuzz_engine.c). A short run is
# tests/fuzz-host/engine.test; `make fuzz` runs it FUZZ_SECONDS (600) and
# keeps its corpus in build/fuzz-host/corpus.

FUZZ_HOST_BIN := $(B)/fuzz-host/fuzz_engine
FUZZ_HOST_SRCS := host/mpupload/engine.c host/mpupload/ext.c host/mpupload/err.c
FUZZ_SECONDS ?= 600
ALL_TARGETS += $(FUZZ_HOST_BIN)

$(FUZZ_HOST_BIN): tests/fuzz-host/fuzz_engine.c $(FUZZ_HOST_SRCS) $(wildcard host/mpupload/*.h) tests/fuzz-host.mk $(DEPS_STAMP)
	$(Q)mkdir -p $(dir $@)
	$(Q)clang -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-Ihost/mpupload -Iproto -o $@.tmp tests/fuzz-host/fuzz_engine.c $(FUZZ_HOST_SRCS) && mv $@.tmp $@

# `make fuzz` runs tests/fuzz-device's target as long after it (its corpus in
# build/fuzz-device/corpus).
.PHONY: fuzz
fuzz: $(FUZZ_HOST_BIN) $(FUZZ_DEVICE_BIN) $(MPY_CROSS_BIN) $(PYTHON_STAMP)
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_CORPUS=$(B)/fuzz-host/corpus tests/fuzz-host/run.sh
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_CORPUS=$(B)/fuzz-device/corpus tests/fuzz-device/run.sh
