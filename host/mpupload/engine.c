/* The raw REPL and raw-paste protocol of MicroPython's shared/runtime/pyexec.c,
 * as seen from the host. Every byte goes through e->io, so tests drive it with
 * byte scripts and a fake clock. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "engine_int.h"
#include "err.h"
#include "mpu_proto.h"

static const char BANNER[] = MPU_PROTO_RAW_BANNER;

void mpu_engine_init(struct mpu_engine *e, const struct mpu_io *io,
    const struct mpu_sink *sink, const struct mpu_engine_opts *opts) {
    memset(e, 0, sizeof(*e));
    e->io = *io;
    if (sink) {
        e->sink = *sink;
    }
    if (opts) {
        e->o = *opts;
    } else {
        e->o.answer_ms = 2000;
        e->o.quiet_ms = 30;
        e->o.busy_ms = 5000;
        e->o.window_ms = 10000;
        e->o.raw_chunk = 128;
        e->o.raw_pause_ms = 10;
        e->o.raw_direct_max = 256;
        e->o.enter_tries = 2;
        e->o.run_ms = -1;
    }
    e->raw_paste = -1;
    e->caps_len = -1;
}

char *mpu_escape(const uint8_t *buf, size_t n, char *out, size_t out_len) {
    size_t o = 0;
    if (out_len == 0) {
        return out;
    }
    for (size_t i = 0; i < n && o + 5 < out_len; i++) {
        uint8_t c = buf[i];
        if (c == '\r') {
            o += (size_t)snprintf(out + o, out_len - o, "\\r");
        } else if (c == '\n') {
            o += (size_t)snprintf(out + o, out_len - o, "\\n");
        } else if (c == '\\' || c == '"') {
            o += (size_t)snprintf(out + o, out_len - o, "\\%c", c);
        } else if (c < 0x20 || c >= 0x7f) {
            o += (size_t)snprintf(out + o, out_len - o, "\\x%02x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = 0;
    return out;
}

int mpu_eng_fail(struct mpu_engine *e, int err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
    va_end(ap);
    return err;
}

/* The bytes seen lately, escaped, for error messages. */
const char *mpu_eng_seen(struct mpu_engine *e) {
    return mpu_escape(e->seen, e->nseen, e->seen_esc, sizeof(e->seen_esc));
}

static void remember(struct mpu_engine *e, const uint8_t *b, size_t n) {
    if (n >= sizeof(e->seen)) {
        memcpy(e->seen, b + n - sizeof(e->seen), sizeof(e->seen));
        e->nseen = sizeof(e->seen);
        return;
    }
    if (e->nseen + n > sizeof(e->seen)) {
        size_t drop = e->nseen + n - sizeof(e->seen);
        memmove(e->seen, e->seen + drop, e->nseen - drop);
        e->nseen -= drop;
    }
    memcpy(e->seen + e->nseen, b, n);
    e->nseen += n;
}

int64_t mpu_eng_after(struct mpu_engine *e, int ms) {
    return ms < 0 ? -1 : e->io.now(e->io.ctx) + ms;
}

int mpu_eng_rd(struct mpu_engine *e, uint8_t *b, size_t n, int64_t deadline, int flags) {
    int r = e->io.read(e->io.ctx, b, n, deadline, flags);
    if (r > 0) {
        remember(e, b, (size_t)r);
    }
    return r;
}

int mpu_eng_wr(struct mpu_engine *e, const void *b, size_t n) {
    int r = e->io.write(e->io.ctx, b, n);
    if (r < 0 && !e->detail[0]) {
        mpu_eng_fail(e, r, "writing to the board failed");
    }
    return r;
}

/* Read byte by byte until the input ends with pat. @return MPU_OK, 0 < on error,
 * MPU_ERR_TIMEOUT when the deadline passes. */
