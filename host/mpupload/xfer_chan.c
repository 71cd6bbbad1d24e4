/* B.5 host end, the channel: which device end serves the transfer (native F or
 * the stock program), and the bytes to and from it, raw or as text lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"
#include "err.h"
#include "mpu_proto.h"
#include "xfer.h"
#include "xfer_int.h"
#include "xfer_stock.h"

/* What this session's board end is; a new session (or link) starts afresh. */
static struct {
    const struct mpu_session *s;
    const struct mpu_link *link;
    int native;         /* -1 not asked yet, 0 stock, 1 firmware/pyexec F */
    int defined;        /* stage 0 and the probe ran: _mpu and _mpu_x exist */
    unsigned pieces;    /* 1 << enum mpu_stock_piece: pieces run on the board */
    int crc;            /* the board has binascii.crc32 */
    enum xf_wire wire;
} sess;

static void sess_check(struct mpu_session *s) {
    if (sess.s != s || sess.link != s->link) {
        memset(&sess, 0, sizeof(sess));
        sess.s = s;
        sess.link = s->link;
        sess.native = -1;
    }
}

uint32_t xf_get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void xf_put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

int64_t xf_reply_deadline(struct xf *x) {
    return mpu_eng_after(x->e, MPU_PROTO_RX_TIMEOUT_MS);
}

/* Raw bytes from the link, through a small buffer (text lines are read whole). */
static int raw_read(struct xf *x, uint8_t *b, size_t n, int64_t deadline) {
    if (x->raw_pos == x->raw_len) {
        int r = mpu_eng_rd(x->e, x->raw, sizeof(x->raw), deadline, 0);
        if (r <= 0) {
            return r;
        }
        x->wire_in += (size_t)r;
        x->raw_pos = 0;
        x->raw_len = (size_t)r;
    }
    size_t k = x->raw_len - x->raw_pos < n ? x->raw_len - x->raw_pos : n;
    memcpy(b, x->raw + x->raw_pos, k);
    x->raw_pos += k;
    return (int)k;
}

/* Exactly n bytes through rd (raw_read or xf_read): MPU_OK, MPU_ERR_TIMEOUT or an error. */
static int read_all(struct xf *x, int (*rd)(struct xf *, uint8_t *, size_t, int64_t), uint8_t *b, size_t n,
    int64_t deadline) {
    size_t got = 0;
    while (got < n) {
        int r = rd(x, b + got, n - got, deadline);
        if (r == 0) {
            return MPU_ERR_TIMEOUT;
        }
        if (r < 0) {
            return r;
        }
        got += (size_t)r;
    }
    return MPU_OK;
}

static int raw_read_n(struct xf *x, uint8_t *b, size_t n, int64_t deadline) {
    return read_all(x, raw_read, b, n, deadline);
}

/* The stock program ended (a traceback where protocol bytes were due): its last
 * line into c->detail, the prompt read. */
int xf_program_died(struct xf *x) {
    char tb[400];
    size_t k = 0, line = 0;
    int nl = 0;
    uint8_t b = 0;
    int64_t end = mpu_eng_after(x->e, 2000);
    while (raw_read(x, &b, 1, end) == 1 && b != 0x04) {
        if (b == '\n' || b == '\r') {
            nl = 1;
        } else if (k + 1 < sizeof(tb)) {
            if (nl) {
                line = k;
                nl = 0;
            }
            tb[k++] = (char)b;
        }
    }
    tb[k] = 0;
    if (b == 0x04 && raw_read(x, &b, 1, end) == 1 && b == '>') {
        x->e->in_raw = 1;
    }
    snprintf(x->c->detail, sizeof(x->c->detail), "%s: the board cannot run the transfer program: %s", x->what,
        tb + line);
    return MPU_ERR_SUPP;
}

