# The simulated board (firmware/sim-board): build/sim-board links
# firmware/pyexec/pyexec.c when it exists, build/sim-board-upstream always
# links MicroPython's shared/runtime/pyexec.c. build/sim-board-asan is made
# on demand (tests that need it build it).

SIM_BOARD_DIR := $(ROOT)/firmware/sim-board
SIM_BOARD_SRCS := $(wildcard $(SIM_BOARD_DIR)/*.c $(SIM_BOARD_DIR)/*.h $(SIM_BOARD_DIR)/Makefile)
SIM_BOARD_MAKE = $(MAKE) -s --no-print-directory -C $(SIM_BOARD_DIR) PYTHON=$$(cat $(PYTHON_STAMP))

.PHONY: sim-board sim-board-asan
sim-board: $(B)/sim-board $(B)/sim-board-upstream
sim-board-asan: $(B)/sim-board-asan

# The sub-make tracks dependencies (firmware/pyexec included), so it is
# always asked; it does nothing when everything is up to date.
$(B)/sim-board: $(MPY_STAMP) $(PYTHON_STAMP) FORCE
	+$(Q)$(SIM_BOARD_MAKE) OUT=$@

$(B)/sim-board-upstream: $(MPY_STAMP) $(PYTHON_STAMP) FORCE
	+$(Q)$(SIM_BOARD_MAKE) OUT=$@ PYEXEC_C=$(MPY)/shared/runtime/pyexec.c

$(B)/sim-board-asan: $(MPY_STAMP) $(PYTHON_STAMP) FORCE
	+$(Q)$(SIM_BOARD_MAKE) OUT=$@ ASAN=1

ALL_TARGETS += $(B)/sim-board $(B)/sim-board-upstream
DEMO_DEPS += $(B)/sim-board
