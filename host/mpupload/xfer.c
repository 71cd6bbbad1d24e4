/* File transfer commands: remote paths, put/get/fs on a session of their own,
 * and the session-level API over the B.5 host end (xfer_put.c, xfer_get.c). */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_int.h"
#include "err.h"
#include "session.h"
#include "sha256.h"
#include "xfer.h"
#include "xfer_int.h"

int mpu_xfer_path(const char *in, int allow_root, char *out, size_t out_len, char *err, size_t err_len) {
    if (*in == ':') {
        in++;
    }
    size_t o = 0;
    out[0] = 0;
    while (*in) {
        while (*in == '/') {
            in++;
        }
        size_t n = strcspn(in, "/");
        if (n == 0 || (n == 1 && in[0] == '.')) {
            in += n;
            continue;
        }
        if (n == 2 && in[0] == '.' && in[1] == '.') {
            snprintf(err, err_len, "remote path with '..': refused");
            return MPU_ERR_ARG;
        }
        for (size_t i = 0; i < n; i++) {
            if ((unsigned char)in[i] < 0x20 || in[i] == 0x7f) {
                snprintf(err, err_len, "remote path with a control character: refused");
                return MPU_ERR_ARG;
            }
        }
        if (o + n + 2 > out_len) {
            snprintf(err, err_len, "remote path too long");
            return MPU_ERR_ARG;
        }
        out[o++] = '/';
        memcpy(out + o, in, n);
        o += n;
        out[o] = 0;
        in += n;
    }
    if (o == 0) {
        if (!allow_root) {
            snprintf(err, err_len, "empty remote path: refused");
            return MPU_ERR_ARG;
        }
        snprintf(out, out_len, "/");
    }
    return MPU_OK;
}

/* A Python bytes literal of s, every byte escaped: user text never becomes code. */
static char *pylit(const char *s) {
    size_t n = strlen(s);
    char *o = malloc(n * 4 + 16);
    if (!o) {
        return NULL;
    }
    size_t k = (size_t)sprintf(o, "b'");
    for (size_t i = 0; i < n; i++) {
        k += (size_t)sprintf(o + k, "\\x%02x", (unsigned char)s[i]);
    }
    sprintf(o + k, "'.decode()");
    return o;
}

int mpu_xfer_put_file(struct mpu_cmd *c, struct mpu_session *s, const char *src, const char *target, int flags) {
    return xf_put(c, s, src, target, NULL, flags);
}

int mpu_xfer_get_file(struct mpu_cmd *c, struct mpu_session *s, const char *src, const char *dest) {
    return xf_get(c, s, src, dest);
}

int mpu_cmd_put(struct mpu_cmd *c, const char *src, const char *dest) {
    char *dup = strdup(src);
    if (!dup) {
        return MPU_ERR_MEM;
    }
    struct mpu_session s;
    int r = mpu_cmd_start(c, &s, 0);
    if (r == MPU_OK) {
        /* dest may be a directory: the board appends the local name; missing
         * parents are made. */
        r = xf_put(c, &s, src, dest, basename(dup), MPU_XFER_PARENTS);
        if (r == MPU_OK || s.eng.in_raw) {
            int e = mpu_xfer_end(c, &s);
            r = r == MPU_OK ? e : r;
        }
        r = mpu_cmd_finish(c, &s, r);
    }
    free(dup);
    return r;
}

int mpu_cmd_get(struct mpu_cmd *c, const char *src, const char *dest) {
    /* A local directory keeps the remote name. */
    char target[4096];
    struct stat st;
    const char *rbase = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
    if (strcmp(dest, "-") && stat(dest, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(target, sizeof(target), "%s/%s", dest, rbase);
    } else {
        snprintf(target, sizeof(target), "%s", dest);
    }
    struct mpu_session s;
    int r = mpu_cmd_start(c, &s, 0);
    if (r != MPU_OK) {
        return r;
    }
    r = xf_get(c, &s, src, target);
    if (r == MPU_OK || s.eng.in_raw) {
        int e = mpu_xfer_end(c, &s);
        r = r == MPU_OK ? e : r;
    }
    return mpu_cmd_finish(c, &s, r);
}

/* Output into a buffer: \r\n becomes \n; the traceback's last line kept apart. */
struct capture {
    char *buf;
    size_t len, size;
    char tb[512];
    size_t tb_len;
    int oom;
};

static void cap_add(struct capture *k, const uint8_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (b[i] == '\n' && k->len && k->buf[k->len - 1] == '\r') {
            k->len--;
        }
        if (k->len + 2 > k->size) {
            size_t ns = k->size ? k->size * 2 : 256;
            char *p = realloc(k->buf, ns);
            if (!p) {
                k->oom = 1;
                return;
            }
            k->buf = p;
            k->size = ns;
        }
        k->buf[k->len++] = (char)b[i];
    }
}

static void cap_out(void *ctx, const uint8_t *b, size_t n) {
    cap_add(ctx, b, n);
}

static void cap_err(void *ctx, const uint8_t *b, size_t n) {
    struct capture *k = ctx;
    for (size_t i = 0; i < n; i++) {
        if (b[i] == '\r' || b[i] == '\n') {
            if (b[i] == '\n') {
                k->tb_len = k->tb_len ? k->tb_len | (1u << 31) : 0;
            }
            continue;
        }
        if (k->tb_len & (1u << 31)) {
            k->tb_len = 0; /* a new line starts */
        }
        if (k->tb_len + 1 < sizeof(k->tb)) {
            k->tb[k->tb_len++] = (char)b[i];
            k->tb[k->tb_len] = 0;
        }
    }
}

