#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "source.h"

int mpu_source_check(const char *what, const uint8_t *p, size_t n, char *err, size_t err_len) {
    size_t line = 1;
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        if (c == '\n') {
            line++;
        }
        if (c <= 0x06) {
            snprintf(err, err_len, "%s: line %zu: control byte 0x%02x, which the raw REPL cannot carry",
                what, line, c);
            return MPU_ERR_ARG;
        }
        size_t k = 1;
        if (c >= 0x80) {
            k = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
            int ok = k && i + k <= n;
            for (size_t j = 1; ok && j < k; j++) {
                ok = (p[i + j] & 0xc0) == 0x80;
            }
            /* No overlong forms or surrogates. */
            if (ok && k == 3) {
                ok = !(c == 0xe0 && p[i + 1] < 0xa0) && !(c == 0xed && p[i + 1] >= 0xa0);
            } else if (ok && k == 4) {
                ok = !(c == 0xf0 && p[i + 1] < 0x90) && !(c == 0xf4 && p[i + 1] >= 0x90);
            }
            if (!ok) {
                snprintf(err, err_len, "%s: line %zu: not UTF-8 (byte 0x%02x); MicroPython reads UTF-8 source",
                    what, line, c);
                return MPU_ERR_ARG;
            }
        }
        i += k;
    }
    return MPU_OK;
}

int mpu_source_load(const char *path, uint8_t **buf, size_t *len, char *err, size_t err_len) {
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return MPU_ERR_ARG;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "%s: not a regular file", path);
        fclose(f);
        return MPU_ERR_ARG;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *p = malloc(n + 1);
    if (!p) {
        fclose(f);
        snprintf(err, err_len, "%s: out of memory", path);
        return MPU_ERR_MEM;
    }
    if (fread(p, 1, n, f) != n) {
        snprintf(err, err_len, "%s: read error", path);
        free(p);
        fclose(f);
        return MPU_ERR_ARG;
    }
    fclose(f);
    p[n] = 0;
    /* A UTF-8 byte order mark is allowed by Python; MicroPython's lexer does not skip it. */
    size_t skip = n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf ? 3 : 0;
    if (skip) {
        memmove(p, p + 3, n - 3 + 1);
        n -= 3;
    }
    int r = mpu_source_check(path, p, n, err, err_len);
    if (r != MPU_OK) {
        free(p);
        return r;
    }
    *buf = p;
    *len = n;
    return MPU_OK;
}