int mpu_eng_wait_for(struct mpu_engine *e, const char *pat, int64_t deadline) {
    size_t plen = strlen(pat), have = 0;
    uint8_t tail[64];
    for (;;) {
        uint8_t c;
        int r = mpu_eng_rd(e, &c, 1, deadline, 0);
        if (r == 0) {
            return MPU_ERR_TIMEOUT;
        }
        if (r < 0) {
            return r;
        }
        if (have == plen) {
            memmove(tail, tail + 1, plen - 1);
            have--;
        }
        tail[have++] = c;
        if (have == plen && memcmp(tail, pat, plen) == 0) {
            return MPU_OK;
        }
    }
}

/* Ctrl-C twice (a program may catch the first KeyboardInterrupt), then drain
 * until the board has been quiet for a while. */
static int stop_program(struct mpu_engine *e) {
    int r = mpu_eng_wr(e, "\r\x03\x03", 3);
    if (r < 0) {
        return r;
    }
    int64_t give_up = mpu_eng_after(e, e->o.busy_ms);
    for (;;) {
        uint8_t buf[256];
        r = mpu_eng_rd(e, buf, sizeof(buf), mpu_eng_after(e, e->o.quiet_ms), 0);
        if (r == 0) {
            return MPU_OK;
        }
        if (r < 0) {
            return mpu_eng_fail(e, r, "the link failed while stopping the board's program");
        }
        if (e->io.now(e->io.ctx) >= give_up) {
            return mpu_eng_fail(e, MPU_ERR_BUSY,
                "the board kept running after Ctrl-C for %d ms (a program that ignores "
                "KeyboardInterrupt?); last output: \"%s\"", e->o.busy_ms, mpu_eng_seen(e));
        }
    }
}

/* Wait for the raw REPL banner. Everything read since e->nseen was last reset
 * counts, so a short wait can be resumed by a longer one. */
static int wait_banner(struct mpu_engine *e, int64_t deadline) {
    size_t plen = sizeof(BANNER) - 1;
    for (;;) {
        if (e->nseen >= plen && !memcmp(e->seen + e->nseen - plen, BANNER, plen)) {
            return MPU_OK;
        }
        uint8_t c;
        int r = mpu_eng_rd(e, &c, 1, deadline, 0);
        if (r <= 0) {
            return r == 0 ? MPU_ERR_TIMEOUT : r;
        }
    }
}

/* Has the board said nothing since Ctrl-A but what a block receiver says
 * (credits, ACK or NAK + seq, CAN + text + \x04 + '>')? Boot messages or
 * other text mean a board that is not stuck in a receiver: no break then. */
static int receiver_talk(struct mpu_engine *e) {
    size_t i = 0, n = e->nseen;
    const uint8_t *b = e->seen;
    while (i < n) {
        if (b[i] == MPU_PROTO_F_CREDIT || b[i] == MPU_PROTO_F_DONE) {
            i++;
        } else if (b[i] == MPU_PROTO_BLK_ACK || b[i] == MPU_PROTO_BLK_NAK) {
            i += 2;
        } else if (b[i] == MPU_PROTO_BLK_CAN) {
            while (i < n && b[i] != MPU_PROTO_CTRL_D) {
                i++;
            }
            i++;
        } else {
            return 0;
        }
    }
    return 1;
}

/* Session break (PROTOCOL.md): a board deaf to Ctrl-C inside a block receiver
 * takes RESYNC and an X block as an abort. Wait out its gap inside a block, so
 * that a receiver which swallowed the break as block data has NAKed since and
 * hunts for RESYNC, then stop it again and ask for the raw REPL. */
static int session_break(struct mpu_engine *e) {
    int r = mpu_eng_wr(e, MPU_PROTO_BREAK, MPU_PROTO_BREAK_LEN);
    if (r < 0) {
        return r;
    }
    int64_t until = mpu_eng_after(e, MPU_PROTO_BREAK_GAP_MS);
    for (;;) {
        uint8_t buf[256];
        r = mpu_eng_rd(e, buf, sizeof(buf), until, 0);
        if (r == 0) {
            break;
        }
        if (r < 0) {
            return mpu_eng_fail(e, r, "the link failed during a session break");
        }
    }
    e->nseen = 0;
    if ((r = stop_program(e)) < 0) {
        return r;
    }
    e->nseen = 0;
    return mpu_eng_wr(e, "\r\x01", 2);
}

