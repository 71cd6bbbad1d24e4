/* The firmware/pyexec extensions of proto/PROTOCOL.md part B, host side:
 * capability query (B.1), blocks (B.2), streamed execution (B.3) and streamed
 * .mpy (B.4). Stock boards answer R\x00 and the callers fall back to part A. */
#include <string.h>

#include "engine.h"
#include "engine_int.h"
#include "err.h"
#include "mpu_proto.h"

uint32_t mpu_crc32(uint32_t crc, const uint8_t *buf, size_t n) {
    /* A byte at a time from a table made on first use (zlib's algorithm). */
    static uint32_t table[256];
    static int made;
    if (!made) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) {
                c = (c >> 1) ^ (MPU_PROTO_CRC32_POLY & (0u - (c & 1)));
            }
            table[i] = c;
        }
        made = 1;
    }
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc = (crc >> 8) ^ table[(crc ^ buf[i]) & 0xff];
    }
    return ~crc;
}

int mpu_engine_caps(struct mpu_engine *e, uint8_t *rec, size_t n) {
    if (e->caps_len < 0) {
        if (e->o.no_raw_paste || e->raw_paste == 0) {
            /* Old firmware: every \x05 request costs a raw REPL restart; don't ask. */
            e->caps_len = 0;
        } else {
            int r = mpu_eng_negotiate(e, MPU_PROTO_SUB_INFO);
            if (r < 0) {
                return r;
            }
            e->caps_len = 0;
            if (r == 1) {
                int64_t deadline = mpu_eng_after(e, e->o.answer_ms);
                uint8_t len, buf[255];
                r = mpu_eng_read_n(e, &len, 1, deadline, "capability record length");
                if (r == MPU_OK && len) {
                    r = mpu_eng_read_n(e, buf, len, deadline, "capability record");
                }
                if (r < 0) {
                    return r;
                }
                r = mpu_eng_wait_for(e, ">", deadline);
                if (r < 0) {
                    return mpu_eng_fail(e, r == MPU_ERR_TIMEOUT ? MPU_ERR_PROTO : r,
                        "no prompt after the capability record; got \"%s\"", mpu_eng_seen(e));
                }
                memset(e->caps, 0, sizeof(e->caps));
                memcpy(e->caps, buf, len < sizeof(e->caps) ? len : sizeof(e->caps));
                e->caps_len = len ? len : 1;
            }
        }
    }
    size_t k = (size_t)e->caps_len < n ? (size_t)e->caps_len : n;
    memcpy(rec, e->caps, k);
    return e->caps_len;
}

/* B.3 frame parser state. */
enum { S_OUTSIDE, S_OUT, S_STATUS, S_ERR };

struct stream {
    int state;
    unsigned window;
    size_t credit;
    int eod;        /* the board read our end of data */
    int end_sent;   /* we sent \x04 (or \x03) */
    int failed;     /* an exception text came */
    int done;       /* '>' read */
};

/* Handle board bytes of a streamed execution. */
static int stream_bytes(struct mpu_engine *e, struct stream *st, const uint8_t *b, size_t n) {
    size_t run = 0; /* start of the current output/error run */
    for (size_t i = 0; i < n; i++) {
        uint8_t c = b[i];
        switch (st->state) {
        case S_OUT:
        case S_ERR:
            if (c != MPU_PROTO_F_OUT_END) {
                continue;
            }
            if (i > run) {
                if (st->state == S_OUT && e->sink.out) {
                    e->sink.out(e->sink.ctx, b + run, i - run);
                } else if (st->state == S_ERR) {
                    e->tb_len += i - run;
                    if (e->sink.err) {
                        e->sink.err(e->sink.ctx, b + run, i - run);
                    }
                }
            }
            st->state = st->state == S_OUT ? S_STATUS : S_OUTSIDE;
            continue;
        case S_STATUS:
            if (c == MPU_PROTO_F_OK) {
                st->state = S_OUTSIDE;
            } else if (c == MPU_PROTO_F_ERR) {
                st->state = S_ERR;
                st->failed = 1;
                run = i + 1;
            } else {
                return mpu_eng_fail(e, MPU_ERR_PROTO, "streamed execution: bad status byte after output: \"%s\"",
                    mpu_eng_seen(e));
            }
            continue;
        case S_OUTSIDE:
            if (c == MPU_PROTO_F_CREDIT) {
                st->credit += st->window;
            } else if (c == MPU_PROTO_F_OUT) {
                st->state = S_OUT;
                run = i + 1;
            } else if (c == MPU_PROTO_F_ERR) {
                st->state = S_ERR;
                st->failed = 1;
                run = i + 1;
            } else if (c == MPU_PROTO_F_EOD) {
                st->eod = 1;
            } else if (c == MPU_PROTO_F_DONE && (st->eod || st->failed)) {
                st->done = 1;
                e->in_raw = 1;
                return MPU_OK;
            } else {
                return mpu_eng_fail(e, MPU_ERR_PROTO, "streamed execution: unexpected frame byte: \"%s\"",
                    mpu_eng_seen(e));
            }
            continue;
        }
    }
    if (n > run && (st->state == S_OUT || st->state == S_ERR)) {
        if (st->state == S_OUT && e->sink.out) {
            e->sink.out(e->sink.ctx, b + run, n - run);
        } else if (st->state == S_ERR) {
            e->tb_len += n - run;
            if (e->sink.err) {
                e->sink.err(e->sink.ctx, b + run, n - run);
            }
        }
    }
    return MPU_OK;
}

