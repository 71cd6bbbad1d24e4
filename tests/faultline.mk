# tests/faultline: a faulty line (drops, flips, dups, stalls, a cut) between
# a host and a board's pty, for the reliability tests (tests/faultline/*.test).

FAULTLINE_BIN := $(B)/faultline
ALL_TARGETS += $(FAULTLINE_BIN)

$(FAULTLINE_BIN): tests/faultline/faultline.c tests/faultline.mk
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -std=c99 -Wall -Wextra -Werror -O2 -g -o $@.tmp $< && mv $@.tmp $@
