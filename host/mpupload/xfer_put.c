/* B.5 put, host end: request, resume from the board's verified prefix, data
 * blocks under a window with go-back-N, blocks shortened on a noisy line. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine_int.h"
#include "err.h"
#include "mpu_proto.h"
#include "sha256.h"
#include "xfer.h"
#include "xfer_int.h"

/* Without a reply for a few round trips, a block may be stuck half-read on a board
 * that cannot time out inside a block (the stock program, after bytes were lost):
 * send padding. The wait follows the round trips measured, within these bounds. */
#define PAD_MS_MIN 150
#define PAD_MS_MAX 2000
#define PAD_ROUNDS 6

/* Blocks sent remembered, by sequence number mod XF_LOG (a power of 2, more
 * than XF_WINDOW_MAX); go-backs in a row before the put gives up. */
#define XF_LOG 32
#define XF_FRUITLESS (4 * MPU_PROTO_FILE_MAX_RETRIES)

enum { IT_S, IT_DATA, IT_END, IT_DONE };

struct item {
    unsigned seq; /* not reduced mod 256 */
    int kind;
    size_t off, len;
    int64_t sent_ms;
};

/* Read a whole local file. */
static int load(struct mpu_cmd *c, const char *src, uint8_t **data, size_t *len) {
    FILE *fp = fopen(src, "rb");
    struct stat st;
    if (!fp || fstat(fileno(fp), &st) || !S_ISREG(st.st_mode)) {
        snprintf(c->detail, sizeof(c->detail), "%.300s: %s", src, fp ? "not a regular file" : strerror(errno));
        if (fp) {
            fclose(fp);
        }
        return MPU_ERR_ARG;
    }
    if ((unsigned long long)st.st_size > 0xffffffffull) {
        fclose(fp);
        snprintf(c->detail, sizeof(c->detail), "%.300s: larger than 4 GB", src);
        return MPU_ERR_ARG;
    }
    *len = (size_t)st.st_size;
    *data = malloc(*len ? *len : 1);
    if (!*data || fread(*data, 1, *len, fp) != *len) {
        snprintf(c->detail, sizeof(c->detail), "%.300s: cannot read", src);
        fclose(fp);
        free(*data);
        *data = NULL;
        return MPU_ERR_ARG;
    }
    fclose(fp);
    return MPU_OK;
}

static void sha(const uint8_t *d, size_t n, uint8_t out[32]) {
    struct mpu_sha256 h;
    mpu_sha256_init(&h);
    mpu_sha256_update(&h, d, n);
    mpu_sha256_final(&h, out);
}

/* No reply for a while: the board may wait inside a block cut short (the stock
 * program without select cannot time out there), or for a resync (its NAK, or
 * the host's resync, was lost). Zeros complete the block (the stock program
 * only: the native end times out by itself), whose CRC then fails; a resync
 * ends a wait for one, and the zero after it is a bad block either way: a NAK
 * follows, and the board waits for the resync the host writes on reading it.
 * So nothing the host sent before that resync is taken for a block after it,
 * which matters, as blocks are shortened after a NAK. */
static int kick(struct xf *x) {
    uint8_t pad[MPU_PROTO_DEFAULT_FILE_BLOCK + 16];
    size_t n = x->native ? 0 : x->B + MPU_PROTO_BLK_HEADER_LEN + MPU_PROTO_BLK_TRAILER_LEN;
    int r = 0;
    memset(pad, 0, sizeof(pad));
    while (n && r == 0) {
        size_t k = n < sizeof(pad) ? n : sizeof(pad);
        r = xf_write(x, pad, k);
        n -= k;
    }
    if (r == 0) {
        r = xf_write(x, (const uint8_t *)MPU_PROTO_RESYNC, MPU_PROTO_RESYNC_LEN);
    }
    if (r == 0) {
        r = xf_write(x, pad, 1);
    }
    return r;
}

/* Whether the byte after a CAN or a stock program's \x04 starts what the board
 * writes there (an exception's name, a traceback), not line noise. */
static int followed_by_text(struct xf *x, int64_t deadline, int end) {
    uint8_t b;
    int64_t soon = mpu_eng_after(x->e, 2000);
    if (xf_peek(x, &b, soon < deadline ? soon : deadline) != 1) {
        return 0;
    }
    return (b >= 'A' && b <= 'Z') || (end && b == 0x04);
}