int mpu_engine_exec_stream(struct mpu_engine *e, const uint8_t *code, size_t len) {
    e->detail[0] = 0;
    e->sent = 0;
    e->tb_len = 0;
    if (!e->in_raw) {
        return mpu_eng_fail(e, MPU_ERR_ARG, "not in the raw REPL");
    }
    int r = mpu_eng_negotiate(e, MPU_PROTO_SUB_EXEC_STREAM);
    if (r < 0) {
        return r;
    }
    if (r == 0) {
        return mpu_engine_exec(e, code, len);
    }
    e->in_raw = 0;
    e->mode = MPU_MODE_STREAM;
    if (e->sink.mode) {
        e->sink.mode(e->sink.ctx, e->mode);
    }
    uint8_t w[2];
    r = mpu_eng_read_n(e, w, 2, mpu_eng_after(e, e->o.answer_ms), "window size");
    if (r < 0) {
        return r;
    }
    struct stream st = { .state = S_OUTSIDE };
    st.window = (unsigned)w[0] | (unsigned)w[1] << 8;
    st.credit = st.window;
    if (st.window == 0) {
        return mpu_eng_fail(e, MPU_ERR_PROTO, "streamed execution: window size 0");
    }
    size_t i = 0;
    int interrupted = 0, timed_out = 0;
    int64_t run_end = mpu_eng_after(e, e->o.run_ms);
    while (!st.done) {
        int can_send = !st.end_sent && !st.failed && i < len && st.credit > 0;
        if (!st.end_sent && (st.failed || i == len)) {
            int rr = mpu_eng_wr(e, "\x04", 1);
            if (rr < 0) {
                return rr;
            }
            st.end_sent = 1;
            continue;
        }
        /* Don't wait while we may send; wait for credit with a limit only while no batch runs. */
        int64_t deadline;
        if (can_send) {
            deadline = 0;
        } else if (interrupted) {
            deadline = mpu_eng_after(e, e->o.busy_ms);
        } else if (st.state == S_OUTSIDE && !st.end_sent) {
            deadline = mpu_eng_after(e, e->o.window_ms);
        } else {
            deadline = run_end;
        }
        uint8_t buf[1024];
        /* The user's input must not mix with the program text: only after the board read its end. */
        r = mpu_eng_rd(e, buf, sizeof(buf), deadline, st.eod ? MPU_IO_RUNNING : 0);
        if (r == MPU_ERR_INTR || (r == 0 && !can_send && deadline == run_end && run_end >= 0 && !interrupted)) {
            if (interrupted) {
                return mpu_eng_fail(e, MPU_ERR_INTR, "interrupted twice; the board may still be running");
            }
            timed_out = r == 0;
            interrupted = 1;
            if ((r = mpu_eng_wr(e, "\x03", 1)) < 0) {
                return r;
            }
            st.end_sent = 1;
            continue;
        }
        if (r < 0) {
            return mpu_eng_fail(e, r, "the link failed during streamed execution (%zu of %zu bytes sent)", i, len);
        }
        if (r == 0 && !can_send) {
            if (interrupted) {
                return mpu_eng_fail(e, MPU_ERR_BUSY, "the board ignored Ctrl-C for %d ms", e->o.busy_ms);
            }
            return mpu_eng_fail(e, MPU_ERR_TIMEOUT,
                "streamed execution: no window credit within %d ms after %zu of %zu bytes",
                e->o.window_ms, i, len);
        }
        if (r > 0) {
            int sr = stream_bytes(e, &st, buf, (size_t)r);
            if (sr < 0) {
                return sr;
            }
            continue;
        }
        size_t k = len - i < st.credit ? len - i : st.credit;
        if ((r = mpu_eng_wr(e, code + i, k)) < 0) {
            return mpu_eng_fail(e, r, "the link failed after %zu of %zu bytes", i, len);
        }
        i += k;
        st.credit -= k;
        mpu_eng_progress(e, i, len);
    }
    if (interrupted) {
        return mpu_eng_fail(e, timed_out ? MPU_ERR_TIMEOUT : MPU_ERR_INTR,
            timed_out ? "the program ran longer than %d ms" : "interrupted", e->o.run_ms);
    }
    return st.failed ? MPU_ERR_EXCEPTION : MPU_OK;
}

