# host/mpupload: the C client. Builds build/mpupload, an ASan/UBSan variant
# build/mpupload-asan, and the engine test driver (plain and ASan).

MPU_DIR := host/mpupload
MPU_OBJ := $(B)/obj/mpupload
MPU_SRCS := $(filter-out $(MPU_DIR)/main.c,$(wildcard $(MPU_DIR)/*.c))
MPU_HDRS := $(wildcard $(MPU_DIR)/*.h)
MPU_ENGINE_SRCS := $(MPU_DIR)/engine.c $(MPU_DIR)/ext.c $(MPU_DIR)/err.c
MPU_CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g -Iproto \
	$(shell pkg-config --cflags libserialport 2>/dev/null)
MPU_LIBS := $(shell pkg-config --libs libserialport 2>/dev/null || echo -lserialport)
MPU_SAN := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
MPU_CC ?= cc

MPU_BIN := $(B)/mpupload
MPU_BIN_ASAN := $(B)/mpupload-asan
MPU_ENGINETEST := $(B)/mpupload-enginetest
MPU_ENGINETEST_ASAN := $(B)/mpupload-enginetest-asan

ALL_TARGETS += $(MPU_BIN) $(MPU_BIN_ASAN) $(MPU_ENGINETEST) $(MPU_ENGINETEST_ASAN)

$(MPU_BIN): $(MPU_SRCS) $(MPU_DIR)/main.c $(MPU_HDRS) $(MPU_DIR)/mpupload.mk $(DEPS_STAMP)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(MPU_CC) $(MPU_CFLAGS) -o $@.tmp $(MPU_SRCS) $(MPU_DIR)/main.c $(MPU_LIBS) && mv $@.tmp $@

$(MPU_BIN_ASAN): $(MPU_SRCS) $(MPU_DIR)/main.c $(MPU_HDRS) $(MPU_DIR)/mpupload.mk $(DEPS_STAMP)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(MPU_CC) $(MPU_CFLAGS) $(MPU_SAN) -o $@.tmp $(MPU_SRCS) $(MPU_DIR)/main.c $(MPU_LIBS) && mv $@.tmp $@

$(MPU_ENGINETEST): tests/mpupload/enginetest.c $(MPU_ENGINE_SRCS) $(MPU_HDRS) $(MPU_DIR)/mpupload.mk
	$(Q)mkdir -p $(dir $@)
	$(Q)$(MPU_CC) $(MPU_CFLAGS) -I$(MPU_DIR) -o $@.tmp tests/mpupload/enginetest.c $(MPU_ENGINE_SRCS) && mv $@.tmp $@

$(MPU_ENGINETEST_ASAN): tests/mpupload/enginetest.c $(MPU_ENGINE_SRCS) $(MPU_HDRS) $(MPU_DIR)/mpupload.mk
	$(Q)mkdir -p $(dir $@)
	$(Q)$(MPU_CC) $(MPU_CFLAGS) $(MPU_SAN) -I$(MPU_DIR) -o $@.tmp tests/mpupload/enginetest.c $(MPU_ENGINE_SRCS) && mv $@.tmp $@

.PHONY: mpupload install-mpupload
mpupload: $(MPU_BIN)

# `make install-mpupload PREFIX=... DESTDIR=...`: binary, man page, bash completion.
# `make install` depends on it (other parts may add their own prerequisites).
PREFIX ?= /usr/local
.PHONY: install
install: install-mpupload
install-mpupload: $(MPU_BIN) $(B)/mpupload.1
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 755 $(MPU_BIN) $(DESTDIR)$(PREFIX)/bin/mpupload
	install -m 644 $(B)/mpupload.1 $(DESTDIR)$(PREFIX)/share/man/man1/mpupload.1
	install -m 644 $(MPU_DIR)/mpupload.bash-completion \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/mpupload

# The man page: pandoc when present, else our small Markdown-to-roff converter.
$(B)/mpupload.1: $(MPU_DIR)/mpupload.1.md $(MPU_DIR)/md2man.py $(PYTHON_STAMP)
	$(Q)mkdir -p $(dir $@)
	$(Q)if command -v pandoc >/dev/null 2>&1; then pandoc -s -t man $< -o $@; \
	else $$(cat $(PYTHON_STAMP)) $(MPU_DIR)/md2man.py $< > $@.tmp && mv $@.tmp $@; fi
ALL_TARGETS += $(B)/mpupload.1

# Speed figures (printed, not asserted); part of `make bench`.
.PHONY: bench-mpupload
bench-mpupload: $(MPU_BIN) $(PYTHON_STAMP)
	$(Q)tests/mpupload/bench.sh
BENCH_TARGETS += bench-mpupload
