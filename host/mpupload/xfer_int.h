/* mpupload xfer: internals shared by the B.5 host end (xfer_*.c); not for commands. */
#ifndef MPU_XFER_INT_H
#define MPU_XFER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "commands.h"
#include "session.h"

/* Largest block payload the host asks the stock receiver for, and the smallest
 * a noisy line shrinks blocks to. */
#define XF_BLOCK 1024
#define XF_BLOCK_MIN 64
/* Blocks in flight the host allows at most, whatever the board offers. */
#define XF_WINDOW_MAX 8
/* Clean blocks in a row before a shortened block length doubles again. */
#define XF_GROW_AFTER 16
/* Clean blocks in a row before the length that failed is tried again. */
#define XF_PROBE_AFTER 256

/** How B.5 bytes travel: raw, or as text lines (boards without sys.stdin.buffer). */
enum xf_wire {
    XF_WIRE_BINARY = 'b',
    XF_WIRE_BASE64 = '6',
    XF_WIRE_HEX = 'h',   /**< binascii.hexlify */
    XF_WIRE_PYHEX = 'p', /**< hex in plain Python (no binascii) */
};

/** One B.5 transfer: the board end, its block size and the byte stream to it. */
struct xf {
    struct mpu_cmd *c;
    struct mpu_session *s;
    struct mpu_engine *e;
    int native;            /**< firmware/pyexec serves F (ends with '>'), else the stock program */
    enum xf_wire wire;
    unsigned B, K;         /**< the board's block payload limit and blocks in flight */
    uint8_t raw[4096];     /**< bytes read from the link, not consumed yet */
    size_t raw_len, raw_pos;
    uint8_t *in;           /**< text wire: the decoded line */
    size_t in_len, in_pos, in_size;
    char *line, *out;      /**< text wire: the line read, the line written */
    size_t line_size, out_size;
    uint8_t *blk;          /**< the block being written */
    size_t blk_size;
    size_t wire_out, wire_in; /**< bytes written and read on the link during the transfer */
    const char *what;      /**< "put" or "get", for messages */
};

/* Start the board's end of a transfer (native F, else the stock receiver, pasted
 * once per session) and read R\x01 B K. */
int xf_start(struct xf *x, struct mpu_cmd *c, struct mpu_session *s, const char *what);

/* Write bytes to the board's end (a text line each call on a text wire). */
int xf_write(struct xf *x, const uint8_t *b, size_t n);

/* Read up to n bytes before deadline: the count, 0 on timeout, or an error. */
int xf_read(struct xf *x, uint8_t *b, size_t n, int64_t deadline);

/* The next byte without reading it: 1, 0 on timeout, or an error. */
int xf_peek(struct xf *x, uint8_t *b, int64_t deadline);

/* Read exactly n bytes: MPU_OK, MPU_ERR_TIMEOUT or an error. */
int xf_read_n(struct xf *x, uint8_t *b, size_t n, int64_t deadline);

/* Write one B.2 block (type, seq, payload). */
int xf_block_write(struct xf *x, char type, unsigned seq, const uint8_t *p, size_t n);

/* After a CAN byte: read its text up to \x04 into c->detail, prefixed by what failed. */
int xf_read_can(struct xf *x);

/* The board end's last bytes after a transfer ended: '>' (native) or the end of
 * the stock program (\x04 \x04 >). */
int xf_finish(struct xf *x);

/* After a CAN byte: its text, our \x04, the board's end (xf_finish).
 * @return MPU_ERR_PROTO or a link error. */
int xf_on_can(struct xf *x);

/* End a transfer early (interrupt, timeout, bad answer): abort per B.5, get the board
 * back to its prompt as best it can. put: X block then \x04; get: a \x03 instead of a reply. */
void xf_abort(struct xf *x, int put, unsigned seq);

/* The stock program ended with a traceback where protocol bytes were due: its last
 * line into c->detail, the prompt read. @return MPU_ERR_SUPP. */
int xf_program_died(struct xf *x);

/* B.5 put of local src to remote target (a directory too when base is given:
 * target/base); flags MPU_XFER_*. */
int xf_put(struct mpu_cmd *c, struct mpu_session *s, const char *src, const char *target, const char *base,
    int flags);

/* B.5 get of remote src to local file dest ("-": stdout). */
int xf_get(struct mpu_cmd *c, struct mpu_session *s, const char *src, const char *dest);

/* Release what the transfer holds. */
void xf_free(struct xf *x);

/* mpu_cmd_put/get/fs helpers. */
uint32_t xf_get32(const uint8_t *p);
void xf_put32(uint8_t *p, uint32_t v);

/* Deadline for a reply: the protocol's receive timeout from now. */
int64_t xf_reply_deadline(struct xf *x);

/* The board's error text (after CAN) made readable: ENOSPC and friends named. */
void xf_explain(char *detail, size_t len);

#endif