static size_t put_block(uint8_t *out, uint8_t type, uint8_t seq, const uint8_t *p, size_t n) {
    out[0] = MPU_PROTO_BLK_SYNC;
    out[1] = type;
    out[2] = seq;
    out[3] = (uint8_t)(n & 0xff);
    out[4] = (uint8_t)(n >> 8);
    memcpy(out + 5, p, n);
    uint32_t crc = mpu_crc32(0, out + 1, 4 + n);
    for (int k = 0; k < 4; k++) {
        out[5 + n + k] = (uint8_t)(crc >> (8 * k));
    }
    return 5 + n + 4;
}

/* The fatal \x18 + text + \x04: the text is the exception; the host then
 * writes \x04, up to which the board discards input, and reads '>'. */
static int read_can(struct mpu_engine *e) {
    int64_t deadline = mpu_eng_after(e, e->o.window_ms);
    for (;;) {
        uint8_t c;
        int r = mpu_eng_rd(e, &c, 1, deadline, 0);
        if (r <= 0) {
            return mpu_eng_fail(e, r ? r : MPU_ERR_TIMEOUT, "the board's error text did not end");
        }
        if (c == MPU_PROTO_CTRL_D) {
            break;
        }
        e->tb_len++;
        if (e->sink.err) {
            e->sink.err(e->sink.ctx, &c, 1);
        }
    }
    int r = mpu_eng_wr(e, "\x04", 1);
    if (r < 0) {
        return r;
    }
    r = mpu_eng_wait_for(e, ">", deadline);
    if (r < 0) {
        return mpu_eng_fail(e, r == MPU_ERR_TIMEOUT ? MPU_ERR_PROTO : r, "no prompt after the board's error");
    }
    e->in_raw = 1;
    return MPU_ERR_EXCEPTION;
}

