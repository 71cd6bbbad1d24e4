/* libFuzzer target for host/mpupload's engine: the fuzzed input is what the
 * board answers. The engine runs one sequence of entry points to completion
 * against it; AddressSanitizer and UBSan watch the engine's parsing.
 *
 * Input: 2 header bytes, then the board's bytes.
 *   byte 0: the sequence (low 3 bits), see run(); bit 3 soft reset at entry;
 *           bits 4-7: bytes per read (0: as many as asked, else 1-15)
 *   byte 1: bit 0 no raw-paste, bit 1 plain raw REPL loader for long code,
 *           bit 2 a run time limit, bit 3 sequence 2 is checked execution
 *           (B.6) instead of streamed (B.3), bits 4-6: code length (see code_len[])
 * In the board's bytes, 0xFF is an escape: FF 00 the board is silent until
 * the deadline, FF 01 the user's Ctrl-C, FF 02 the link goes away; FF and
 * any other byte is a literal FF. At the end of the input the board is
 * silent: reads time out at their deadline (a read that waits forever gets
 * a closed link instead). The clock only moves when a read times out, so
 * every engine timeout is reached without sleeping. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "err.h"

struct fz {
    const uint8_t *p;
    size_t n, pos;
    size_t chunk;
    int64_t now;
    uint64_t reads;
};

static int fz_read(void *ctx, uint8_t *buf, size_t n, int64_t deadline, int flags) {
    struct fz *f = ctx;
    (void)flags;
    f->reads++;
    if (f->pos + 1 < f->n && f->p[f->pos] == 0xff && f->p[f->pos + 1] <= 2) {
        uint8_t k = f->p[f->pos + 1];
        f->pos += 2;
        if (k == 1) {
            return MPU_ERR_INTR;
        }
        if (k == 2) {
            return MPU_ERR_LINK;
        }
        goto silent;
    }
    if (f->pos >= f->n) {
        goto silent;
    }
    size_t max = f->chunk == 0 || f->chunk > n ? n : f->chunk;
    size_t got = 0;
    while (got < max && f->pos < f->n) {
        if (f->p[f->pos] == 0xff) {
            if (f->pos + 1 < f->n && f->p[f->pos + 1] <= 2) {
                break; /* an event: next read */
            }
            buf[got++] = 0xff;
            f->pos += f->pos + 1 < f->n ? 2 : 1;
        } else {
            buf[got++] = f->p[f->pos++];
        }
    }
    return (int)got;
silent:
    if (deadline < 0) {
        return MPU_ERR_LINK;
    }
    if (deadline > f->now) {
        f->now = deadline;
    }
    return 0;
}

static int fz_write(void *ctx, const uint8_t *buf, size_t n) {
    (void)ctx;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n; i++) {
        sink ^= buf[i]; /* ASan sees every byte the engine sends */
    }
    (void)sink;
    return MPU_OK;
}

static int64_t fz_now(void *ctx) {
    return ((struct fz *)ctx)->now;
}

static void sink_bytes(void *ctx, const uint8_t *buf, size_t n) {
    (void)ctx;
    volatile uint8_t s = 0;
    for (size_t i = 0; i < n; i++) {
        s ^= buf[i];
    }
    (void)s;
}

static void sink_progress(void *ctx, size_t sent, size_t total) {
    (void)ctx;
    if (sent > total) {
        fprintf(stderr, "progress: sent %zu > total %zu\n", sent, total);
        abort();
    }
}

static void sink_mode(void *ctx, int mode) {
    (void)ctx;
    if (mode < MPU_MODE_NONE || mode > MPU_MODE_CHECKED) {
        fprintf(stderr, "mode: %d\n", mode);
        abort();
    }
}

static void check(const struct mpu_engine *e, int r) {
    if (r > 0 || r < MPU_ERR_SUPP) {
        fprintf(stderr, "engine returned %d, no mpu_err\n", r);
        abort();
    }
    if (memchr(e->detail, 0, sizeof(e->detail)) == NULL) {
        fprintf(stderr, "detail not terminated\n");
        abort();
    }
    if (e->nseen > MPU_SEEN_MAX) {
        fprintf(stderr, "nseen %zu\n", e->nseen);
        abort();
    }
}

static const size_t code_len[8] = { 0, 1, 15, 127, 200, 257, 600, 3000 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) {
        return 0;
    }
    uint8_t h0 = data[0], h1 = data[1];
    struct fz f = { .p = data + 2, .n = size - 2, .chunk = h0 >> 4, .now = 1000 };
    struct mpu_io io = { .ctx = &f, .read = fz_read, .write = fz_write, .now = fz_now };
    struct mpu_sink sink = { .out = sink_bytes, .err = sink_bytes, .progress = sink_progress,
                             .mode = sink_mode };
    struct mpu_engine_opts o;
    struct mpu_engine e;
    mpu_engine_init(&e, &io, &sink, NULL);
    o = e.o;
    o.no_raw_paste = h1 & 1;
    if (h1 & 2) {
        o.raw_direct_max = 16;
    }
    if (h1 & 4) {
        o.run_ms = 2000;
    }
    mpu_engine_init(&e, &io, &sink, &o);

    /* Code in its own allocation, so ASan sees a read past its end. */
    size_t len = code_len[(h1 >> 4) & 7];
    uint8_t *code = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++) {
        code[i] = (uint8_t)(i % 64 == 63 ? '\n' : 'a' + i % 26);
    }
    int r = mpu_engine_enter(&e, (h0 >> 3) & 1);
    check(&e, r);
    if (r == MPU_OK) {
        switch (h0 & 7) {
        case 0:
            r = mpu_engine_exec(&e, code, len);
            break;
        case 1: {
            uint8_t rec[16];
            /* The record's length, which may exceed what is copied to rec. */
            r = mpu_engine_caps(&e, rec, sizeof(rec));
            if (r >= 0) {
                r = MPU_OK;
            }
            break;
        }
        case 2:
            r = h1 & 8 ? mpu_engine_exec_checked(&e, code, len) : mpu_engine_exec_stream(&e, code, len);
            break;
        case 3:
            r = mpu_engine_exec_mpy(&e, code, len);
            break;
        case 4: {
            uint8_t *fd = malloc(len + 1);
            memcpy(fd, code, len);
            struct mpu_feed feed = { .data = fd, .len = len, .chunk = MPU_LOADER_CHUNK };
            r = mpu_engine_exec_feed(&e, code, len, &feed);
            free(fd);
            break;
        }
        case 5:
            r = mpu_engine_soft_reset(&e);
            check(&e, r);
            r = mpu_engine_leave(&e);
            break;
        case 6:
            r = mpu_engine_exec(&e, code, len);
            check(&e, r);
            r = mpu_engine_exec(&e, code, len);
            break;
        default: {
            uint8_t rec[16];
            r = mpu_engine_caps(&e, rec, 4);
            if (r >= 0) {
                r = mpu_engine_exec_stream(&e, code, len);
            }
            break;
        }
        }
        check(&e, r);
    }
    free(code);
    return 0;
}
