# mpupload: a streaming REPL transport for MicroPython boards and a fast
# host client. `make demo` shows it, `make test` proves it.

BUILD := build
ROOT := $(CURDIR)
B := $(ROOT)/$(BUILD)

# A MicroPython 1.25 tree of the user's own, else Debian's source package.
MICROPY_DIR ?=
# An mpy-cross binary of the user's own, else built from the tree.
MPY_CROSS ?=

MPY := $(B)/micropython

# Debian's tarball has no .git of its own, and sits inside this repository,
# so MicroPython's version script would name our commit: name the release.
ifeq ($(MICROPY_DIR),)
export MICROPY_GIT_TAG := v1.25.0
export MICROPY_GIT_HASH := <no hash>
endif
Q ?= @
export LC_ALL := C

# Parts append their targets to these lists.
ALL_TARGETS :=
TEST_DEPS :=
BENCH_TARGETS :=
DEMO_DEPS :=

.PHONY: all deps micropython mpy-cross test demo bench clean distclean
all: _all

DEPS_STAMP := $(B)/.deps
deps: $(DEPS_STAMP)
$(DEPS_STAMP): tools/deps.sh
	$(Q)tools/deps.sh $@

# Always re-run: cheap when the tree is in place, and it notices a changed
# MICROPY_DIR.
MPY_STAMP := $(B)/.micropython
micropython: $(MPY_STAMP)
$(MPY_STAMP): $(DEPS_STAMP) FORCE
	$(Q)tools/fetch-micropython.sh $(BUILD) $(MICROPY_DIR)
	$(Q)readlink -f $(MPY) > $@.new
	$(Q)if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

PYTHON_STAMP := $(B)/python
$(PYTHON_STAMP): $(DEPS_STAMP)
	$(Q)tools/find-python.sh > $@.new && mv $@.new $@

# mpy-cross: the user's, or built out of tree from the MicroPython source.
ifeq ($(MPY_CROSS),)
MPY_CROSS_BIN := $(B)/mpy-cross
$(MPY_CROSS_BIN): $(MPY_STAMP) $(PYTHON_STAMP)
	$(Q)$(MAKE) -s -C $(MPY)/mpy-cross BUILD=$(B)/obj/mpy-cross \
		PYTHON=$$(cat $(PYTHON_STAMP)) >$(B)/mpy-cross.log 2>&1 || \
		{ tail -20 $(B)/mpy-cross.log; exit 1; }
	$(Q)cp $(B)/obj/mpy-cross/mpy-cross $@.new && mv $@.new $@
else
MPY_CROSS_BIN := $(B)/mpy-cross
$(MPY_CROSS_BIN): FORCE
	$(Q)test -x "$(MPY_CROSS)" || { echo "MPY_CROSS=$(MPY_CROSS): not an executable" >&2; exit 1; }
	$(Q)ln -sfn "$(abspath $(MPY_CROSS))" $@
endif
mpy-cross: $(MPY_CROSS_BIN)
ALL_TARGETS += $(MPY_CROSS_BIN)

include $(sort $(wildcard firmware/*/*.mk host/*/*.mk tests/*.mk))

_all: $(ALL_TARGETS)

# The README's test command: builds everything, runs every test and ends
# with "N passed, N failed".
test: _all $(TEST_DEPS)
	$(Q)tests/run

demo: _all $(DEMO_DEPS)
	$(Q)tests/demo.sh

bench: _all $(BENCH_TARGETS)

clean:
	rm -rf $(BUILD)/obj $(BUILD)/tests

distclean:
	rm -rf $(BUILD)

FORCE:
