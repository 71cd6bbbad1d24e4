/* mpupload progress: a bar on stderr (percent, bytes/s, ETA) or JSON progress lines. */
#ifndef MPU_PROGRESS_H
#define MPU_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct mpu_progress {
    int mode;       /**< -1: when stderr is a terminal and it takes > 0.5 s; 0: never; 1: always */
    FILE *json;     /**< JSON lines go here instead of a bar, when set */
    int64_t start, last;
    size_t sent, total;
    int shown;      /**< a bar is on screen */
};

/** Start timing an upload of total bytes. */
void mpu_progress_start(struct mpu_progress *p, size_t total);

/** Note progress; draws at most every 100 ms (JSON: 250 ms, and at the end). */
void mpu_progress_update(struct mpu_progress *p, size_t sent, size_t total);

/** Take the bar off the screen (before other output, and at the end). */
void mpu_progress_clear(struct mpu_progress *p);

#endif