/* One reply: ACK or NAK (*kind) and its seq. A CAN is read, answered and the
 * board's end followed: MPU_ERR_PROTO with the board's words in c->detail. Any
 * other byte (line noise, a reply's second half whose first was lost) is
 * skipped, and so are a CAN or \x04 that no text follows. */
static int reply(struct xf *x, uint8_t *kind, uint8_t *seq, int64_t deadline, int64_t pad_at, int *padded) {
    int64_t every = pad_at - mpu_now_ms();
    for (;;) {
        for (;;) {
            /* After a few rounds padding cannot help (the board is gone or stopped). */
            int64_t until = pad_at < deadline && *padded < PAD_ROUNDS ? pad_at : deadline;
            int r = xf_read(x, kind, 1, until);
            if (r == 0 && until < deadline) {
                /* Again later: a kick lost to a full receive buffer is a kick not read. */
                pad_at = mpu_now_ms() + (every > PAD_MS_MIN ? every : PAD_MS_MIN);
                ++*padded;
                r = kick(x);
                if (r < 0) {
                    /* A full link (a stopped board) is not the error; its silence is. */
                    *padded = PAD_ROUNDS;
                }
                continue;
            }
            if (r <= 0) {
                return r == 0 ? MPU_ERR_TIMEOUT : r;
            }
            break;
        }
        if (*kind == MPU_PROTO_BLK_ACK || *kind == MPU_PROTO_BLK_NAK) {
            return xf_read_n(x, seq, 1, deadline);
        }
        if (*kind == MPU_PROTO_BLK_CAN && followed_by_text(x, deadline, 0)) {
            return xf_on_can(x);
        }
        if (*kind == 0x04 && !x->native && followed_by_text(x, deadline, 1)) {
            return xf_program_died(x);
        }
    }
}