/* One attempt at the raw REPL: Ctrl-C, drain, Ctrl-A, banner; session breaks
 * while the board is silent and break_end has not passed. */
static int enter_once(struct mpu_engine *e, int *breaks, int64_t break_end) {
    e->nseen = 0;
    int r = stop_program(e);
    if (r < 0) {
        return r;
    }
    e->nseen = 0;
    if ((r = mpu_eng_wr(e, "\r\x01", 2)) < 0) {
        return r;
    }
    int64_t deadline = mpu_eng_after(e, e->o.answer_ms);
    for (;;) {
        /* A board that took a break as block data was late to time out
         * within its block: give it a longer silence before the next. */
        int64_t soon = mpu_eng_after(e, *breaks < MPU_PROTO_BREAK_MAX ? MPU_PROTO_BREAK_AGAIN_MS
                                                                       : MPU_PROTO_BREAK_AFTER_MS);
        if (e->o.no_break || *breaks <= 0 || soon + MPU_PROTO_BREAK_GAP_MS > break_end || soon >= deadline) {
            r = wait_banner(e, deadline);
            break;
        }
        r = wait_banner(e, soon);
        if (r != MPU_ERR_TIMEOUT) {
            break;
        }
        if (!receiver_talk(e)) {
            *breaks = 0;
            continue;
        }
        (*breaks)--;
        if ((r = session_break(e)) < 0) {
            return r;
        }
        deadline = mpu_eng_after(e, e->o.answer_ms);
    }
    if (r == MPU_ERR_TIMEOUT) {
        if (e->nseen == 0) {
            return mpu_eng_fail(e, MPU_ERR_TIMEOUT,
                "no answer to Ctrl-A within %d ms: not a MicroPython REPL, or busy with a "
                "program that ignores Ctrl-C", e->o.answer_ms);
        }
        return mpu_eng_fail(e, MPU_ERR_PROTO, "unexpected answer to raw REPL entry: \"%s\"", mpu_eng_seen(e));
    }
    if (r < 0) {
        return mpu_eng_fail(e, r, "the link failed while entering the raw REPL");
    }
    return MPU_OK;
}

/* After a session break, a slow board may still owe banners for the Ctrl-A
 * sent before it: let them come now, while nothing else is asked. Those that
 * come later still are skipped by mpu_eng_negotiate(). */
static int drain_late_banners(struct mpu_engine *e) {
    size_t plen = sizeof(BANNER) - 1, got = 0;
    for (;;) {
        uint8_t c;
        int r = mpu_eng_rd(e, &c, 1, mpu_eng_after(e, MPU_PROTO_BREAK_GAP_MS), 0);
        if (r == 0) {
            return MPU_OK;
        }
        if (r < 0) {
            return mpu_eng_fail(e, r, "the link failed while entering the raw REPL");
        }
        got = c == (uint8_t)BANNER[got] ? got + 1 : c == (uint8_t)BANNER[0];
        if (got == plen) {
            got = 0;
            if (e->late_banners > 0) {
                e->late_banners--;
            }
        }
    }
}

