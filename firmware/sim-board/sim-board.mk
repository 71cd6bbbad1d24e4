# The simulated board (firmware/sim-board): build/sim-board links
# firmware/pyexec/pyexec.c when it exists, build/sim-board-upstream always
# links MicroPython's shared/runtime/pyexec.c. build/sim-board-asan is made
# on demand (tests that need it build it). Each build logs to
# build/obj/<name>.log and shows its tail when it fails.

SIM_BOARD_DIR := $(ROOT)/firmware/sim-board
# sim_board_make OUT [VARIABLES...]
sim_board_make = +$(Q)mkdir -p $(B)/obj && \
	$(MAKE) --no-print-directory -C $(SIM_BOARD_DIR) BUILD_VERBOSE=0 \
		PYTHON=$$(cat $(PYTHON_STAMP)) OUT=$(1) $(2) >$(B)/obj/$(notdir $(1)).log 2>&1 || \
		{ grep -v '^CC \|^GEN \|^mkdir ' $(B)/obj/$(notdir $(1)).log | tail -30; \
		  echo "$(notdir $(1)): build failed, log in build/obj/$(notdir $(1)).log" >&2; exit 1; }

.PHONY: sim-board sim-board-asan
sim-board: $(B)/sim-board $(B)/sim-board-upstream
sim-board-asan: $(B)/sim-board-asan

# The sub-make tracks dependencies (firmware/pyexec included), so it is
# always asked; it does nothing when everything is up to date.
$(B)/sim-board: $(MPY_STAMP) $(PYTHON_STAMP) FORCE
	$(call sim_board_make,$@)

$(B)/sim-board-upstream: $(MPY_STAMP) $(PYTHON_STAMP) FORCE
	$(call sim_board_make,$@,PYEXEC_C=$(MPY)/shared/runtime/pyexec.c)

$(B)/sim-board-asan: $(MPY_STAMP) $(PYTHON_STAMP) FORCE
	$(call sim_board_make,$@,ASAN=1)

ALL_TARGETS += $(B)/sim-board $(B)/sim-board-upstream
DEMO_DEPS += $(B)/sim-board

# Figures (printed, not asserted); part of `make bench`.
.PHONY: bench-sim-board
bench-sim-board: $(B)/sim-board $(B)/sim-board-upstream
	$(Q)tests/sim-board/bench.sh
BENCH_TARGETS += bench-sim-board