int mpu_xfer_run_capture(struct mpu_cmd *c, struct mpu_session *s, const char *prog, char **out, size_t *out_len) {
    struct capture k;
    memset(&k, 0, sizeof(k));
    struct mpu_sink keep = s->eng.sink;
    s->eng.sink.ctx = &k;
    s->eng.sink.out = cap_out;
    s->eng.sink.err = cap_err;
    s->eng.sink.progress = NULL;
    s->eng.sink.mode = NULL;
    int r = mpu_engine_exec(&s->eng, (const uint8_t *)prog, strlen(prog));
    s->eng.sink = keep;
    if (k.oom) {
        free(k.buf);
        return MPU_ERR_MEM;
    }
    if (r == MPU_ERR_EXCEPTION) {
        snprintf(c->detail, sizeof(c->detail), "%s", k.tb);
    }
    if (!k.buf) {
        k.buf = malloc(1);
        if (!k.buf) {
            return MPU_ERR_MEM;
        }
    }
    k.buf[k.len] = 0;
    if (out) {
        *out = k.buf;
    } else {
        free(k.buf);
    }
    if (out_len) {
        *out_len = k.len;
    }
    return r;
}


/* Names go back hex-encoded, so any name survives the trip. */
static const char FS_PROG[] =
    "def _mpu_f(o,p):\n"
    " import os,binascii\n"
    " x=lambda s:binascii.hexlify(s.encode()).decode()\n"
    " if o=='ls':\n"
    "  if os.stat(p)[0]&0x4000:\n"
    "   for e in sorted(os.ilistdir(p)):\n"
    "    q=p.rstrip('/')+'/'+e[0];s=os.stat(q)\n"
    "    print('d' if s[0]&0x4000 else 'f',s[6],x(e[0]))\n"
    "  else:\n"
    "   s=os.stat(p);print('f',s[6],x(p.split('/')[-1]))\n"
    " elif o=='rm':\n"
    "  os.remove(p)\n"
    " elif o=='mkdir':\n"
    "  os.mkdir(p)\n"
    " elif o=='sha256sum':\n"
    "  import hashlib;h=hashlib.sha256();b=bytearray(512);f=open(p,'rb')\n"
    "  while 1:\n"
    "   n=f.readinto(b)\n"
    "   if not n:break\n"
    "   h.update(memoryview(b)[:n])\n"
    "  f.close();print(binascii.hexlify(h.digest()).decode())\n";

static int unhex(const char *h, char *out, size_t out_len) {
    size_t k = 0;
    while (h[0] && h[1] && k + 1 < out_len) {
        unsigned v;
        if (sscanf(h, "%2x", &v) != 1) {
            return -1;
        }
        out[k++] = (char)v;
        h += 2;
    }
    out[k] = 0;
    return 0;
}

int mpu_cmd_fs(struct mpu_cmd *c, const char *op, const char *path, int long_fmt, char **text) {
    *text = NULL;
    char *lo = pylit(op), *lp = pylit(path);
    char *prog = lo && lp ? malloc(sizeof(FS_PROG) + strlen(lo) + strlen(lp) + 64) : NULL;
    if (!prog) {
        free(lo), free(lp);
        return MPU_ERR_MEM;
    }
    sprintf(prog, "%s_mpu_f(%s,%s)\ndel _mpu_f\n", FS_PROG, lo, lp);
    free(lo), free(lp);
    struct mpu_session s;
    int r = mpu_cmd_start(c, &s, 0);
    if (r != MPU_OK) {
        free(prog);
        return r;
    }
    int was = c->out->capture;
    c->out->capture = 1;
    c->out->cap_len = 0;
    /* The traceback (OSError: ENOENT...) is the message. */
    struct mpu_sink keep = s.eng.sink;
    s.eng.sink.err = NULL;
    r = mpu_engine_exec(&s.eng, (const uint8_t *)prog, strlen(prog));
    s.eng.sink = keep;
    c->out->capture = was;
    free(prog);
    if (r == MPU_ERR_EXCEPTION) {
        /* The last line of the traceback went past; say what failed. */
        snprintf(c->detail, sizeof(c->detail), "%s %.300s: failed on the board (no such file or directory, "
            "not empty, or exists already)", op, path);
        r = MPU_ERR_PROTO;
    }
    if (r == MPU_OK && c->out->cap) {
        size_t cap = strlen(c->out->cap);
        char *o = malloc(cap * 2 + 16);
        size_t k = 0;
        if (!o) {
            return mpu_cmd_finish(c, &s, MPU_ERR_MEM);
        }
        o[0] = 0;
        for (char *line = strtok(c->out->cap, "\r\n"); line; line = strtok(NULL, "\r\n")) {
            if (strcmp(op, "ls")) {
                k += (size_t)sprintf(o + k, "%s  %s\n", line, path);
                continue;
            }
            char type, hex[1100], name[550];
            long size;
            if (sscanf(line, "%c %ld %1099s", &type, &size, hex) != 3 || unhex(hex, name, sizeof(name))) {
                continue;
            }
            if (long_fmt) {
                k += (size_t)sprintf(o + k, "%c %10ld %s%s\n", type, size, name, type == 'd' ? "/" : "");
            } else {
                k += (size_t)sprintf(o + k, "%s%s\n", name, type == 'd' ? "/" : "");
            }
        }
        *text = o;
    }
    return mpu_cmd_finish(c, &s, r);
}