int mpu_engine_enter(struct mpu_engine *e, int soft_reset) {
    e->in_raw = 0;
    e->detail[0] = 0;
    /* A board that resets when its port opens (auto-reset circuits) drops the
     * first attempt while it boots: try again once. */
    int tries = e->o.enter_tries > 0 ? e->o.enter_tries : 1;
    int breaks = MPU_PROTO_BREAK_MAX;
    int64_t break_end = mpu_eng_after(e, MPU_PROTO_BREAK_WITHIN_MS);
    int r;
    for (int i = 0; i < tries; i++) {
        r = enter_once(e, &breaks, break_end);
        if (r != MPU_ERR_TIMEOUT && r != MPU_ERR_PROTO) {
            break;
        }
    }
    e->late_banners = MPU_PROTO_BREAK_MAX - breaks;
    if (r == MPU_OK && e->late_banners > 0) {
        r = drain_late_banners(e);
    }
    if (r != MPU_OK) {
        return r;
    }
    e->detail[0] = 0; /* a failed first attempt is no news */
    e->in_raw = 1;
    if (soft_reset) {
        return mpu_engine_soft_reset(e);
    }
    return MPU_OK;
}

int mpu_engine_soft_reset(struct mpu_engine *e) {
    e->nseen = 0;
    int r = mpu_eng_wr(e, "\x04", 1);
    if (r < 0) {
        return r;
    }
    e->in_raw = 0;
    r = mpu_eng_wait_for(e, "soft reboot\r\n", mpu_eng_after(e, e->o.busy_ms));
    if (r == MPU_OK) {
        r = mpu_eng_wait_for(e, BANNER, mpu_eng_after(e, e->o.busy_ms));
    }
    if (r == MPU_ERR_TIMEOUT) {
        return mpu_eng_fail(e, e->nseen ? MPU_ERR_PROTO : MPU_ERR_TIMEOUT,
            "no raw REPL banner after soft reset; got \"%s\"", mpu_eng_seen(e));
    }
    if (r < 0) {
        return mpu_eng_fail(e, r, "the link failed during soft reset");
    }
    e->in_raw = 1;
    return MPU_OK;
}

int mpu_engine_leave(struct mpu_engine *e) {
    e->in_raw = 0;
    return mpu_eng_wr(e, "\r\x02", 2);
}

void mpu_eng_progress(struct mpu_engine *e, size_t sent, size_t total) {
    e->sent = sent;
    if (e->sink.progress) {
        e->sink.progress(e->sink.ctx, sent, total);
    }
}

int mpu_eng_read_n(struct mpu_engine *e, uint8_t *buf, size_t n, int64_t deadline, const char *what) {
    size_t got = 0;
    while (got < n) {
        int r = mpu_eng_rd(e, buf + got, n - got, deadline, 0);
        if (r == 0) {
            return mpu_eng_fail(e, e->nseen ? MPU_ERR_PROTO : MPU_ERR_TIMEOUT,
                "no complete %s from the board; got \"%s\"", what, mpu_eng_seen(e));
        }
        if (r < 0) {
            return r;
        }
        got += (size_t)r;
    }
    return MPU_OK;
}

int mpu_eng_negotiate(struct mpu_engine *e, char letter) {
    e->nseen = 0;
    uint8_t req[3] = { MPU_PROTO_CTRL_E, (uint8_t)letter, MPU_PROTO_CTRL_A };
    int r = mpu_eng_wr(e, req, 3);
    if (r < 0) {
        return r;
    }
    uint8_t hdr[2];
    int64_t deadline = mpu_eng_after(e, e->o.answer_ms);
    r = mpu_eng_read_n(e, hdr, 2, deadline, "answer to the raw-paste request");
    /* A banner owed since a session break comes before the answer: skip it.
     * An old firmware's answer is a banner too (the request's letters go into
     * its line, Ctrl-A restarts it), so a skipped banner with nothing after it
     * was that answer. */
    while (r >= 0 && e->late_banners > 0 && hdr[0] == (uint8_t)BANNER[0] && hdr[1] == (uint8_t)BANNER[1]) {
        e->late_banners--;
        if ((r = mpu_eng_wait_for(e, MPU_PROTO_OLD_RAW_TAIL, deadline)) < 0) {
            break;
        }
        if ((r = mpu_eng_rd(e, hdr, 1, deadline, 0)) == 0) {
            e->raw_paste = 0;
            return 0;
        }
        if (r > 0) {
            r = mpu_eng_read_n(e, hdr + 1, 1, deadline, "answer to the raw-paste request");
        }
    }
    if (r < 0) {
        return r;
    }
    if (hdr[0] == MPU_PROTO_NEG_REPLY && hdr[1] == MPU_PROTO_NEG_ACCEPTED) {
        return 1;
    }
    if (hdr[0] == MPU_PROTO_NEG_REPLY && hdr[1] == MPU_PROTO_NEG_REFUSED) {
        /* Refused: the board resets its line and prints a new prompt. */
        r = mpu_eng_wait_for(e, ">", deadline);
    } else {
        /* Old firmware: \x05 and the letter went into the line and \x01 restarted the raw REPL. */
        e->raw_paste = 0;
        r = mpu_eng_wait_for(e, MPU_PROTO_OLD_RAW_TAIL, deadline);
    }
    if (r == MPU_ERR_TIMEOUT) {
        return mpu_eng_fail(e, MPU_ERR_PROTO, "unexpected answer to the raw-paste request: \"%s\"",
            mpu_eng_seen(e));
    }
    return r < 0 ? r : 0;
}

