/* mpupload session: a link, its board found or named, and the engine's I/O on it. */
#ifndef MPU_SESSION_H
#define MPU_SESSION_H

#include <stddef.h>

#include "engine.h"
#include "link.h"

struct mpu_session {
    struct mpu_link *link;
    struct mpu_engine eng;
    char port[256];     /**< the port in use */
    int forward_stdin;  /**< pass our stdin to the running program */
    int stdin_eof;
};

/**
 * Find the board (port NULL or "auto": the only likely one) and open the link.
 * @param[out] detail why it failed (candidates listed when the port is unknown).
 * @return MPU_OK, MPU_ERR_NOBOARD or MPU_ERR_LINK.
 */
int mpu_session_open(struct mpu_session *s, const char *port, const struct mpu_link_opts *lo,
    const struct mpu_sink *sink, const struct mpu_engine_opts *eo, char *detail, size_t detail_len);

/** Leave the board's REPL as we found it (friendly) and close the link. */
void mpu_session_close(struct mpu_session *s);

/** Catch SIGINT from here on: the engine sees it as MPU_ERR_INTR. */
void mpu_session_catch_sigint(void);

/** @return 1 once SIGINT was caught (and forget it). */
int mpu_session_interrupted(void);

/** Milliseconds on a monotonic clock. */
int64_t mpu_now_ms(void);

#endif
