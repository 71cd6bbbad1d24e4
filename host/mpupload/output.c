#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "output.h"

void mpu_out_init(struct mpu_out *o, int json, int progress_mode, const char *path) {
    memset(o, 0, sizeof(*o));
    o->json = json;
    o->tb.path = path;
    o->progress.mode = progress_mode;
    o->progress.json = json ? stdout : NULL;
}

static void emit(struct mpu_out *o, const char *stream, const char *buf, size_t n) {
    if (n == 0) {
        return;
    }
    if (o->json) {
        fputs("{\"event\":\"output\",\"stream\":", stdout);
        mpu_json_cstr(stdout, stream);
        fputs(",\"data\":", stdout);
        mpu_json_str(stdout, buf, n);
        fputs("}\n", stdout);
        fflush(stdout);
        return;
    }
    FILE *f = stream[3] == 'o' ? stdout : stderr;
    fwrite(buf, 1, n, f);
    fflush(f);
}

/* JSON mode: one output event per line (or per 4 KB), not per read. */
static void put_json(struct mpu_out *o, const char *buf, size_t n) {
    for (size_t i = 0; i < n; i++) {
        o->jline[o->jlen++] = buf[i];
        if (buf[i] == '\n' || o->jlen == sizeof(o->jline)) {
            emit(o, "stdout", o->jline, o->jlen);
            o->jlen = 0;
        }
    }
}

static void put(struct mpu_out *o, const char *buf, size_t n) {
    if (!o->capture && o->json) {
        put_json(o, buf, n);
        return;
    }
    if (!o->capture) {
        emit(o, "stdout", buf, n);
        return;
    }
    if (o->cap_len + n + 1 > o->cap_size) {
        o->cap_size = (o->cap_len + n + 1) * 2;
        char *p = realloc(o->cap, o->cap_size);
        if (!p) {
            abort();
        }
        o->cap = p;
    }
    memcpy(o->cap + o->cap_len, buf, n);
    o->cap_len += n;
    o->cap[o->cap_len] = 0;
}

/* Program output: \r\n becomes \n, even across reads. */
static void on_out(void *ctx, const uint8_t *buf, size_t n) {
    struct mpu_out *o = ctx;
    mpu_progress_clear(&o->progress);
    char tmp[4096];
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        if (t >= sizeof(tmp) - 2) {
            put(o, tmp, t);
            t = 0;
        }
        if (o->cr) {
            o->cr = 0;
            if (buf[i] != '\n') {
                tmp[t++] = '\r';
            }
        }
        if (buf[i] == '\r') {
            o->cr = 1;
            continue;
        }
        tmp[t++] = (char)buf[i];
    }
    if (t) {
        put(o, tmp, t);
    }
}

static void tb_flush_line(struct mpu_out *o, int newline) {
    char out[2600];
    size_t n = mpu_tb_line(&o->tb, o->line, o->line_len, out, sizeof(out) - 1);
    o->line_len = 0;
    if (n == (size_t)-1) {
        return;
    }
    if (newline) {
        out[n++] = '\n';
    }
    emit(o, "stderr", out, n);
    o->line_len = 0;
}

/* Tracebacks: line by line, so File lines can be rewritten. */
static void on_err(void *ctx, const uint8_t *buf, size_t n) {
    struct mpu_out *o = ctx;
    mpu_progress_clear(&o->progress);
    if (o->jlen) {
        emit(o, "stdout", o->jline, o->jlen);
        o->jlen = 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\r') {
            continue;
        }
        if (buf[i] == '\n') {
            tb_flush_line(o, 1);
            continue;
        }
        if (o->line_len < sizeof(o->line) - 1) {
            o->line[o->line_len++] = (char)buf[i];
        }
    }
}

static void on_progress(void *ctx, size_t sent, size_t total) {
    struct mpu_out *o = ctx;
    mpu_progress_update(&o->progress, sent, total);
}

/* The raw REPL loader exec()s the code: its frames are "<string>", the
 * loader's own "<stdin>" frame is noise. */
static void on_mode(void *ctx, int mode) {
    struct mpu_out *o = ctx;
    if (mode == MPU_MODE_RAW_LOADER) {
        o->tb.src_name = "<string>";
        o->tb.drop_stdin = 1;
    }
}

struct mpu_sink mpu_out_sink(struct mpu_out *o) {
    struct mpu_sink s = { o, on_out, on_err, on_progress, on_mode };
    return s;
}

void mpu_out_flush(struct mpu_out *o) {
    if (o->cr) {
        o->cr = 0;
        put(o, "\r", 1);
    }
    if (o->jlen) {
        emit(o, "stdout", o->jline, o->jlen);
        o->jlen = 0;
    }
    if (o->line_len) {
        tb_flush_line(o, 0);
    }
    mpu_progress_clear(&o->progress);
}

void mpu_out_free(struct mpu_out *o) {
    free(o->cap);
    o->cap = NULL;
}