/* Try raw-paste: @return 1 when on (window in *window), 0 when absent or refused
 * (raw REPL prompt consumed), or a negative error. */
static int start_raw_paste(struct mpu_engine *e, unsigned *window) {
    int r = mpu_eng_negotiate(e, MPU_PROTO_SUB_RAW_PASTE);
    if (r <= 0) {
        return r;
    }
    uint8_t w[2];
    r = mpu_eng_read_n(e, w, 2, mpu_eng_after(e, e->o.answer_ms), "raw-paste window size");
    if (r < 0) {
        return r;
    }
    *window = (unsigned)w[0] | (unsigned)w[1] << 8;
    if (*window == 0) {
        return mpu_eng_fail(e, MPU_ERR_PROTO, "raw-paste: window size 0");
    }
    return 1;
}

/* Send code with raw-paste flow control. @return MPU_OK, or 1 when interrupted
 * (Ctrl-C sent), or a negative error. */
static int send_raw_paste(struct mpu_engine *e, const uint8_t *code, size_t len, unsigned window) {
    size_t remain = window, i = 0;
    int interrupted = 0;
    while (i < len) {
        /* Look for credits without waiting while there is room, wait when there is none. */
        while (1) {
            uint8_t c;
            int r = mpu_eng_rd(e, &c, 1, remain ? 0 : mpu_eng_after(e, e->o.window_ms), 0);
            if (r == 0) {
                if (remain == 0) {
                    return mpu_eng_fail(e, MPU_ERR_TIMEOUT,
                        "raw-paste: no window credit within %d ms after %zu of %zu bytes",
                        e->o.window_ms, i, len);
                }
                break;
            }
            if (r == MPU_ERR_INTR) {
                interrupted = 1;
                break;
            }
            if (r < 0) {
                return mpu_eng_fail(e, r, "the link failed after %zu of %zu bytes", i, len);
            }
            if (c == 0x01) {
                remain += window;
            } else if (c == 0x04) {
                /* The board stopped reading (a syntax or memory error): acknowledge. */
                e->board_abort = 1;
                r = mpu_eng_wr(e, "\x04", 1);
                return r < 0 ? r : MPU_OK;
            } else {
                return mpu_eng_fail(e, MPU_ERR_PROTO, "unexpected byte during raw-paste after %zu bytes: \"%s\"",
                    i, mpu_eng_seen(e));
            }
        }
        if (interrupted) {
            break;
        }
        size_t k = len - i < remain ? len - i : remain;
        int r = mpu_eng_wr(e, code + i, k);
        if (r < 0) {
            return mpu_eng_fail(e, r, "the link failed after %zu of %zu bytes", i, len);
        }
        i += k;
        remain -= k;
        mpu_eng_progress(e, i, len);
    }
    int r = mpu_eng_wr(e, interrupted ? "\x03" : "\x04", 1);
    if (r < 0) {
        return r;
    }
    /* The board acknowledges the end with \x04; credits may still come before it. */
    int64_t deadline = mpu_eng_after(e, e->o.window_ms);
    for (;;) {
        uint8_t c;
        r = mpu_eng_rd(e, &c, 1, deadline, 0);
        if (r == 0) {
            return mpu_eng_fail(e, MPU_ERR_TIMEOUT, "raw-paste: the board did not acknowledge the end of data");
        }
        if (r == MPU_ERR_INTR) {
            continue;
        }
        if (r < 0) {
            return mpu_eng_fail(e, r, "the link failed at the end of the raw-paste data");
        }
        if (c == 0x04) {
            return interrupted;
        }
        if (c != 0x01) {
            return mpu_eng_fail(e, MPU_ERR_PROTO, "unexpected byte at the end of raw-paste: \"%s\"", mpu_eng_seen(e));
        }
    }
}

