/* mpupload engine: the raw REPL / raw-paste protocol, free of I/O. */
#ifndef MPU_ENGINE_H
#define MPU_ENGINE_H

#include <stddef.h>
#include <stdint.h>

/** io->read flag: the board's program runs (forward user input, report Ctrl-C). */
#define MPU_IO_RUNNING 1

/** What the engine talks through; times are milliseconds on now()'s clock. */
struct mpu_io {
    void *ctx;
    /** Read up to n bytes, waiting until deadline (-1: forever; <= now: don't wait).
     *  @return the count, 0 on timeout, or MPU_ERR_LINK / MPU_ERR_INTR. */
    int (*read)(void *ctx, uint8_t *buf, size_t n, int64_t deadline, int flags);
    /** Write all n bytes. @return MPU_OK or a negative mpu_err. */
    int (*write)(void *ctx, const uint8_t *buf, size_t n);
    int64_t (*now)(void *ctx);
};

/** Where the board's answers go; any callback may be NULL. */
struct mpu_sink {
    void *ctx;
    void (*out)(void *ctx, const uint8_t *buf, size_t n); /**< program output */
    void (*err)(void *ctx, const uint8_t *buf, size_t n); /**< traceback */
    void (*progress)(void *ctx, size_t sent, size_t total);
    /** How the code goes (told before any output): file names in tracebacks depend on it. */
    void (*mode)(void *ctx, int mode);
};

/** Timing and pacing; mpu_engine_init() fills in the defaults. */
struct mpu_engine_opts {
    int answer_ms;    /**< wait for a protocol answer (banner, R\x01, OK) */
    int enter_tries;  /**< raw REPL entry attempts (a board may boot through the first) */
    int quiet_ms;     /**< after Ctrl-C, the board counts as quiet after this (output that
                       comes later only precedes the banner, which is looked for anyway) */
    int busy_ms;      /**< give up on a board that keeps running after Ctrl-C */
    int window_ms;    /**< wait for a raw-paste window credit */
    int raw_chunk;    /**< plain raw REPL: bytes per burst */
    int raw_pause_ms; /**< plain raw REPL: pause after each burst */
    int raw_direct_max; /**< plain raw REPL: longer code goes through the loader (0: never) */
    int baud;         /**< line speed, to pace plain raw REPL bursts (0: unknown) */
    int run_ms;       /**< limit on the program's run time (-1: none) */
    int no_raw_paste; /**< never try raw-paste */
    int no_break;     /**< never send a session break (PROTOCOL.md) when Ctrl-A gets no banner */
};

#define MPU_SEEN_MAX 160

enum mpu_mode {
    MPU_MODE_NONE,
    MPU_MODE_RAW_PASTE,
    MPU_MODE_RAW,
    MPU_MODE_STREAM,
    MPU_MODE_MPY_STREAM,
    MPU_MODE_RAW_LOADER, /**< plain raw REPL, the code fed to a loader that exec()s it */
    MPU_MODE_CHECKED,    /**< streamed execution in CRC-checked blocks (B.6) */
};

/** Chunk size of the raw REPL loader (half a 256-byte receive buffer). */
#define MPU_LOADER_CHUNK 128

/** Data sent to the running program in chunks, each one asked for by a \x06 it prints. */
struct mpu_feed {
    const uint8_t *data;
    size_t len;
    size_t chunk;
};

struct mpu_engine {
    struct mpu_io io;
    struct mpu_sink sink;
    struct mpu_engine_opts o;
    int in_raw;            /**< in raw REPL, prompt consumed */
    int raw_paste;         /**< -1 unknown, 0 refused or absent, 1 works */
    enum mpu_mode mode;    /**< how the last program was sent */
    size_t sent;           /**< code bytes sent by the last exec */
    int board_abort;       /**< the board ended a raw-paste early (\x04) */
    size_t tb_len;         /**< traceback bytes of the last exec */
    size_t resent;         /**< blocks sent again after a NAK by the last exec (B.6) */
    int late_banners;      /**< raw REPL banners that may still come after a session break */
    int caps_len;          /**< -1 not asked yet, 0 none, else the record length */
    uint8_t caps[16];      /**< the capability record (B.1) */
    int no_follow;         /**< exec returns once the code is sent (e.g. machine.reset()) */
    const struct mpu_feed *feed;
    size_t fed;
    uint8_t seen[MPU_SEEN_MAX]; /**< the last bytes read, for error messages */
    size_t nseen;
    char seen_esc[MPU_SEEN_MAX * 4 + 1];
    char detail[400];      /**< what went wrong, in words */
};

/** Set up an engine; opts may be NULL for the defaults. */
void mpu_engine_init(struct mpu_engine *e, const struct mpu_io *io,
    const struct mpu_sink *sink, const struct mpu_engine_opts *opts);

/** Stop whatever runs (Ctrl-C), enter the raw REPL, optionally soft-reset.
 *  A board silent after Ctrl-A gets session breaks first (PROTOCOL.md B.7).
 *  @return MPU_OK, MPU_ERR_TIMEOUT, MPU_ERR_PROTO, MPU_ERR_BUSY or MPU_ERR_LINK. */
int mpu_engine_enter(struct mpu_engine *e, int soft_reset);

/** Run code in the raw REPL (raw-paste when the board has it) and follow its output.
 *  @return MPU_OK, MPU_ERR_EXCEPTION (traceback sent to sink->err), MPU_ERR_INTR,
 *  or a protocol/link error. */
int mpu_engine_exec(struct mpu_engine *e, const uint8_t *code, size_t len);

/** Like mpu_engine_exec(), feeding @p feed to the program on its request. */
int mpu_engine_exec_feed(struct mpu_engine *e, const uint8_t *code, size_t len,
    const struct mpu_feed *feed);

/** Soft-reset from the raw REPL and wait for its banner. */
int mpu_engine_soft_reset(struct mpu_engine *e);

/** Leave the raw REPL for the friendly REPL. */
int mpu_engine_leave(struct mpu_engine *e);

/** Capability query (PROTOCOL.md B.1), asked once per session.
 *  @return the record length (bytes copied to rec, up to n), 0 when the board
 *  has no extensions (stock firmware), or a negative error. */
int mpu_engine_caps(struct mpu_engine *e, uint8_t *rec, size_t n);

/** Streamed execution (B.3): each batch runs as soon as it is compiled.
 *  Falls back to mpu_engine_exec() when the board refuses it. */
int mpu_engine_exec_stream(struct mpu_engine *e, const uint8_t *code, size_t len);

/** Streamed execution in CRC-checked blocks (B.6): a damaged block is sent
 *  again, never run. Falls back to mpu_engine_exec_stream() when the board
 *  refuses it. @return as mpu_engine_exec(). */
int mpu_engine_exec_checked(struct mpu_engine *e, const uint8_t *code, size_t len);

/** Streamed .mpy (B.4) in CRC-checked blocks, then run it.
 *  @return as mpu_engine_exec(), or MPU_ERR_SUPP when the board refuses (R\x00). */
int mpu_engine_exec_mpy(struct mpu_engine *e, const uint8_t *mpy, size_t len);

/** CRC-32 as zlib's crc32(), continuing from crc (start with 0). */
uint32_t mpu_crc32(uint32_t crc, const uint8_t *buf, size_t n);

/** Write bytes as printable C escapes ("R\x00") into out; @return out. */
char *mpu_escape(const uint8_t *buf, size_t n, char *out, size_t out_len);

#endif
