/* mpupload output: the engine's sinks for a terminal, a pipe or JSON lines. */
#ifndef MPU_OUTPUT_H
#define MPU_OUTPUT_H

#include <stddef.h>

#include "engine.h"
#include "progress.h"
#include "tb.h"

struct mpu_out {
    int json;            /**< JSON lines on stdout instead of raw output */
    int capture;         /**< keep program output in cap instead of printing it */
    char *cap;
    size_t cap_len, cap_size;
    struct mpu_tb tb;
    struct mpu_progress progress;
    char line[2048];     /**< the traceback line being collected */
    size_t line_len;
    int cr;              /**< a \r is held back from program output */
    char jline[4096];    /**< JSON mode: program output up to a line end */
    size_t jlen;
};

/** Set up output; path is the uploaded file, for traceback lines (may be NULL). */
void mpu_out_init(struct mpu_out *o, int json, int progress_mode, const char *path);

/** @return the sink that sends the engine's output here. */
struct mpu_sink mpu_out_sink(struct mpu_out *o);

/** Write out what is held back (a partial traceback line) and clear the bar. */
void mpu_out_flush(struct mpu_out *o);

/** Release captured output. */
void mpu_out_free(struct mpu_out *o);

#endif