/* Plain raw REPL: no flow control, so send in bursts a 256-byte RX buffer absorbs. */
static int send_raw(struct mpu_engine *e, const uint8_t *code, size_t len) {
    size_t chunk = e->o.raw_chunk > 0 ? (size_t)e->o.raw_chunk : 128;
    /* A burst takes chunk * 10 bits on the wire; pause on top of that. */
    int pause = e->o.raw_pause_ms;
    if (e->o.baud > 0) {
        pause += (int)(chunk * 10 * 1000 / (size_t)e->o.baud) + 1;
    }
    for (size_t i = 0; i < len;) {
        size_t k = len - i < chunk ? len - i : chunk;
        int r = mpu_eng_wr(e, code + i, k);
        if (r < 0) {
            return mpu_eng_fail(e, r, "the link failed after %zu of %zu bytes", i, len);
        }
        i += k;
        mpu_eng_progress(e, i, len);
        uint8_t c;
        r = mpu_eng_rd(e, &c, 1, mpu_eng_after(e, pause), 0);
        if (r == MPU_ERR_INTR) {
            mpu_eng_wr(e, "\x03", 1); /* clears the raw REPL line */
            return mpu_eng_fail(e, MPU_ERR_INTR, "interrupted after %zu of %zu bytes", i, len);
        }
        if (r < 0) {
            return mpu_eng_fail(e, r, "the link failed after %zu of %zu bytes", i, len);
        }
        if (r > 0) {
            return mpu_eng_fail(e, MPU_ERR_PROTO, "unexpected output in raw REPL during upload: \"%s\"", mpu_eng_seen(e));
        }
    }
    int r = mpu_eng_wr(e, "\x04", 1);
    if (r < 0) {
        return r;
    }
    e->nseen = 0;
    r = mpu_eng_wait_for(e, "OK", mpu_eng_after(e, e->o.answer_ms));
    if (r == MPU_ERR_TIMEOUT) {
        return mpu_eng_fail(e, e->nseen ? MPU_ERR_PROTO : MPU_ERR_TIMEOUT,
            "raw REPL: no OK after the code; got \"%s\"", mpu_eng_seen(e));
    }
    if (r < 0) {
        return mpu_eng_fail(e, r, "the link failed waiting for OK");
    }
    if (e->nseen != 2) {
        return mpu_eng_fail(e, MPU_ERR_PROTO, "raw REPL: unexpected bytes before OK: \"%s\"", mpu_eng_seen(e));
    }
    return MPU_OK;
}

static int feed_next(struct mpu_engine *e) {
    const struct mpu_feed *f = e->feed;
    size_t k = f->len - e->fed < f->chunk ? f->len - e->fed : f->chunk;
    if (k == 0) {
        return MPU_OK;
    }
    int r = mpu_eng_wr(e, f->data + e->fed, k);
    e->fed += k;
    mpu_eng_progress(e, e->fed, f->len);
    return r;
}