int mpu_engine_exec_mpy(struct mpu_engine *e, const uint8_t *mpy, size_t len) {
    e->detail[0] = 0;
    e->sent = 0;
    e->tb_len = 0;
    if (!e->in_raw) {
        return mpu_eng_fail(e, MPU_ERR_ARG, "not in the raw REPL");
    }
    int r = mpu_eng_negotiate(e, MPU_PROTO_SUB_MPY);
    if (r < 0) {
        return r;
    }
    if (r == 0) {
        return mpu_eng_fail(e, MPU_ERR_SUPP, "the board has no streamed .mpy extension");
    }
    e->in_raw = 0;
    uint8_t hdr[3];
    r = mpu_eng_read_n(e, hdr, 3, mpu_eng_after(e, e->o.answer_ms), "block size and window");
    if (r < 0) {
        return r;
    }
    size_t bmax = (size_t)hdr[0] | (size_t)hdr[1] << 8;
    unsigned k = hdr[2];
    if (bmax < 4 || k == 0) {
        return mpu_eng_fail(e, MPU_ERR_PROTO, "streamed .mpy: block size %zu, window %u", bmax, k);
    }
    if (bmax > 4096) {
        bmax = 4096;
    }
    size_t ndata = (len + bmax - 1) / bmax;
    size_t nblocks = ndata + 1; /* the E block */
    size_t base = 0, next = 0;
    int naks = 0, interrupted = 0;
    uint8_t blk[4096 + 9];
    while (base < nblocks) {
        while (!interrupted && next < nblocks && next < base + k) {
            size_t n;
            if (next < ndata) {
                size_t off = next * bmax;
                size_t l = len - off < bmax ? len - off : bmax;
                n = put_block(blk, MPU_PROTO_BLK_DATA, (uint8_t)next, mpy + off, l);
            } else {
                uint8_t le[4] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24) };
                n = put_block(blk, MPU_PROTO_BLK_END, (uint8_t)next, le, 4);
            }
            if ((r = mpu_eng_wr(e, blk, n)) < 0) {
                return mpu_eng_fail(e, r, "the link failed after %zu of %zu bytes", e->sent, len);
            }
            next++;
        }
        if (interrupted && next == base) {
            /* All replies read: abort between blocks. */
            if ((r = mpu_eng_wr(e, "\x03", 1)) < 0) {
                return r;
            }
            r = read_can(e);
            return r == MPU_ERR_EXCEPTION ? mpu_eng_fail(e, MPU_ERR_INTR, "interrupted") : r;
        }
        uint8_t rep[2];
        r = mpu_eng_rd(e, rep, 1, mpu_eng_after(e, e->o.window_ms), 0);
        if (r == MPU_ERR_INTR) {
            interrupted = 1;
            continue;
        }
        if (r == 0) {
            return mpu_eng_fail(e, MPU_ERR_TIMEOUT, "streamed .mpy: no reply to block %zu within %d ms",
                base, e->o.window_ms);
        }
        if (r < 0) {
            return mpu_eng_fail(e, r, "the link failed after %zu of %zu bytes", e->sent, len);
        }
        if (rep[0] == MPU_PROTO_BLK_CAN) {
            return read_can(e);
        }
        if (rep[0] != MPU_PROTO_BLK_ACK && rep[0] != MPU_PROTO_BLK_NAK) {
            return mpu_eng_fail(e, MPU_ERR_PROTO, "streamed .mpy: unexpected reply \"%s\"", mpu_eng_seen(e));
        }
        r = mpu_eng_read_n(e, rep + 1, 1, mpu_eng_after(e, e->o.window_ms), "block reply");
        if (r < 0) {
            return r;
        }
        if (rep[1] != (uint8_t)base) {
            return mpu_eng_fail(e, MPU_ERR_PROTO, "streamed .mpy: reply for block %u, expected %u",
                rep[1], (unsigned)(uint8_t)base);
        }
        if (rep[0] == MPU_PROTO_BLK_ACK) {
            base++;
            naks = 0;
            size_t done = base * bmax < len ? base * bmax : len;
            mpu_eng_progress(e, done, len);
        } else {
            if (++naks > MPU_PROTO_BLK_MAX_RETRIES) {
                return mpu_eng_fail(e, MPU_ERR_PROTO, "streamed .mpy: block %zu refused %d times", base, naks);
            }
            /* Go back N: resync, then everything from the refused block again. */
            if ((r = mpu_eng_wr(e, MPU_PROTO_RESYNC, MPU_PROTO_RESYNC_LEN)) < 0) {
                return r;
            }
            next = base;
        }
    }
    e->mode = MPU_MODE_MPY_STREAM;
    return mpu_eng_follow(e, 0);
}

/* B.6: the program text in blocks, each sent when the board asks (\x01).
 * Frames from the board outside an output section: \x01, \x06 seq,
 * \x15 seq, \x02 output \x04, \x18 error text \x04, '>'. */
enum { C_OUTSIDE, C_ACK, C_NAK, C_OUT, C_ERR };

/* Smallest block after NAKs: shorter blocks cross a noisy line more often. */
#define CHECKED_MIN_BLOCK 32
/* Good blocks in a row before the block size doubles again. */
#define CHECKED_GROW_AFTER 8

struct checked {
    int state;
    size_t bmax, size;      /* the board's largest payload, ours now */
    size_t off;             /* code bytes acknowledged */
    size_t blen;            /* payload of the block in flight */
    size_t seq;             /* blocks acknowledged */
    size_t len;             /* of the code */
    int in_flight, credit;
    int end_sent, end_acked;
    int good, failed, done, interrupted;
};

