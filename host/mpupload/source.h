/* mpupload source: loading and checking the code to send. */
#ifndef MPU_SOURCE_H
#define MPU_SOURCE_H

#include <stddef.h>
#include <stdint.h>

/**
 * Read a Python source file and check that the raw REPL can carry it: valid
 * UTF-8, none of the control bytes \x00-\x06.
 * @param[out] buf the contents (malloc'd, NUL-terminated), @param[out] len.
 * @return MPU_OK or MPU_ERR_ARG with a one-line reason in err.
 */
int mpu_source_load(const char *path, uint8_t **buf, size_t *len, char *err, size_t err_len);

/** Check text given on the command line the same way. */
int mpu_source_check(const char *what, const uint8_t *buf, size_t len, char *err, size_t err_len);

#endif
