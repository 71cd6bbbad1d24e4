// Feeds a buffer to the statement splitter and checks the invariants its
// callers rely on; shared by the harness and the fuzz target.
#ifndef SPLIT_CHECK_H
#define SPLIT_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#include "pyexec_split.h"

// Called for each boundary with its byte offset, and whether the statement
// it ends was a const definition.
typedef void (*split_check_fn)(void *ctx, size_t offset, bool const_def);

static void split_check_fail(const char *what, size_t at) {
    fprintf(stderr, "split_check: %s at byte %zu\n", what, at);
    abort();
}

static bool split_check_newline(uint8_t c) {
    return c == '\n' || c == '\r';
}

// Returns the number of boundaries; the verdict on the last statement goes
// to *last_const if that is not NULL.
static size_t split_check(const uint8_t *buf, size_t len, split_check_fn fn, void *ctx, bool *last_const) {
    pyexec_split_t sp;
    pyexec_split_init(&sp);
    size_t held = 0, count = 0, last = 0;
    for (size_t i = 0; i < len; i++) {
        bool was_const = pyexec_split_const_def(&sp);
        size_t n = pyexec_split_feed(&sp, buf[i]);
        bool pending = pyexec_split_pending(&sp);
        if (n > 0) {
            if (n > PYEXEC_SPLIT_LOOKAHEAD) {
                split_check_fail("boundary further back than PYEXEC_SPLIT_LOOKAHEAD", i);
            }
            if (n != held + 1) {
                split_check_fail("boundary not at the start of the held bytes", i);
            }
            size_t off = i + 1 - n;
            if (off == 0 || off <= last) {
                split_check_fail("boundary not after the previous one", i);
            }
            if (!split_check_newline(buf[off - 1])) {
                split_check_fail("boundary not at the start of a line", i);
            }
            uint8_t c = buf[off];
            if (split_check_newline(c) || c == ' ' || c == '\t' || c == '\f' || c == '#') {
                split_check_fail("boundary on a blank or comment line", i);
            }
            last = off;
            count++;
            if (fn != NULL) {
                fn(ctx, off, was_const);
            }
        }
        if (pending) {
            if (n > 0) {
                split_check_fail("pending right after a boundary", i);
            }
            held++;
            if (held >= PYEXEC_SPLIT_LOOKAHEAD) {
                split_check_fail("more bytes held than PYEXEC_SPLIT_LOOKAHEAD allows", i);
            }
            if (split_check_newline(buf[i])) {
                split_check_fail("pending after a newline", i);
            }
        } else {
            held = 0;
        }
    }
    if (last_const != NULL) {
        *last_const = pyexec_split_const_def(&sp);
    }
    return count;
}

#endif // SPLIT_CHECK_H