/* Output, \x04, traceback, \x04, then the prompt '>' (after a soft reboot banner
 * when the program called sys.exit()). */
int mpu_eng_follow(struct mpu_engine *e, int interrupted) {
    int phase = 0, timed_out = 0;
    int64_t deadline = interrupted ? mpu_eng_after(e, e->o.busy_ms) : mpu_eng_after(e, e->o.run_ms);
    e->tb_len = 0;
    e->nseen = 0;
    for (;;) {
        uint8_t buf[1024];
        /* The user's input goes to the program only once any feed is complete. */
        int running = phase < 2 && (!e->feed || e->fed >= e->feed->len);
        /* The traceback's \x04 comes right after its text, and a traceback
         * never ends in '>': a '>' there and then silence is the raw REPL
         * prompt, after an end marker lost on the line. */
        int64_t soon = mpu_eng_after(e, e->o.answer_ms);
        int at_prompt = phase == 1 && e->nseen > 0 && e->seen[e->nseen - 1] == '>'
            && (deadline < 0 || soon < deadline);
        int r = mpu_eng_rd(e, buf, sizeof(buf), at_prompt ? soon : deadline, running ? MPU_IO_RUNNING : 0);
        if (r == 0 && at_prompt) {
            e->in_raw = 1;
            return mpu_eng_fail(e, MPU_ERR_PROTO,
                "the program's end marker was lost on the line (the board is back at its prompt)");
        }
        if (r == MPU_ERR_INTR || (r == 0 && phase < 2 && !interrupted)) {
            if (interrupted) {
                return mpu_eng_fail(e, MPU_ERR_INTR, "interrupted twice; the board may still be running");
            }
            if (r == 0) {
                timed_out = 1;
            }
            interrupted = 1;
            if ((r = mpu_eng_wr(e, "\x03", 1)) < 0) {
                return r;
            }
            deadline = mpu_eng_after(e, e->o.busy_ms);
            continue;
        }
        if (r == 0) {
            if (phase == 2) {
                return mpu_eng_fail(e, MPU_ERR_PROTO, "no prompt after the program ended; got \"%s\"", mpu_eng_seen(e));
            }
            return mpu_eng_fail(e, MPU_ERR_BUSY,
                "the board ignored Ctrl-C for %d ms; its program is still running", e->o.busy_ms);
        }
        if (r < 0) {
            return mpu_eng_fail(e, r, "the link failed while the program ran (%zu bytes sent)", e->sent);
        }
        size_t start = 0;
        for (size_t i = 0; i < (size_t)r; i++) {
            uint8_t c = buf[i];
            if (phase == 2) {
                if (c == '>') {
                    e->in_raw = 1;
                    if (interrupted) {
                        return mpu_eng_fail(e, timed_out ? MPU_ERR_TIMEOUT : MPU_ERR_INTR,
                            timed_out ? "the program ran longer than %d ms" : "interrupted",
                            e->o.run_ms);
                    }
                    return e->tb_len ? MPU_ERR_EXCEPTION : MPU_OK;
                }
                continue;
            }
            int ack = e->feed && e->fed < e->feed->len && phase == 0 && c == 0x06;
            if (c != 0x04 && !ack) {
                continue;
            }
            if (i > start) {
                if (phase == 0 && e->sink.out) {
                    e->sink.out(e->sink.ctx, buf + start, i - start);
                } else if (phase == 1) {
                    e->tb_len += i - start;
                    if (e->sink.err) {
                        e->sink.err(e->sink.ctx, buf + start, i - start);
                    }
                }
            }
            start = i + 1;
            if (ack) {
                if ((r = feed_next(e)) < 0) {
                    return r;
                }
                continue;
            }
            phase++;
            if (phase == 2 && deadline < 0) {
                deadline = mpu_eng_after(e, e->o.busy_ms);
            }
        }
        if (phase < 2 && (size_t)r > start) {
            if (phase == 0 && e->sink.out) {
                e->sink.out(e->sink.ctx, buf + start, (size_t)r - start);
            } else if (phase == 1) {
                e->tb_len += (size_t)r - start;
                if (e->sink.err) {
                    e->sink.err(e->sink.ctx, buf + start, (size_t)r - start);
                }
            }
        }
    }
}