/* Run of output or error text up to the section's end. */
static void checked_text(struct mpu_engine *e, struct checked *c, const uint8_t *b, size_t n) {
    if (n == 0) {
        return;
    }
    if (c->state == C_OUT) {
        if (e->sink.out) {
            e->sink.out(e->sink.ctx, b, n);
        }
    } else {
        e->tb_len += n;
        if (e->sink.err) {
            e->sink.err(e->sink.ctx, b, n);
        }
    }
}

/* After the board's NAK or error: RESYNC, and Ctrl-C again when stopping. */
static int checked_resync(struct mpu_engine *e, int ctrl_c) {
    static const char seq[] = MPU_PROTO_RESYNC "\x03";
    return mpu_eng_wr(e, seq, MPU_PROTO_RESYNC_LEN + (ctrl_c ? 1 : 0));
}

static int checked_bytes(struct mpu_engine *e, struct checked *c, const uint8_t *b, size_t n) {
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t x = b[i];
        int r;
        switch (c->state) {
        case C_OUT:
        case C_ERR:
            if (x != MPU_PROTO_F_OUT_END) {
                continue;
            }
            checked_text(e, c, b + run, i - run);
            if (c->state == C_ERR) {
                /* The board discards input up to RESYNC (or Ctrl-C), then '>'. */
                c->failed = 1;
                if ((r = checked_resync(e, 1)) < 0) {
                    return r;
                }
            }
            c->state = C_OUTSIDE;
            continue;
        case C_ACK:
            c->state = C_OUTSIDE;
            if (!c->in_flight || x != (uint8_t)c->seq) {
                return mpu_eng_fail(e, MPU_ERR_PROTO, "checked execution: ACK of block %u, expected %u: \"%s\"",
                    x, (unsigned)(uint8_t)c->seq, mpu_eng_seen(e));
            }
            c->in_flight = 0;
            c->seq++;
            c->off += c->blen;
            if (c->end_sent) {
                c->end_acked = 1;
            } else {
                mpu_eng_progress(e, c->off, c->len);
            }
            if (++c->good >= CHECKED_GROW_AFTER && c->size < c->bmax) {
                c->size = c->size * 2 < c->bmax ? c->size * 2 : c->bmax;
                c->good = 0;
            }
            continue;
        case C_NAK:
            c->state = C_OUTSIDE;
            if (x != (uint8_t)c->seq) {
                return mpu_eng_fail(e, MPU_ERR_PROTO, "checked execution: NAK of block %u, expected %u: \"%s\"",
                    x, (unsigned)(uint8_t)c->seq, mpu_eng_seen(e));
            }
            /* Sent again when the board asks, shorter; an end block stays one. */
            c->in_flight = 0;
            c->end_sent = 0;
            c->good = 0;
            e->resent++;
            c->size = c->size / 2 > CHECKED_MIN_BLOCK ? c->size / 2 : CHECKED_MIN_BLOCK;
            if ((r = checked_resync(e, c->interrupted)) < 0) {
                return r;
            }
            continue;
        case C_OUTSIDE:
            if (x == MPU_PROTO_F_CREDIT) {
                c->credit++;
            } else if (x == MPU_PROTO_BLK_ACK) {
                c->state = C_ACK;
            } else if (x == MPU_PROTO_BLK_NAK) {
                c->state = C_NAK;
            } else if (x == MPU_PROTO_F_OUT) {
                c->state = C_OUT;
                run = i + 1;
            } else if (x == MPU_PROTO_BLK_CAN) {
                c->state = C_ERR;
                run = i + 1;
            } else if (x == MPU_PROTO_F_DONE && (c->end_acked || c->failed)) {
                c->done = 1;
                e->in_raw = 1;
                return MPU_OK;
            } else {
                return mpu_eng_fail(e, MPU_ERR_PROTO, "checked execution: unexpected frame byte: \"%s\"",
                    mpu_eng_seen(e));
            }
            continue;
        }
    }
    if (c->state == C_OUT || c->state == C_ERR) {
        checked_text(e, c, b + run, n - run);
    }
    return MPU_OK;
}

