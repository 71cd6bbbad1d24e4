/* Helpers shared by the engine's modules (engine.c, ext.c); not for commands. */
#ifndef MPU_ENGINE_INT_H
#define MPU_ENGINE_INT_H

#include "engine.h"

/* Set e->detail and return err. */
int mpu_eng_fail(struct mpu_engine *e, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The last bytes read, escaped. */
const char *mpu_eng_seen(struct mpu_engine *e);
/* The deadline ms from now (-1 stays -1: forever). */
int64_t mpu_eng_after(struct mpu_engine *e, int ms);
/* Read through e->io, remembering what was seen. */
int mpu_eng_rd(struct mpu_engine *e, uint8_t *b, size_t n, int64_t deadline, int flags);
/* Read exactly n bytes before the deadline; what names them in errors. */
int mpu_eng_read_n(struct mpu_engine *e, uint8_t *buf, size_t n, int64_t deadline, const char *what);
/* Write through e->io. */
int mpu_eng_wr(struct mpu_engine *e, const void *b, size_t n);
/* Read until the input ends with pat: MPU_OK, MPU_ERR_TIMEOUT or an error. */
int mpu_eng_wait_for(struct mpu_engine *e, const char *pat, int64_t deadline);
/* Write "\x05" letter "\x01": 1 on R\x01, 0 on refusal or old firmware (prompt read). */
int mpu_eng_negotiate(struct mpu_engine *e, char letter);
/* Report progress to the sink. */
void mpu_eng_progress(struct mpu_engine *e, size_t sent, size_t total);
/* Follow a program: output, \x04, exception text, \x04, '>'. */
int mpu_eng_follow(struct mpu_engine *e, int interrupted);

#endif
