/* mpupload json: writing one JSON object per line. */
#ifndef MPU_JSON_H
#define MPU_JSON_H

#include <stddef.h>
#include <stdio.h>

/** Write buf as a JSON string (quotes included); invalid UTF-8 becomes \ufffd. */
void mpu_json_str(FILE *f, const char *buf, size_t n);

/** Write a NUL-terminated string as a JSON string, or null for NULL. */
void mpu_json_cstr(FILE *f, const char *s);

#endif