static int b64val(int ch) {
    return ch >= 'A' && ch <= 'Z' ? ch - 'A' : ch >= 'a' && ch <= 'z' ? ch - 'a' + 26
        : ch >= '0' && ch <= '9' ? ch - '0' + 52 : ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

static int hexval(int ch) {
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
        : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/* Text wire: read one line and decode it into x->in. A line that does not decode
 * gives a byte that starts no block, so the block reader NAKs it. */
static int read_line(struct xf *x, int64_t deadline) {
    size_t n = 0;
    x->in_len = x->in_pos = 0;
    for (;;) {
        uint8_t b;
        int r = raw_read(x, &b, 1, deadline);
        if (r <= 0) {
            return r == 0 ? MPU_ERR_TIMEOUT : r;
        }
        if (b == 0x04 && !x->native) {
            return xf_program_died(x);
        }
        if (b == '\n') {
            break;
        }
        if (b == '\r') {
            continue;
        }
        if (n + 1 >= x->line_size) {
            size_t ns = x->line_size ? x->line_size * 2 : 4096;
            char *p = realloc(x->line, ns);
            if (!p) {
                return MPU_ERR_MEM;
            }
            x->line = p;
            x->line_size = ns;
        }
        x->line[n++] = (char)b;
    }
    if (x->in_size < n + 1) {
        uint8_t *p = realloc(x->in, n + 1);
        if (!p) {
            return MPU_ERR_MEM;
        }
        x->in = p;
        x->in_size = n + 1;
    }
    int bad = 0;
    if (x->wire == XF_WIRE_BASE64) {
        uint32_t acc = 0;
        int bits = 0;
        for (size_t i = 0; i < n && x->line[i] != '='; i++) {
            int v = b64val(x->line[i]);
            if (v < 0) {
                bad = 1;
                break;
            }
            acc = acc << 6 | (uint32_t)v;
            bits += 6;
            if (bits >= 8) {
                bits -= 8;
                x->in[x->in_len++] = (uint8_t)(acc >> bits);
            }
        }
    } else {
        for (size_t i = 0; i + 1 < n; i += 2) {
            int h = hexval(x->line[i]), l = hexval(x->line[i + 1]);
            if (h < 0 || l < 0) {
                bad = 1;
                break;
            }
            x->in[x->in_len++] = (uint8_t)(h << 4 | l);
        }
    }
    if (bad || (n && !x->in_len)) {
        x->in[0] = 0;
        x->in_len = 1;
    }
    return MPU_OK;
}

int xf_read(struct xf *x, uint8_t *b, size_t n, int64_t deadline) {
    if (x->wire == XF_WIRE_BINARY) {
        return raw_read(x, b, n, deadline);
    }
    while (x->in_pos == x->in_len) {
        int r = read_line(x, deadline);
        if (r == MPU_ERR_TIMEOUT) {
            return 0;
        }
        if (r < 0) {
            return r;
        }
    }
    size_t k = x->in_len - x->in_pos < n ? x->in_len - x->in_pos : n;
    memcpy(b, x->in + x->in_pos, k);
    x->in_pos += k;
    return (int)k;
}

int xf_peek(struct xf *x, uint8_t *b, int64_t deadline) {
    if (x->wire != XF_WIRE_BINARY) {
        int r = xf_read(x, b, 1, deadline);
        if (r == 1) {
            x->in_pos--;
        }
        return r;
    }
    if (x->raw_pos == x->raw_len) {
        int r = mpu_eng_rd(x->e, x->raw, sizeof(x->raw), deadline, 0);
        if (r <= 0) {
            return r;
        }
        x->wire_in += (size_t)r;
        x->raw_pos = 0;
        x->raw_len = (size_t)r;
    }
    *b = x->raw[x->raw_pos];
    return 1;
}

int xf_read_n(struct xf *x, uint8_t *b, size_t n, int64_t deadline) {
    return read_all(x, xf_read, b, n, deadline);
}

int xf_write(struct xf *x, const uint8_t *b, size_t n) {
    if (x->wire == XF_WIRE_BINARY) {
        x->wire_out += n;
        return mpu_eng_wr(x->e, b, n);
    }
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t need = n * 2 + 8;
    if (x->out_size < need) {
        char *p = realloc(x->out, need);
        if (!p) {
            return MPU_ERR_MEM;
        }
        x->out = p;
        x->out_size = need;
    }
    size_t k = 0;
    if (x->wire == XF_WIRE_BASE64) {
        for (size_t i = 0; i < n; i += 3) {
            uint32_t v = (uint32_t)b[i] << 16 | (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0) | (i + 2 < n ? b[i + 2] : 0);
            x->out[k++] = b64[v >> 18 & 63];
            x->out[k++] = b64[v >> 12 & 63];
            x->out[k++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
            x->out[k++] = i + 2 < n ? b64[v & 63] : '=';
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            k += (size_t)sprintf(x->out + k, "%02x", b[i]);
        }
    }
    x->out[k++] = '\r';
    x->wire_out += k;
    return mpu_eng_wr(x->e, x->out, k);
}

int xf_block_write(struct xf *x, char type, unsigned seq, const uint8_t *p, size_t n) {
    size_t need = n + MPU_PROTO_BLK_HEADER_LEN + MPU_PROTO_BLK_TRAILER_LEN;
    if (x->blk_size < need) {
        uint8_t *q = realloc(x->blk, need);
        if (!q) {
            return MPU_ERR_MEM;
        }
        x->blk = q;
        x->blk_size = need;
    }
    uint8_t *f = x->blk;
    f[0] = MPU_PROTO_BLK_SYNC;
    f[1] = (uint8_t)type;
    f[2] = (uint8_t)seq;
    f[3] = (uint8_t)n;
    f[4] = (uint8_t)(n >> 8);
    if (n) {
        memcpy(f + 5, p, n);
    }
    xf_put32(f + 5 + n, mpu_crc32(0, f + 1, 4 + n));
    return xf_write(x, f, need);
}

void xf_explain(char *detail, size_t len) {
    /* MicroPython names errno values by number only on some ports ("OSError: 28"). */
    static const struct {
        int code;
        const char *name, *words;
    } known[] = {
        { 28, "ENOSPC", "no space left on the board's filesystem" },
        { 2, "ENOENT", "no such file or directory" },
        { 21, "EISDIR", "is a directory" },
        { 20, "ENOTDIR", "not a directory" },
        { 17, "EEXIST", "exists already" },
        { 19, "ENODEV", "no filesystem mounted there" },
        { 30, "EROFS", "read-only filesystem" },
        { 110, "ETIMEDOUT", "the board timed out waiting for the host" },
    };
    const char *p = strstr(detail, "[Errno ");
    int code = p ? atoi(p + 7) : (p = strstr(detail, "OSError: ")) ? atoi(p + 9) : 0;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (code == known[i].code || strstr(detail, known[i].name)) {
            size_t n = strlen(detail);
            snprintf(detail + n, len - n, " (%s)", known[i].words);
            return;
        }
    }
}

int xf_read_can(struct xf *x) {
    char msg[300];
    size_t k = 0;
    int64_t end = mpu_eng_after(x->e, MPU_PROTO_RX_TIMEOUT_MS);
    for (;;) {
        uint8_t b;
        int r = xf_read(x, &b, 1, end);
        if (r <= 0) {
            return r == 0 ? MPU_ERR_TIMEOUT : r;
        }
        if (b == 0x04) {
            break;
        }
        if (b != '\r' && b != '\n' && k + 1 < sizeof(msg)) {
            msg[k++] = (char)b;
        }
    }
    msg[k] = 0;
    snprintf(x->c->detail, sizeof(x->c->detail), "%s: the board says: %s", x->what, msg);
    xf_explain(x->c->detail, sizeof(x->c->detail));
    return MPU_OK;
}

int xf_finish(struct xf *x) {
    int64_t end = mpu_eng_after(x->e, MPU_PROTO_RX_TIMEOUT_MS);
    uint8_t b;
    int r;
    if (x->native) {
        r = raw_read_n(x, &b, 1, end);
        if (r == MPU_OK && b != '>') {
            return mpu_eng_fail(x->e, MPU_ERR_PROTO, "%s: no prompt after the transfer; got \"%s\"", x->what,
                mpu_eng_seen(x->e));
        }
    } else {
        /* The program's end: \x04, its (empty) exception text, \x04, '>'. */
        r = raw_read_n(x, &b, 1, end);
        if (r == MPU_OK && b != 0x04) {
            return mpu_eng_fail(x->e, MPU_ERR_PROTO, "%s: unexpected bytes after the transfer: \"%s\"", x->what,
                mpu_eng_seen(x->e));
        }
        size_t tb = 0;
        while (r == MPU_OK && (r = raw_read_n(x, &b, 1, end)) == MPU_OK && b != 0x04) {
            tb++;
        }
        if (r == MPU_OK) {
            r = raw_read_n(x, &b, 1, end);
        }
        if (r == MPU_OK && (b != '>' || tb)) {
            return mpu_eng_fail(x->e, MPU_ERR_PROTO, "%s: the transfer program failed: \"%s\"", x->what,
                mpu_eng_seen(x->e));
        }
    }
    if (r == MPU_OK) {
        x->e->in_raw = 1;
    } else if (r == MPU_ERR_TIMEOUT) {
        return mpu_eng_fail(x->e, r, "%s: no prompt after the transfer", x->what);
    }
    return r;
}

void xf_abort(struct xf *x, int put, unsigned seq) {
    int64_t end = mpu_eng_after(x->e, 3000);
    if (put) {
        /* The stock program may be waiting for a resync after padding: give it one
         * (at a block boundary it ignores it). */
        if ((!x->native && xf_write(x, (const uint8_t *)MPU_PROTO_RESYNC, MPU_PROTO_RESYNC_LEN) < 0)
            || xf_block_write(x, MPU_PROTO_BLK_ABORT, seq, NULL, 0) < 0) {
            return;
        }
    } else if (xf_write(x, (const uint8_t *)"\x03", 1) < 0) {
        return;
    }
    /* Skip replies (put) or blocks in flight (get) up to the CAN. */
    int pads = 0;
    for (;;) {
        uint8_t b, h[4];
        int64_t soon = mpu_eng_after(x->e, 500);
        int r = xf_read(x, &b, 1, put && soon < end ? soon : end);
        if (r == 0 && put && soon < end && !x->native && x->wire == XF_WIRE_BINARY && pads < 3) {
            /* The stock program may wait inside a block cut short: complete it. */
            uint8_t pad[64];
            memset(pad, 0, sizeof(pad));
            for (size_t n = x->B + MPU_PROTO_BLK_HEADER_LEN + MPU_PROTO_BLK_TRAILER_LEN; n && r == 0;) {
                size_t k = n < sizeof(pad) ? n : sizeof(pad);
                r = xf_write(x, pad, k);
                n -= k;
            }
            pads++;
            if (r == 0) {
                continue;
            }
        }
        if (r == 0 && put && mpu_now_ms() < end) {
            continue;
        }
        if (r != 1) {
            break;
        }
        if (put && (b == MPU_PROTO_BLK_ACK || b == MPU_PROTO_BLK_NAK)) {
            uint8_t q;
            if (xf_read_n(x, &q, 1, end) != MPU_OK) {
                break;
            }
            /* A NAK: the board waits for a resync, then for block q: make it the X. */
            if (b == MPU_PROTO_BLK_NAK && (xf_write(x, (const uint8_t *)MPU_PROTO_RESYNC, MPU_PROTO_RESYNC_LEN) < 0
                || xf_block_write(x, MPU_PROTO_BLK_ABORT, q, NULL, 0) < 0)) {
                return;
            }
            continue;
        }
        if (b == MPU_PROTO_BLK_CAN) {
            char keep[sizeof(x->c->detail)];
            memcpy(keep, x->c->detail, sizeof(keep));
            r = xf_read_can(x);
            memcpy(x->c->detail, keep, sizeof(keep));
            if (r == MPU_OK && put) {
                r = xf_write(x, (const uint8_t *)"\x04", 1);
            }
            if (r == MPU_OK) {
                xf_finish(x);
            }
            return;
        }
        if (!put && b == MPU_PROTO_BLK_SYNC && xf_read_n(x, h, 4, end) == MPU_OK
            && (h[0] == MPU_PROTO_BLK_DATA || h[0] == MPU_PROTO_BLK_END)) {
            size_t n = (size_t)h[2] | (size_t)h[3] << 8;
            uint8_t junk[256];
            n += MPU_PROTO_BLK_TRAILER_LEN;
            while (n) {
                size_t k = n < sizeof(junk) ? n : sizeof(junk);
                if (xf_read_n(x, junk, k, end) != MPU_OK) {
                    return;
                }
                n -= k;
            }
        }
    }
    if (put) {
        /* No answer: a board that wakes up later still finds the end of the abort. */
        xf_write(x, (const uint8_t *)"\x04", 1);
    }
}

void xf_free(struct xf *x) {
    free(x->in);
    free(x->line);
    free(x->out);
    free(x->blk);
    x->in = x->blk = NULL;
    x->line = x->out = NULL;
}

/* The largest block the host asks the stock receiver for; it takes less when
 * its heap is short. A text wire's lines hold a block's bytes twice over (hex)
 * plus their decoding, so it asks for less. */
#define XF_STOCK_BLOCK 4096
#define XF_STOCK_BLOCK_TEXT 2048
#define STOCK_BLOCK(x) ((x)->wire == XF_WIRE_BINARY ? XF_STOCK_BLOCK : XF_STOCK_BLOCK_TEXT)

/* The longest a piece of the stock program may take: it only defines things,
 * so a byte of it lost on the line must not leave us waiting for an end that
 * never comes. */
#define PIECE_MS 10000
#define PIECE_WINDOW_MS 2000
/* Tries per piece: a piece hit by a fault is refused by its SHA-256 (or fails
 * to compile, or its paste stalls) and is sent again. */
#define PIECE_TRIES 6

/* The longest the pieces may take, tries included: each try of a piece hit on
 * the line may wait PIECE_MS, and a command must end in bounded time. */
#define DEFINE_MS 25000
static int64_t define_end;

/* Run prog (stage 0 or a wrapped piece) with short timeouts; its output in *out. */
static int run_piece(struct xf *x, const char *prog, char **out) {
    struct mpu_engine_opts keep = x->e->o;
    if (x->e->o.run_ms < 0 || x->e->o.run_ms > PIECE_MS) {
        x->e->o.run_ms = PIECE_MS;
    }
    if (x->e->o.window_ms > PIECE_WINDOW_MS) {
        x->e->o.window_ms = PIECE_WINDOW_MS;
    }
    int r = mpu_xfer_run_capture(x->c, x->s, prog, out, NULL);
    x->e->o = keep;
    return r;
}

/* Send pieces p[0..n-1] as one program (n = 0: stage 0) until it runs. want: the
 * output must hold it. @return MPU_OK, its output in *out when asked. */
static int send_piece(struct xf *x, const enum mpu_stock_piece *p, size_t n, const char *want, char **out) {
    char *prog = n ? mpu_xfer_stock_wrap(p, n, NULL) : strdup(mpu_xfer_stock_stage0);
    if (!prog) {
        return MPU_ERR_MEM;
    }
    int r = MPU_ERR_PROTO;
    char last[200] = "";
    for (int tries = 0; tries < PIECE_TRIES; tries++) {
        char *o = NULL;
        if (tries && mpu_now_ms() > define_end) {
            break; /* r and c->detail: the last try's */
        }
        if (!x->e->in_raw && (r = mpu_engine_enter(x->e, 0)) != MPU_OK) {
            if (r == MPU_ERR_LINK || r == MPU_ERR_INTR) {
                break;
            }
            continue;
        }
        x->c->detail[0] = 0;
        r = run_piece(x, prog, &o);
        if (r == MPU_OK && (strstr(o, "MPUX") || (want && !strstr(o, want)))) {
            snprintf(x->c->detail, sizeof(x->c->detail), "%s: a piece of the transfer program was damaged on the "
                "line %d times", x->what, tries + 1);
            r = MPU_ERR_PROTO;
        }
        if (r == MPU_ERR_EXCEPTION) {
            char keep[sizeof(x->c->detail)];
            snprintf(keep, sizeof(keep), "%s", x->c->detail);
            snprintf(x->c->detail, sizeof(x->c->detail), "%s: the board cannot run the transfer program: %.600s",
                x->what, keep);
            /* A board that lacks what a piece needs says so again and again; a
             * damaged paste fails differently each time, and so does stage 0,
             * whose text is not checked. */
            if (n && (strstr(keep, "ImportError") || strstr(keep, "MemoryError") || strstr(keep, "AttributeError"))) {
                free(o);
                r = MPU_ERR_SUPP;
                break;
            }
            r = MPU_ERR_PROTO;
            /* The same error twice from a checked piece: stage 0 was damaged
             * (define_stock sends it again). */
            if (n && !strncmp(last, keep, sizeof(last) - 1)) {
                free(o);
                break;
            }
            snprintf(last, sizeof(last), "%.199s", keep);
        }
        if (r == MPU_OK) {
            if (out) {
                *out = o;
            } else {
                free(o);
            }
            for (size_t i = 0; i < n; i++) {
                sess.pieces |= 1u << p[i];
            }
            break;
        }
        free(o);
        if (r == MPU_ERR_LINK || r == MPU_ERR_INTR || r == MPU_ERR_MEM) {
            break;
        }
        /* A fault may have left the board anywhere (in a paste, or reading the
         * rest of a program): Ctrl-C and the raw REPL again before the next try. */
        x->e->in_raw = 0;
        x->c->naks++;
    }
    free(prog);
    return r;
}

/* The pieces of the stock program this transfer needs (put or get), each sent
 * once per session, in programs small enough to compile in a small heap:
 * stage 0 with the probe; the wire, the CRC when the board has none, and the
 * core's start; rb; f; then pu and pd, or ge and gd. */
static int define_once(struct xf *x, int put) {
    int r;
    if (!sess.defined) {
        char *out = NULL;
        sess.pieces = 0;
        r = send_piece(x, NULL, 0, "MPUF ", &out);
        if (r == MPU_OK) {
            const char *m = strstr(out, "MPUF ");
            if (!m[5] || !strchr("b6hp", m[5])) {
                snprintf(x->c->detail, sizeof(x->c->detail), "%s: the transfer program said \"%.100s\"", x->what, out);
                r = MPU_ERR_PROTO;
            } else {
                sess.wire = (enum xf_wire)m[5];
                sess.crc = !strstr(m, " n");
                sess.defined = 1;
            }
        }
        free(out);
        if (r != MPU_OK) {
            return r;
        }
    }
    enum mpu_stock_piece first[3];
    size_t nf = 0;
    first[nf++] = sess.wire == XF_WIRE_BINARY ? MPU_STOCK_WIRE_BIN : sess.wire == XF_WIRE_BASE64 ? MPU_STOCK_WIRE_B64
        : sess.wire == XF_WIRE_HEX ? MPU_STOCK_WIRE_HEX : MPU_STOCK_WIRE_PYHEX;
    if (!sess.crc) {
        first[nf++] = MPU_STOCK_CRC;
    }
    first[nf++] = MPU_STOCK_CORE_Y;
    static const enum mpu_stock_piece rb = MPU_STOCK_CORE_RB, f = MPU_STOCK_CORE_F, pu = MPU_STOCK_PUT_A,
        pd = MPU_STOCK_PUT_B, ge = MPU_STOCK_GET_A, gd = MPU_STOCK_GET_B;
    const struct {
        const enum mpu_stock_piece *p;
        size_t n;
    } need[] = { { first, nf }, { &rb, 1 }, { &f, 1 }, { put ? &pu : &ge, 1 }, { put ? &pd : &gd, 1 } };
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
        if (!(sess.pieces & 1u << need[i].p[0])
            && (r = send_piece(x, need[i].p, need[i].n, "MPUK", NULL)) != MPU_OK) {
            return r;
        }
    }
    return MPU_OK;
}

/* define_once, and once more from stage 0 when a piece keeps failing: stage 0
 * is not checked, and a fault in it (in _mpu_x) fails every piece after it, as
 * a damaged paste would, or as a board that lacks something would (an
 * ImportError, AttributeError, NameError or SyntaxError from _mpu_x). */
static int define_stock(struct xf *x, int put) {
    define_end = mpu_now_ms() + DEFINE_MS;
    int r = define_once(x, put);
    if (mpu_now_ms() < define_end && (r == MPU_ERR_PROTO || r == MPU_ERR_TIMEOUT
        || (r == MPU_ERR_SUPP && !strstr(x->c->detail, "MemoryError")))) {
        sess.defined = 0;
        x->e->in_raw = 0;
        r = define_once(x, put);
    }
    return r;
}

/* A CAN instead of R\x01 (the stock program had no memory for its block
 * buffer): its text (head: what was read of it already) into c->detail, our
 * \x04, the program's end. @return MPU_ERR_PROTO or a link error. */
static int start_refused(struct xf *x, const uint8_t *head, size_t n) {
    char msg[300];
    size_t k = 0;
    int64_t end = xf_reply_deadline(x);
    uint8_t b = 0;
    for (size_t i = 0; i < n && head[i] != 0x04; i++) {
        msg[k++] = (char)head[i];
    }
    int r = MPU_OK;
    for (size_t i = 0; i < n; i++) {
        b = head[i] == 0x04 ? 0x04 : b;
    }
    while (b != 0x04 && (r = xf_read_n(x, &b, 1, end)) == MPU_OK && b != 0x04) {
        if (b != '\r' && b != '\n' && k + 1 < sizeof(msg)) {
            msg[k++] = (char)b;
        }
    }
    if (r != MPU_OK) {
        return r;
    }
    msg[k] = 0;
    snprintf(x->c->detail, sizeof(x->c->detail), "%s: the board says: %s", x->what, msg);
    xf_explain(x->c->detail, sizeof(x->c->detail));
    r = xf_write(x, (const uint8_t *)"\x04", 1);
    if (r == MPU_OK) {
        r = xf_finish(x);
    }
    return r == MPU_OK ? MPU_ERR_PROTO : r;
}

/* Tries of the stock program's call before the transfer fails. */
#define START_TRIES 3

/* Call the stock program and read its start, R\x01 B K (into rec): MPU_OK, or
 * MPU_ERR_PROTO for a start damaged on the line (a block size that is not one
 * the program chooses, or a window other than the one asked for). */
static int stock_call(struct xf *x, const char *call, uint8_t rec[5]) {
    struct mpu_engine *e = x->e;
    struct mpu_cmd *c = x->c;
    /* Progress is the file's, not the call's. */
    struct mpu_sink keep = e->sink;
    e->sink.progress = NULL;
    e->sink.mode = NULL;
    e->no_follow = 1;
    int r = mpu_engine_exec(e, (const uint8_t *)call, strlen(call));
    e->no_follow = 0;
    e->sink = keep;
    if (r != MPU_OK) {
        return r;
    }
    if (x->wire == XF_WIRE_BINARY) {
        /* A traceback instead of the start (the program was lost: a reset?). */
        r = raw_read_n(x, rec, 1, mpu_eng_after(e, e->o.answer_ms));
        if (r == MPU_OK && rec[0] == 0x04) {
            return xf_program_died(x);
        }
        if (r == MPU_OK) {
            r = raw_read_n(x, rec + 1, 4, mpu_eng_after(e, e->o.answer_ms));
        }
    } else {
        r = xf_read_n(x, rec, 5, mpu_eng_after(e, e->o.answer_ms));
    }
    if (r == MPU_OK && rec[0] == MPU_PROTO_BLK_CAN) {
        return start_refused(x, rec + 1, 4);
    }
    if (r != MPU_OK || rec[0] != 'R' || rec[1] != 1) {
        if (r == MPU_ERR_SUPP || r == MPU_ERR_LINK || r == MPU_ERR_INTR) {
            return r;
        }
        snprintf(c->detail, sizeof(c->detail), "%s: the board's transfer program did not start; got \"%s\"", x->what,
            mpu_eng_seen(e));
        return MPU_ERR_PROTO;
    }
    /* su halves the block size asked for, down to 64 bytes. */
    unsigned b = (unsigned)rec[2] | (unsigned)rec[3] << 8;
    if (b > STOCK_BLOCK(x) || b < 64 || (b & (b - 1)) || rec[4] != MPU_PROTO_DEFAULT_BLOCKS_IN_FLIGHT) {
        snprintf(c->detail, sizeof(c->detail), "%s: the board offers blocks of %u bytes, %u in flight", x->what, b,
            rec[4]);
        return MPU_ERR_PROTO;
    }
    return MPU_OK;
}

int xf_start(struct xf *x, struct mpu_cmd *c, struct mpu_session *s, const char *what) {
    memset(x, 0, sizeof(*x));
    x->c = c;
    x->s = s;
    x->e = &s->eng;
    x->what = what;
    x->wire = XF_WIRE_BINARY;
    sess_check(s);
    struct mpu_engine *e = x->e;
    int r;
    if (sess.native < 0) {
        sess.native = 0;
        if (c->use_ext) {
            uint8_t caps[16];
            int n = mpu_engine_caps(e, caps, sizeof(caps));
            if (n < 0) {
                return n;
            }
            sess.native = n > MPU_PROTO_INFO_OFF_FLAGS && (caps[MPU_PROTO_INFO_OFF_FLAGS] & MPU_PROTO_CAP_FILE);
        }
    }
    uint8_t rec[5];
    if (sess.native) {
        r = mpu_eng_negotiate(e, MPU_PROTO_SUB_FILE);
        if (r < 0) {
            return r;
        }
        if (r == 1) {
            e->in_raw = 0;
            x->native = 1;
            c->mode = "native";
            r = raw_read_n(x, rec + 2, 3, mpu_eng_after(e, e->o.answer_ms));
            if (r != MPU_OK) {
                return mpu_eng_fail(e, r == MPU_ERR_TIMEOUT ? MPU_ERR_PROTO : r,
                    "%s: no block size after R\\x01; got \"%s\"", what, mpu_eng_seen(e));
            }
            goto started;
        }
        sess.native = 0; /* refused: this board has no F after all */
    }
    r = define_stock(x, !strcmp(what, "put"));
    if (r != MPU_OK) {
        return r;
    }
    x->wire = sess.wire;
    c->mode = x->wire == XF_WIRE_BINARY ? "stock" : x->wire == XF_WIRE_BASE64 ? "stock-base64" : "stock-hex";
    char call[64];
    snprintf(call, sizeof(call), "_mpu['f'](%d,%d,%d)\n", STOCK_BLOCK(x), MPU_PROTO_DEFAULT_BLOCKS_IN_FLIGHT,
        MPU_PROTO_RX_TIMEOUT_MS);
    for (int tries = 0;; tries++) {
        r = stock_call(x, call, rec);
        if (r == MPU_OK) {
            break;
        }
        if (r != MPU_ERR_PROTO && r != MPU_ERR_TIMEOUT && r != MPU_ERR_EXCEPTION) {
            return r;
        }
        /* The call or its start record damaged on the line (the call may raise,
         * e.g. a KeyError for a name changed): the raw REPL's entry stops the
         * program (a \x03 at a block start), then the call again. */
        if (tries == START_TRIES - 1 || mpu_now_ms() > define_end) {
            return r;
        }
        c->naks++;
        x->raw_pos = x->raw_len = 0;
        x->in_pos = x->in_len = 0;
        e->in_raw = 0;
        int r2 = mpu_engine_enter(e, 0);
        if (r2 != MPU_OK) {
            return r2;
        }
    }
started:
    x->B = (unsigned)rec[2] | (unsigned)rec[3] << 8;
    x->K = rec[4];
    if (x->B < 16 || x->K < 1) {
        snprintf(c->detail, sizeof(c->detail), "%s: the board offers blocks of %u bytes, %u in flight", what, x->B,
            x->K);
        return MPU_ERR_PROTO;
    }
    if (x->K > XF_WINDOW_MAX) {
        x->K = XF_WINDOW_MAX;
    }
    return MPU_OK;
}

int mpu_xfer_end(struct mpu_cmd *c, struct mpu_session *s) {
    sess_check(s);
    if (!sess.defined || !s->eng.in_raw) {
        return MPU_OK;
    }
    sess.defined = 0;
    sess.pieces = 0;
    /* The transfers are done: a removal damaged on the line into an exception
     * leaves two names on the board, which the next session defines again. */
    char keep[sizeof(c->detail)];
    snprintf(keep, sizeof(keep), "%s", c->detail);
    int r = mpu_xfer_run_capture(c, s, "del _mpu,_mpu_x\n", NULL, NULL);
    if (r == MPU_ERR_EXCEPTION) {
        snprintf(c->detail, sizeof(c->detail), "%s", keep);
        r = MPU_OK;
    }
    return r;
}

int xf_on_can(struct xf *x) {
    int r = xf_read_can(x);
    if (r == MPU_OK) {
        r = xf_write(x, (const uint8_t *)"\x04", 1);
    }
    if (r == MPU_OK) {
        r = xf_finish(x);
    }
    return r == MPU_OK ? MPU_ERR_PROTO : r;
}
