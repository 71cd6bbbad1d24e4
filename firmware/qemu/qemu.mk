# The real ARM board: MicroPython's ports/qemu, board MPS2_AN385
# (Cortex-M3), built out of tree with arm-none-eabi-gcc.
#   build/qemu/firmware.elf           firmware/pyexec/pyexec.c if it exists,
#                                     else MicroPython's pyexec.c
#   build/qemu-upstream/firmware.elf  always MicroPython's pyexec.c
# `make qemu-board` runs one on a pty; see firmware/qemu/README.md.
# Both have littlefs v2 (vfs.VfsLfs2), so a test can mount a RAM block
# device and move files; the MPS2 board has no flash of its own.
# lfs-time.h stands in for the clock littlefs wants, mps2-lfs.ld drops the
# unwind table its 64-bit divisions bring along.

QEMU_BOARD := MPS2_AN385
# GC heap in bytes. The MPS2 linker script gives code, data, heap and stack
# one 4 MiB RAM; the port's default is 140 KiB. 2 MiB lets the upstream
# pyexec run scripts of a few hundred KB (it needs ~3.5x the source) and
# leaves over 1.5 MiB for code, data and stack.
QEMU_HEAP ?= 2097152

QEMU_ELF := $(B)/qemu/firmware.elf
QEMU_UPSTREAM_ELF := $(B)/qemu-upstream/firmware.elf
QEMU_PORT_MK := $(ROOT)/firmware/qemu/port.make
QEMU_CFLAGS := -include $(ROOT)/firmware/qemu/lfs-time.h
QEMU_PYEXEC := $(firstword $(wildcard $(ROOT)/firmware/pyexec/pyexec.c) \
    $(MPY)/shared/runtime/pyexec.c)

# $(call qemu_build,NAME,ARGS): build ports/qemu into build/obj/NAME (a
# different configuration first empties it: the port's Makefile does not
# rebuild on changed flags) and copy the ELF to build/NAME when it changed.
define qemu_build
	$(Q)mkdir -p $(B)/obj/$1 $(B)/$1
	$(Q)echo "board=$(QEMU_BOARD) heap=$(QEMU_HEAP) lfs2=1 tree=$$(cat $(MPY_STAMP)) $2" \
		> $(B)/obj/$1.config.new
	$(Q)if ! cmp -s $(B)/obj/$1.config.new $(B)/obj/$1.config; then \
		rm -rf $(B)/obj/$1 && mkdir -p $(B)/obj/$1 && \
		mv $(B)/obj/$1.config.new $(B)/obj/$1.config; \
	else rm $(B)/obj/$1.config.new; fi
	$(Q)$(MAKE) -C $(MPY)/ports/qemu -f $(QEMU_PORT_MK) \
		BOARD=$(QEMU_BOARD) BUILD=$(B)/obj/$1 FROZEN_MANIFEST= \
		MICROPY_VFS_LFS2=1 LDSCRIPT=$(ROOT)/firmware/qemu/mps2-lfs.ld \
		MICROPY_HEAP_SIZE=$(QEMU_HEAP) PYTHON=$$(cat $(PYTHON_STAMP)) $2 \
		>$(B)/obj/$1.log 2>&1 || { tail -30 $(B)/obj/$1.log; \
		echo "qemu: building $1 failed; log in $(BUILD)/obj/$1.log" >&2; exit 1; }
	$(Q)cmp -s $(B)/obj/$1/firmware.elf $@ || \
		{ cp $(B)/obj/$1/firmware.elf $@.new && mv $@.new $@; }
endef

# Always descend: the port's make tracks sources and headers (port.make adds
# firmware/pyexec/* and proto/* for the swapped pyexec.c).
QEMU_DEPS := $(MPY_STAMP) $(PYTHON_STAMP) $(QEMU_PORT_MK) $(ROOT)/firmware/qemu/lfs-time.h
$(QEMU_ELF): $(QEMU_DEPS) FORCE
	$(call qemu_build,qemu,PYEXEC_C=$(QEMU_PYEXEC) \
		PYEXEC_WATCH="$(ROOT)/firmware/pyexec $(ROOT)/proto" \
		CFLAGS_EXTRA="$(QEMU_CFLAGS) -I$(ROOT)/firmware/pyexec -I$(ROOT)/proto")

$(QEMU_UPSTREAM_ELF): $(QEMU_DEPS) FORCE
	$(call qemu_build,qemu-upstream,CFLAGS_EXTRA="$(QEMU_CFLAGS)")

ALL_TARGETS += $(QEMU_ELF) $(QEMU_UPSTREAM_ELF)

# make qemu-board [QEMU_KERNEL=ELF] [QEMU_LINK=PATH]: run a board in the
# foreground; prints the pty it got.
QEMU_KERNEL ?= $(QEMU_ELF)
QEMU_LINK ?=
.PHONY: qemu-board
qemu-board: $(QEMU_ELF) $(QEMU_UPSTREAM_ELF)
	$(Q)firmware/qemu/board.sh $(QEMU_KERNEL) $(QEMU_LINK)