int mpu_engine_exec_checked(struct mpu_engine *e, const uint8_t *code, size_t len) {
    e->detail[0] = 0;
    e->sent = 0;
    e->tb_len = 0;
    e->resent = 0;
    if (!e->in_raw) {
        return mpu_eng_fail(e, MPU_ERR_ARG, "not in the raw REPL");
    }
    int r = mpu_eng_negotiate(e, MPU_PROTO_SUB_EXEC_CHECKED);
    if (r < 0) {
        return r;
    }
    if (r == 0) {
        return mpu_engine_exec_stream(e, code, len);
    }
    e->in_raw = 0;
    e->mode = MPU_MODE_CHECKED;
    if (e->sink.mode) {
        e->sink.mode(e->sink.ctx, e->mode);
    }
    uint8_t hdr[2];
    r = mpu_eng_read_n(e, hdr, 2, mpu_eng_after(e, e->o.answer_ms), "block size");
    if (r < 0) {
        return r;
    }
    struct checked c = { .state = C_OUTSIDE };
    c.bmax = (size_t)hdr[0] | (size_t)hdr[1] << 8;
    if (c.bmax < 4) {
        return mpu_eng_fail(e, MPU_ERR_PROTO, "checked execution: block size %zu", c.bmax);
    }
    if (c.bmax > 4096) {
        c.bmax = 4096;
    }
    c.size = c.bmax;
    c.len = len;
    int timed_out = 0;
    int64_t run_end = mpu_eng_after(e, e->o.run_ms);
    uint8_t blk[4096 + 9];
    while (!c.done) {
        if (c.credit > 0 && !c.in_flight && !c.end_acked && !c.failed && !c.interrupted) {
            size_t n;
            if (c.off < len) {
                c.blen = len - c.off < c.size ? len - c.off : c.size;
                n = put_block(blk, MPU_PROTO_BLK_DATA, (uint8_t)c.seq, code + c.off, c.blen);
            } else {
                uint8_t le[4] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24) };
                c.blen = 0;
                c.end_sent = 1;
                n = put_block(blk, MPU_PROTO_BLK_END, (uint8_t)c.seq, le, 4);
            }
            if ((r = mpu_eng_wr(e, blk, n)) < 0) {
                return mpu_eng_fail(e, r, "the link failed after %zu of %zu bytes", c.off, len);
            }
            c.credit--;
            c.in_flight = 1;
            continue;
        }
        /* A block in flight is answered within the board's receive timeout;
         * otherwise the board compiles or runs: the run time limit applies. */
        int64_t deadline;
        if (c.interrupted || c.failed) {
            deadline = mpu_eng_after(e, e->o.busy_ms);
        } else if (c.in_flight) {
            deadline = mpu_eng_after(e, e->o.window_ms);
        } else {
            deadline = run_end;
        }
        uint8_t buf[1024];
        /* The user's input goes to the program only once the board has all of it. */
        r = mpu_eng_rd(e, buf, sizeof(buf), deadline, c.end_acked && !c.failed ? MPU_IO_RUNNING : 0);
        if (r == MPU_ERR_INTR || (r == 0 && deadline == run_end && run_end >= 0 && !c.interrupted && !c.failed)) {
            if (c.interrupted) {
                return mpu_eng_fail(e, MPU_ERR_INTR, "interrupted twice; the board may still be running");
            }
            timed_out = r == 0;
            c.interrupted = 1;
            /* Between blocks: a running batch takes it as Ctrl-C, a waiting board too. */
            if ((r = mpu_eng_wr(e, "\x03", 1)) < 0) {
                return r;
            }
            continue;
        }
        if (r < 0) {
            return mpu_eng_fail(e, r, "the link failed during checked execution (%zu of %zu bytes sent)", c.off, len);
        }
        if (r == 0) {
            if (c.interrupted) {
                return mpu_eng_fail(e, MPU_ERR_BUSY, "the board ignored Ctrl-C for %d ms", e->o.busy_ms);
            }
            if (c.failed) {
                return mpu_eng_fail(e, MPU_ERR_PROTO, "no prompt after the board's error; got \"%s\"", mpu_eng_seen(e));
            }
            return mpu_eng_fail(e, MPU_ERR_TIMEOUT,
                "checked execution: no answer to block %zu within %d ms after %zu of %zu bytes",
                c.seq, e->o.window_ms, c.off, len);
        }
        r = checked_bytes(e, &c, buf, (size_t)r);
        if (r < 0) {
            return r;
        }
    }
    e->sent = c.off;
    if (c.interrupted) {
        return mpu_eng_fail(e, timed_out ? MPU_ERR_TIMEOUT : MPU_ERR_INTR,
            timed_out ? "the program ran longer than %d ms" : "interrupted", e->o.run_ms);
    }
    return c.failed ? MPU_ERR_EXCEPTION : MPU_OK;
}
