/* B.5 get, host end: request, blocks checked and answered (NAK and resync on a
 * bad one), a temporary local file renamed only when size and SHA-256 match. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"
#include "err.h"
#include "mpu_proto.h"
#include "sha256.h"
#include "xfer.h"
#include "xfer_int.h"

/* Bytes of one block arrive within this; longer means a bad length or a lost byte. */
#define IN_BLOCK_MS 2000

/* Discard input up to MPU_PROTO_RESYNC. */
static int wait_resync(struct xf *x) {
    uint8_t win[MPU_PROTO_RESYNC_LEN] = { 0 };
    int64_t end = xf_reply_deadline(x);
    for (;;) {
        uint8_t b;
        int r = xf_read(x, &b, 1, end);
        if (r <= 0) {
            return r == 0 ? MPU_ERR_TIMEOUT : r;
        }
        memmove(win, win + 1, sizeof(win) - 1);
        win[sizeof(win) - 1] = b;
        if (!memcmp(win, MPU_PROTO_RESYNC, MPU_PROTO_RESYNC_LEN)) {
            return MPU_OK;
        }
    }
}

/* Read one block into blk (5 + L + 4 bytes). @return 1 good, 0 bad (to be NAKed), or an
 * error (a CAN read and followed: MPU_ERR_PROTO). */
static int read_block(struct xf *x, uint8_t *blk, unsigned seq, size_t *len) {
    int r = xf_read_n(x, blk, 1, xf_reply_deadline(x));
    if (r != MPU_OK) {
        return r;
    }
    if (blk[0] == MPU_PROTO_BLK_CAN) {
        /* After the reply record the board discards input until it is quiet
         * (B.5 get, 4): no \x04, which would reach the raw REPL as a soft reset. */
        r = xf_read_can(x);
        if (r == MPU_OK) {
            r = xf_finish(x);
        }
        return r == MPU_OK ? MPU_ERR_PROTO : r;
    }
    if (blk[0] == 0x04 && !x->native && x->wire == XF_WIRE_BINARY) {
        return xf_program_died(x);
    }
    if (blk[0] != MPU_PROTO_BLK_SYNC) {
        return 0;
    }
    int64_t end = mpu_eng_after(x->e, IN_BLOCK_MS);
    r = xf_read_n(x, blk + 1, 4, end);
    if (r == MPU_ERR_TIMEOUT) {
        return 0;
    }
    if (r != MPU_OK) {
        return r;
    }
    size_t n = (size_t)blk[3] | (size_t)blk[4] << 8;
    if (n > x->B) {
        return 0;
    }
    r = xf_read_n(x, blk + 5, n + MPU_PROTO_BLK_TRAILER_LEN, end);
    if (r == MPU_ERR_TIMEOUT) {
        return 0;
    }
    if (r != MPU_OK) {
        return r;
    }
    *len = n;
    return blk[2] == (seq & 255) && (blk[1] == MPU_PROTO_BLK_DATA || blk[1] == MPU_PROTO_BLK_END)
        && mpu_crc32(0, blk + 1, 4 + n) == xf_get32(blk + 5 + n);
}

