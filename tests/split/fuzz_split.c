// libFuzzer target for firmware/pyexec/pyexec_split.c: any input must keep
// the invariants of split_check.h (it aborts on a breach), and restarting
// the splitter at a reported boundary must find the same boundaries and
// const verdicts after it, since a boundary is only reported where no
// string, bracket, continuation or decorator reaches across.
#include "split_check.h"

#define MAX_OFFS (256)

typedef struct {
    size_t offs[MAX_OFFS];
    bool consts[MAX_OFFS + 1]; // consts[i]: verdict on the statement before offs[i]
    size_t n;
} record_t;

static void record(void *ctx, size_t off, bool const_def) {
    record_t *r = ctx;
    if (r->n < MAX_OFFS) {
        r->consts[r->n] = const_def;
        r->offs[r->n++] = off;
    }
}

static record_t all, tail;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    all.n = 0;
    bool last_const;
    split_check(data, size, record, &all, &last_const);
    if (all.n >= MAX_OFFS) {
        return 0;
    }
    all.consts[all.n] = last_const;
    for (size_t i = 0; i < all.n && i < 4; i++) {
        size_t b = all.offs[i];
        tail.n = 0;
        split_check(data + b, size - b, record, &tail, &last_const);
        tail.consts[tail.n] = last_const;
        if (tail.n != all.n - i - 1) {
            split_check_fail("restarting at a boundary changes the count after it", b);
        }
        for (size_t j = 0; j <= tail.n; j++) {
            if (j < tail.n && tail.offs[j] + b != all.offs[i + 1 + j]) {
                split_check_fail("restarting at a boundary moves a later one", b);
            }
            if (tail.consts[j] != all.consts[i + 1 + j]) {
                split_check_fail("restarting at a boundary changes a const verdict", b);
            }
        }
    }
    return 0;
}