/* Plain raw REPL has no flow control; anything longer than the board's receive
 * buffer goes through a small loader (itself short enough to be safe) that asks
 * for each 128-byte chunk with \x06 and exec()s the whole. */
static int exec_loader(struct mpu_engine *e, const uint8_t *code, size_t len) {
    char loader[400];
    int n = snprintf(loader, sizeof(loader),
        "import sys\n"
        "def _mpu_l(n):\n"
        " r=getattr(sys.stdin,'buffer',sys.stdin).read;b=bytearray(n);i=0\n"
        " while i<n:\n"
        "  k=min(n-i,%d);sys.stdout.write('\\x06');c=r(k)\n"
        "  while len(c)<k:c+=r(k-len(c))\n"
        "  b[i:i+k]=c;i+=k\n"
        " return bytes(b)\n"
        "exec(_mpu_l(%zu))\n", MPU_LOADER_CHUNK, len);
    struct mpu_feed feed = { code, len, MPU_LOADER_CHUNK };
    e->mode = MPU_MODE_RAW_LOADER;
    int r = send_raw(e, (const uint8_t *)loader, (size_t)n);
    if (r < 0) {
        return r;
    }
    if (e->sink.mode) {
        e->sink.mode(e->sink.ctx, e->mode);
    }
    e->feed = &feed;
    e->fed = 0;
    r = mpu_eng_follow(e, 0);
    e->feed = NULL;
    e->sent = e->fed;
    return r;
}

int mpu_engine_exec_feed(struct mpu_engine *e, const uint8_t *code, size_t len,
    const struct mpu_feed *feed) {
    e->detail[0] = 0;
    e->sent = 0;
    e->board_abort = 0;
    if (len == 0) {
        /* An empty program would be a soft reset in the raw REPL. */
        code = (const uint8_t *)"\n";
        len = 1;
    }
    e->feed = feed;
    e->fed = 0;
    if (!e->in_raw) {
        return mpu_eng_fail(e, MPU_ERR_ARG, "not in the raw REPL");
    }
    e->in_raw = 0;
    int r = 0;
    unsigned window = 0;
    if (!e->o.no_raw_paste && e->raw_paste != 0) {
        r = start_raw_paste(e, &window);
        if (r < 0) {
            return r;
        }
        e->raw_paste = r;
    }
    int interrupted = 0;
    if (e->raw_paste == 1 && !e->o.no_raw_paste) {
        e->mode = MPU_MODE_RAW_PASTE;
        if (e->sink.mode) {
            e->sink.mode(e->sink.ctx, e->mode);
        }
        r = send_raw_paste(e, code, len, window);
        if (r < 0) {
            return r;
        }
        interrupted = r;
    } else {
        e->mode = MPU_MODE_RAW;
        if (!feed && e->o.raw_direct_max > 0 && len > (size_t)e->o.raw_direct_max) {
            return exec_loader(e, code, len);
        }
        r = send_raw(e, code, len);
        if (r < 0) {
            return r;
        }
    }
    if (e->sink.mode) {
        e->sink.mode(e->sink.ctx, e->mode);
    }
    if (e->no_follow && !interrupted) {
        return MPU_OK;
    }
    if (feed && !interrupted && !e->board_abort) {
        mpu_eng_progress(e, 0, feed->len);
    }
    r = mpu_eng_follow(e, interrupted);
    e->feed = NULL;
    return r;
}

int mpu_engine_exec(struct mpu_engine *e, const uint8_t *code, size_t len) {
    return mpu_engine_exec_feed(e, code, len, NULL);
}