int xf_get(struct mpu_cmd *c, struct mpu_session *s, const char *src, const char *dest) {
    size_t sl = strlen(src);
    if (sl > MPU_PROTO_FILE_PATH_MAX) {
        snprintf(c->detail, sizeof(c->detail), "remote path longer than %d bytes: refused", MPU_PROTO_FILE_PATH_MAX);
        return MPU_ERR_ARG;
    }
    int to_stdout = !strcmp(dest, "-");
    char tmp[4200];
    FILE *fp = stdout;
    if (!to_stdout) {
        snprintf(tmp, sizeof(tmp), "%s.mpu-XXXXXX", dest);
        int fd = mkstemp(tmp);
        if (fd < 0 || !(fp = fdopen(fd, "wb"))) {
            snprintf(c->detail, sizeof(c->detail), "%.300s: %s", dest, strerror(errno));
            if (fd >= 0) {
                close(fd);
                unlink(tmp);
            }
            return MPU_ERR_ARG;
        }
    }
    int64_t t0 = mpu_now_ms();
    struct xf x;
    int r = xf_start(&x, c, s, "get");
    uint8_t req[MPU_PROTO_FILE_REQ_LEN + MPU_PROTO_FILE_PATH_MAX];
    req[0] = MPU_PROTO_FILE_GET;
    req[1] = 0;
    xf_put32(req + 2, 0);
    memcpy(req + MPU_PROTO_FILE_REQ_LEN, src, sl);
    uint8_t rec[MPU_PROTO_FILE_GET_REPLY_LEN];
    for (int tries = 0; r == MPU_OK; tries++) {
        uint8_t a[2];
        r = xf_block_write(&x, MPU_PROTO_BLK_DATA, 0, req, MPU_PROTO_FILE_REQ_LEN + sl);
        if (r == MPU_OK) {
            r = xf_read_n(&x, a, 1, xf_reply_deadline(&x));
        }
        if (r == MPU_OK && a[0] == MPU_PROTO_BLK_CAN) {
            r = xf_on_can(&x);
            break;
        }
        if (r == MPU_OK && a[0] == 0x04 && !x.native && x.wire == XF_WIRE_BINARY) {
            r = xf_program_died(&x);
            break;
        }
        if (r == MPU_OK) {
            r = xf_read_n(&x, a + 1, 1, xf_reply_deadline(&x));
        }
        if (r == MPU_OK && a[0] == MPU_PROTO_BLK_NAK && a[1] == 0 && tries < MPU_PROTO_FILE_MAX_RETRIES) {
            c->naks++;
            r = xf_write(&x, (const uint8_t *)MPU_PROTO_RESYNC, MPU_PROTO_RESYNC_LEN);
            continue;
        }
        if (r == MPU_OK && (a[0] != MPU_PROTO_BLK_ACK || a[1] != 0)) {
            snprintf(c->detail, sizeof(c->detail), "get: unexpected answer to the request: \"%s\"", mpu_eng_seen(x.e));
            r = MPU_ERR_PROTO;
        }
        if (r == MPU_OK) {
            r = xf_read_n(&x, rec, sizeof(rec), xf_reply_deadline(&x));
        }
        if (r == MPU_OK && rec[0] != MPU_PROTO_FILE_GET) {
            snprintf(c->detail, sizeof(c->detail), "get: bad reply record: \"%s\"", mpu_eng_seen(x.e));
            r = MPU_ERR_PROTO;
        }
        break;
    }
    size_t size = r == MPU_OK ? xf_get32(rec + 1) : 0, got = 0;
    c->total = size;
    mpu_progress_start(&c->out->progress, size);
    struct mpu_sha256 h;
    mpu_sha256_init(&h);
    uint8_t *blk = r == MPU_OK ? malloc(x.B + MPU_PROTO_BLK_HEADER_LEN + MPU_PROTO_BLK_TRAILER_LEN) : NULL;
    if (r == MPU_OK && !blk) {
        r = MPU_ERR_MEM;
    }
    unsigned seq = 1, nak_run = 0;
    while (r == MPU_OK) {
        size_t n = 0;
        int ok = read_block(&x, blk, seq, &n);
        if (ok < 0) {
            r = ok;
            break;
        }
        if (!ok) {
            /* NAK, then the board re-sends from this block after MPU_PROTO_RESYNC. */
            c->naks++;
            if (++nak_run > MPU_PROTO_FILE_MAX_RETRIES) {
                snprintf(c->detail, sizeof(c->detail), "get: too many bad blocks in a row after %zu of %zu bytes",
                    got, size);
                r = MPU_ERR_PROTO;
                xf_abort(&x, 0, seq);
                break;
            }
            uint8_t nak[2] = { MPU_PROTO_BLK_NAK, (uint8_t)seq };
            r = xf_write(&x, nak, 2);
            if (r == MPU_OK) {
                r = wait_resync(&x);
            }
            continue;
        }
        nak_run = 0;
        if (blk[1] == MPU_PROTO_BLK_DATA && n) {
            if (fwrite(blk + 5, 1, n, fp) != n) {
                snprintf(c->detail, sizeof(c->detail), "get: writing %.300s: %s", to_stdout ? "stdout" : tmp,
                    strerror(errno));
                xf_abort(&x, 0, seq);
                r = MPU_ERR_ARG;
                break;
            }
            mpu_sha256_update(&h, blk + 5, n);
            got += n;
            mpu_progress_update(&c->out->progress, got, size);
        }
        uint8_t ack[2] = { MPU_PROTO_BLK_ACK, (uint8_t)seq };
        r = xf_write(&x, ack, 2);
        seq++;
        if (r == MPU_OK && blk[1] == MPU_PROTO_BLK_END) {
            r = xf_finish(&x);
            break;
        }
    }
    if (r == MPU_ERR_TIMEOUT || r == MPU_ERR_INTR) {
        snprintf(c->detail, sizeof(c->detail), r == MPU_ERR_INTR ? "get: interrupted after %zu of %zu bytes"
            : "get: the board stopped sending after %zu of %zu bytes", got, size);
        xf_abort(&x, 0, seq);
    } else if (r == MPU_ERR_LINK && !c->detail[0]) {
        snprintf(c->detail, sizeof(c->detail), "get: the link failed after %zu of %zu bytes: %s", got, size,
            mpu_link_last_error(s->link));
    }
    if (r == MPU_OK) {
        uint8_t sum[32];
        mpu_sha256_final(&h, sum);
        if (got != size || memcmp(sum, rec + 5, 32)) {
            snprintf(c->detail, sizeof(c->detail), "get: SHA-256 or size mismatch (%zu of %zu bytes)", got, size);
            r = MPU_ERR_PROTO;
        }
    }
    if (!to_stdout) {
        if (fclose(fp) != 0 && r == MPU_OK) {
            snprintf(c->detail, sizeof(c->detail), "get: writing %.300s: %s", tmp, strerror(errno));
            r = MPU_ERR_ARG;
        }
        if (r == MPU_OK && rename(tmp, dest) != 0) {
            snprintf(c->detail, sizeof(c->detail), "get: %.300s: %s", dest, strerror(errno));
            r = MPU_ERR_ARG;
        }
        if (r != MPU_OK) {
            unlink(tmp);
        }
    } else {
        fflush(stdout);
    }
    c->bytes_sent += x.wire_in;
    c->elapsed_ms = mpu_now_ms() - t0;
    free(blk);
    xf_free(&x);
    return r;
}