int xf_put(struct mpu_cmd *c, struct mpu_session *s, const char *src, const char *target, const char *base,
    int flags) {
    size_t tl = strlen(target), bl = base ? strlen(base) : 0;
    if (tl > MPU_PROTO_FILE_PATH_MAX || bl > MPU_PROTO_FILE_PATH_MAX) {
        snprintf(c->detail, sizeof(c->detail), "remote path longer than %d bytes: refused", MPU_PROTO_FILE_PATH_MAX);
        return MPU_ERR_ARG;
    }
    uint8_t *data = NULL;
    size_t size = 0;
    int r = load(c, src, &data, &size);
    if (r != MPU_OK) {
        return r;
    }
    uint8_t whole[32];
    sha(data, size, whole);
    int64_t t0 = mpu_now_ms();
    c->total = size;
    struct xf x;
    r = xf_start(&x, c, s, "put");
    uint8_t req[MPU_PROTO_FILE_REQ_LEN + 2 * MPU_PROTO_FILE_PATH_MAX + 1];
    size_t rn = MPU_PROTO_FILE_REQ_LEN;
    req[0] = MPU_PROTO_FILE_PUT;
    req[1] = (uint8_t)((flags & MPU_XFER_NO_RESUME || c->no_resume ? 0 : MPU_PROTO_FILE_F_RESUME)
        | (flags & MPU_XFER_PARENTS ? MPU_PROTO_FILE_F_PARENTS : 0));
    xf_put32(req + 2, (uint32_t)size);
    memcpy(req + rn, target, tl);
    rn += tl;
    if (base && bl) {
        req[rn++] = 0;
        memcpy(req + rn, base, bl);
        rn += bl;
    }
    if (rn > x.B && r == MPU_OK) {
        snprintf(c->detail, sizeof(c->detail), "put: the request does not fit the board's %u-byte blocks", x.B);
        xf_abort(&x, 1, 0);
        r = MPU_ERR_PROTO;
    }
    /* The request and its reply record, alone. */
    uint8_t kind = 0, seq = 0, rec[MPU_PROTO_FILE_PUT_REPLY_LEN];
    int padded = 0;
    int64_t srtt = mpu_now_ms();
    for (int tries = 0; r == MPU_OK; tries++) {
        r = xf_block_write(&x, MPU_PROTO_BLK_DATA, 0, req, rn);
        if (r == MPU_OK) {
            r = reply(&x, &kind, &seq, xf_reply_deadline(&x),
                x.native || x.wire != XF_WIRE_BINARY ? INT64_MAX : mpu_eng_after(x.e, PAD_MS_MAX),
                &padded);
        }
        if (r == MPU_OK && kind == MPU_PROTO_BLK_NAK && seq == 0 && tries < MPU_PROTO_FILE_MAX_RETRIES) {
            c->naks++;
            r = xf_write(&x, (const uint8_t *)MPU_PROTO_RESYNC, MPU_PROTO_RESYNC_LEN);
            continue;
        }
        if (r == MPU_OK && (kind != MPU_PROTO_BLK_ACK || seq != 0)) {
            snprintf(c->detail, sizeof(c->detail), "put: unexpected answer to the request: \"%s\"", mpu_eng_seen(x.e));
            r = MPU_ERR_PROTO;
        }
        break;
    }
    srtt = mpu_now_ms() - srtt; /* the request's round trip */
    if (r == MPU_OK) {
        /* Or a CAN: the board cannot write there (a parent missing or a file). */
        r = xf_read_n(&x, rec, 1, xf_reply_deadline(&x));
        if (r == MPU_OK && rec[0] == MPU_PROTO_BLK_CAN) {
            r = xf_on_can(&x);
        } else if (r == MPU_OK) {
            r = xf_read_n(&x, rec + 1, sizeof(rec) - 1, xf_reply_deadline(&x));
        }
        if (r == MPU_OK && rec[0] != MPU_PROTO_FILE_PUT) {
            snprintf(c->detail, sizeof(c->detail), "put: bad reply record: \"%s\"", mpu_eng_seen(x.e));
            r = MPU_ERR_PROTO;
        }
    }
    size_t start = 0;
    if (r == MPU_OK) {
        size_t kept = xf_get32(rec + 1);
        uint8_t h[32];
        if (kept && kept <= size) {
            sha(data, kept, h);
            start = memcmp(h, rec + 5, 32) ? 0 : kept;
        }
    }
    mpu_progress_start(&c->out->progress, size);
    struct item fl[XF_WINDOW_MAX];
    /* Block length: halved after a NAK, never grown past the length that got through
     * after the last NAK (a stock board whose receive buffer overflows), else doubled
     * after a run of clean blocks. */
    size_t nfl = 0, blen = x.B, ceiling = x.B, clean = 0, since_nak = 0, probe_after = XF_PROBE_AFTER;
    size_t acked = start;
    int probing = 0, finished = 0, fruitless = 0;
    /* Blocks acknowledged last, for a NAK that shows an ACK read was not the board's. */
    struct item log[XF_LOG];
    memset(log, 0, sizeof(log));
    /* A full window takes this long on a line of known speed (a serial port). */
    int64_t pad_min = PAD_MS_MIN + (c->link.baud > 0 ? (int64_t)x.K * (x.B + 9) * 10000 / c->link.baud : 0);
    int gen = IT_S;
    size_t gen_off = start;
    unsigned next = 1;
    while (r == MPU_OK) {
        while (nfl < x.K && gen != IT_DONE) {
            struct item it = { next, gen, gen_off, 0, mpu_now_ms() };
            if (gen == IT_S) {
                uint8_t p[4];
                xf_put32(p, (uint32_t)start);
                r = xf_block_write(&x, MPU_PROTO_BLK_DATA, next, p, 4);
                gen = IT_DATA;
            } else if (gen == IT_DATA) {
                if (gen_off >= size) {
                    gen = IT_END;
                    continue;
                }
                it.len = size - gen_off < blen ? size - gen_off : blen;
                r = xf_block_write(&x, MPU_PROTO_BLK_DATA, next, data + gen_off, it.len);
                gen_off += it.len;
            } else {
                r = xf_block_write(&x, MPU_PROTO_BLK_END, next, whole, 32);
                gen = IT_DONE;
            }
            if (r < 0) {
                break;
            }
            fl[nfl++] = it;
            log[it.seq % XF_LOG] = it;
            next++;
        }
        if (r < 0) {
            break;
        }
        padded = 0;
        int64_t pad = 4 * srtt + 50;
        pad = pad < pad_min ? pad_min : pad > PAD_MS_MAX ? PAD_MS_MAX : pad;
        /* A text line comes whole: no kick. */
        r = reply(&x, &kind, &seq, xf_reply_deadline(&x), x.wire != XF_WIRE_BINARY ? INT64_MAX : fl[0].sent_ms + pad,
            &padded);
        if (r == MPU_ERR_TIMEOUT || r == MPU_ERR_INTR) {
            snprintf(c->detail, sizeof(c->detail), r == MPU_ERR_TIMEOUT ? "put: the board stopped answering after "
                "%zu of %zu bytes" : "put: interrupted after %zu of %zu bytes", acked, size);
            xf_abort(&x, 1, next);
            break;
        }
        if (r == MPU_ERR_LINK) {
            snprintf(c->detail, sizeof(c->detail), "put: the link failed after %zu of %zu bytes: %s", acked, size,
                mpu_link_last_error(s->link));
            break;
        }
        if (r < 0) {
            break;
        }
        /* The block the reply is for. An ACK: one in flight (replies to those
         * before it were lost: the board consumed them), else a duplicate or
         * damage, dropped (a board that waits says so when the host kicks it).
         * A NAK: the block the board wants, the last sent under its number (one
         * in flight; one acknowledged already, as an ACK read was not the board's;
         * or one past a go-back that went too far), else damage, read as a NAK
         * of the oldest block in flight. */
        size_t j = 0;
        while (j < nfl && (fl[j].seq & 255) != seq) {
            j++;
        }
        struct item back = fl[0];
        int go_back = 0;
        if (kind == MPU_PROTO_BLK_NAK) {
            const struct item *l = &log[seq % XF_LOG];
            go_back = 1;
            if (j < nfl) {
                back = fl[j];
            } else if (nfl && ((seq - fl[0].seq) & 255) == nfl && fl[nfl - 1].kind != IT_END) {
                /* The block after all in flight: their ACKs were lost. */
                back = (struct item){ next, gen, gen_off, 0, 0 };
            } else if ((l->seq & 255) == seq && l->seq && l->seq + XF_LOG > next && l->seq < next + XF_LOG) {
                back = *l;
                j = 0;
                /* Past blocks in flight: those were consumed. */
                if (back.seq > fl[0].seq) {
                    j = nfl;
                    if (fl[nfl - 1].kind == IT_END) {
                        back = fl[0];
                        j = 0;
                    }
                }
            } else {
                j = 0;
            }
        } else if (j == nfl || (j && fl[j].kind == IT_END)) {
            continue;
        } else {
            j++; /* ACK: fl[0..j] done */
        }
        /* Blocks done: fl[0..j-1]. */
        if (j && !padded && !go_back && j == 1) {
            srtt = (7 * srtt + (mpu_now_ms() - fl[0].sent_ms)) / 8;
        }
        for (size_t k = 0; k < j && r == MPU_OK; k++) {
            struct item done = fl[0];
            memmove(fl, fl + 1, (nfl - 1) * sizeof(fl[0]));
            nfl--;
            fruitless = 0;
            if (done.kind == IT_DATA) {
                acked = done.off + done.len;
                mpu_progress_update(&c->out->progress, acked, size);
                if (++since_nak >= probe_after && ceiling < x.B) {
                    ceiling *= 2;
                    since_nak = 0;
                    probing = 1;
                } else if (probing && since_nak >= XF_GROW_AFTER * 2) {
                    probing = 0; /* the longer blocks get through */
                }
                if (++clean >= XF_GROW_AFTER && blen < ceiling) {
                    blen = blen * 2 > ceiling ? ceiling : blen * 2;
                    clean = 0;
                }
            } else if (done.kind == IT_END) {
                r = xf_finish(&x);
                finished = 1;
            }
        }
        if (finished || r != MPU_OK) {
            break;
        }
        if (go_back) {
            if (++fruitless > XF_FRUITLESS) {
                snprintf(c->detail, sizeof(c->detail), "put: the board refused block %u %d times in a row",
                    back.seq & 255, XF_FRUITLESS);
                xf_abort(&x, 1, next);
                r = MPU_ERR_PROTO;
                break;
            }
            /* Go back to the block refused, in shorter blocks from here on: safe, as the
             * board drops everything up to the resync written now. */
            c->naks++;
            r = xf_write(&x, (const uint8_t *)MPU_PROTO_RESYNC, MPU_PROTO_RESYNC_LEN);
            gen = back.kind;
            gen_off = back.off;
            next = back.seq;
            nfl = 0;
            if (back.kind == IT_DATA && back.off < acked) {
                acked = back.off;
            }
            blen = blen / 2 < XF_BLOCK_MIN ? XF_BLOCK_MIN : blen / 2;
            ceiling = blen;
            clean = since_nak = 0;
            /* A longer block failed again: wait twice as long before the next try. */
            if (probing) {
                probe_after *= 2;
                probing = 0;
            }
        }
    }
    c->bytes_sent += x.wire_out;
    c->elapsed_ms = mpu_now_ms() - t0;
    xf_free(&x);
    free(data);
    return r;
}
