#include <stdint.h>
#include <string.h>

#include "json.h"

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_len(const uint8_t *p, size_t n) {
    if (p[0] < 0x80) {
        return 1;
    }
    size_t k = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : 0;
    if (k == 0 || k > n) {
        return 0;
    }
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    return k;
}

void mpu_json_str(FILE *f, const char *buf, size_t n) {
    const uint8_t *p = (const uint8_t *)buf;
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", c);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\r') {
            fputs("\\r", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
        } else if (c >= 0x80) {
            size_t k = utf8_len(p + i, n - i);
            if (k == 0) {
                fputs("\\ufffd", f);
                i++;
                continue;
            }
            fwrite(p + i, 1, k, f);
            i += k;
            continue;
        } else {
            fputc(c, f);
        }
        i++;
    }
    fputc('"', f);
}

void mpu_json_cstr(FILE *f, const char *s) {
    if (!s) {
        fputs("null", f);
    } else {
        mpu_json_str(f, s, strlen(s));
    }
}
