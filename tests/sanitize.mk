# tests/sanitize: the tests on the ASan/UBSan builds (build/mpupload-asan,
# build/sim-board-asan) and valgrind memcheck on build/mpupload.
# `make test` runs tests/sanitize/asan.test (a part of the suite);
# `make test-asan` runs the whole suite that way, logs in build/tests/asan/.

# tests/sanitize/asan.test needs the ASan board; `make` builds it.
ALL_TARGETS += $(B)/sim-board-asan

.PHONY: test-asan
test-asan: _all $(TEST_DEPS)
	$(Q)tests/sanitize/suite.sh $(BUILD)/tests/asan
