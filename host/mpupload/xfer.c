/* File transfer on stock firmware: a small receiver (or sender) pasted once,
 * CRC-checked blocks with credits, SHA-256 and a rename at the end. */
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

static char *pylit(const char *s);

#define HDR 8
#define IDLE_MS 5000 /* the peer is gone after this much silence */
#define NAK_QUIET_MS 300 /* after a NAK: longer than the peer's 100 ms drain, shorter than its 500 ms pause */

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

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One frame: type, seq, length (LE16), CRC-32 (LE32) of the first 4 bytes and the data. */
static size_t frame(uint8_t *f, char type, unsigned seq, const uint8_t *d, size_t n) {
    f[0] = (uint8_t)type;
    f[1] = (uint8_t)seq;
    f[2] = (uint8_t)n;
    f[3] = (uint8_t)(n >> 8);
    if (n) {
        memcpy(f + HDR, d, n);
    }
    put32(f + 4, mpu_crc32(mpu_crc32(0, f, 4), f + HDR, n));
    return HDR + n;
}

/* The program's end (\x04, traceback, \x04, '>'), its output captured. */
static int finish_prog(struct mpu_cmd *c, struct mpu_engine *e) {
    int r = mpu_eng_follow(e, 0);
    c->out->capture = 0;
    if (r == MPU_ERR_EXCEPTION) {
        snprintf(c->detail, sizeof(c->detail), "the board's transfer program failed");
        return MPU_ERR_PROTO;
    }
    return r;
}

/* After an 'F' from the board: its message line. */
static void read_fail(struct mpu_cmd *c, struct mpu_engine *e, const char *what) {
    char msg[300];
    size_t k = 0;
    while (k + 1 < sizeof(msg)) {
        uint8_t b;
        if (mpu_eng_rd(e, &b, 1, mpu_eng_after(e, IDLE_MS), 0) <= 0 || b == '\n') {
            break;
        }
        msg[k++] = (char)b;
    }
    msg[k] = 0;
    /* MicroPython names errno values by number only: say the common ones. */
    const char *why = strstr(msg, "OSError(28,") ? " (no space left on the board's filesystem)"
        : strstr(msg, "OSError(2,") ? " (no such file or directory)"
        : strstr(msg, "OSError(21,") ? " (is a directory)" : "";
    snprintf(c->detail, sizeof(c->detail), "%s: the board says: %s%s", what, msg, why);
}

/* Run prog with its output left for us to read; the board sends 'R' when ready. */
static int start_prog(struct mpu_cmd *c, struct mpu_session *s, const char *prog, const char *what) {
    c->out->capture = 1;
    c->out->cap_len = 0;
    s->eng.no_follow = 1;
    /* Progress is the file's, not the program's. */
    void (*progress)(void *, size_t, size_t) = s->eng.sink.progress;
    s->eng.sink.progress = NULL;
    int r = mpu_engine_exec(&s->eng, (const uint8_t *)prog, strlen(prog));
    s->eng.sink.progress = progress;
    s->eng.no_follow = 0;
    if (r != MPU_OK) {
        return r;
    }
    for (;;) {
        uint8_t b;
        r = mpu_eng_rd(&s->eng, &b, 1, mpu_eng_after(&s->eng, IDLE_MS), 0);
        if (r == 0) {
            snprintf(c->detail, sizeof(c->detail), "%s: the board's program did not start; got \"%s\"",
                what, mpu_eng_seen(&s->eng));
            return MPU_ERR_TIMEOUT;
        }
        if (r < 0) {
            return r;
        }
        if (b == 'R') {
            return MPU_OK;
        }
        if (b == 'F') {
            read_fail(c, &s->eng, what);
            r = finish_prog(c, &s->eng);
            return r == MPU_OK ? MPU_ERR_PROTO : r;
        }
        if (b == 0x04) {
            /* A traceback instead of the program (no sys.stdin.buffer?): keep its last line. */
            char tb[400];
            size_t k = 0, line = 0;
            int nl = 0;
            while (mpu_eng_rd(&s->eng, &b, 1, mpu_eng_after(&s->eng, IDLE_MS), 0) == 1 && b != 0x04) {
                if (b == '\n' || b == '\r') {
                    nl = 1;
                } else if (k + 1 < sizeof(tb)) {
                    if (nl) {
                        line = k;
                        nl = 0;
                    }
                    tb[k++] = (char)b;
                }
            }
            tb[k] = 0;
            if (b == 0x04 && mpu_eng_wait_for(&s->eng, ">", mpu_eng_after(&s->eng, IDLE_MS)) == MPU_OK) {
                s->eng.in_raw = 1;
            }
            snprintf(c->detail, sizeof(c->detail), "%s: the board cannot run the transfer program: %s", what,
                tb + line);
            return MPU_ERR_SUPP;
        }
    }
}

/* The receiver: args d (target), b (local base name), n (block max), t (idle ms). */
static const char PUT_PROG[] =
    "def _mpu_p(d,b,n,t):\n"
    " import sys,os,hashlib,binascii,micropython,select\n"
    " i=sys.stdin.buffer;w=sys.stdout.buffer.write;m=memoryview(bytearray(n+8));c=binascii.crc32\n"
    " q=select.poll();q.register(i,select.POLLIN)\n"
    " def r(a,z):\n"
    "  if not q.poll(t):raise OSError('host timeout')\n"
    "  i.readinto(m[a:z])\n"
    " try:\n"
    "  if os.stat(d)[0]&0x4000:d=d.rstrip('/')+'/'+b\n"
    " except OSError:\n"
    "  pass\n"
    " p=d+'.part';h=hashlib.sha256();x=0;f=None\n"
    " micropython.kbd_intr(-1)\n"
    " try:\n"
    "  f=open(p,'wb');w(b'R')\n"
    "  while 1:\n"
    "   r(0,8);y=m[0];l=m[2]|m[3]<<8\n"
    "   if y==88:raise OSError('aborted by host')\n"
    "   if l<=n:r(8,8+l)\n"
    "   if l>n or c(m[8:8+l],c(m[0:4]))!=m[4]|m[5]<<8|m[6]<<16|m[7]<<24 or m[1]!=x:\n"
    "    w(b'N')\n"
    "    while q.poll(100):i.readinto(m[0:1])\n"
    "    continue\n"
    "   x=(x+1)&255\n"
    "   if y==69:\n"
    "    f.close();f=None\n"
    "    if h.digest()!=m[8:40]:raise OSError('SHA-256 mismatch')\n"
    "    os.rename(p,d);w(b'K');break\n"
    "   w(b'A');f.write(m[8:8+l]);h.update(m[8:8+l])\n"
    " except Exception as e:\n"
    "  w(b'F'+repr(e).encode()+b'\\n')\n"
    "  try:\n"
    "   f and f.close();os.remove(p)\n"
    "  except OSError:\n"
    "   pass\n"
    "  while q.poll(200):i.readinto(m[0:1])\n"
    " finally:\n"
    "  micropython.kbd_intr(3)\n";

static int put_on(struct mpu_cmd *c, struct mpu_session *sp, const char *src, const char *dest, const char *base) {
    FILE *fp = fopen(src, "rb");
    struct stat st;
    if (!fp || fstat(fileno(fp), &st) || !S_ISREG(st.st_mode)) {
        snprintf(c->detail, sizeof(c->detail), "%.300s: %s", src, fp ? "not a regular file" : strerror(errno));
        if (fp) {
            fclose(fp);
        }
        return MPU_ERR_ARG;
    }
    size_t len = (size_t)st.st_size;
    uint8_t *data = malloc(len ? len : 1);
    if (!data || fread(data, 1, len, fp) != len) {
        snprintf(c->detail, sizeof(c->detail), "%.300s: cannot read", src);
        fclose(fp);
        free(data);
        return MPU_ERR_ARG;
    }
    fclose(fp);
    uint8_t sha[32];
    struct mpu_sha256 h;
    mpu_sha256_init(&h);
    mpu_sha256_update(&h, data, len);
    mpu_sha256_final(&h, sha);

    char *base_dup = strdup(base);
    char *ld = pylit(dest), *lb = base_dup ? pylit(base_dup) : NULL;
    char *prog = ld && lb ? malloc(sizeof(PUT_PROG) + strlen(ld) + strlen(lb) + 64) : NULL;
    if (!prog) {
        free(data), free(base_dup), free(ld), free(lb);
        return MPU_ERR_MEM;
    }
    sprintf(prog, "%s_mpu_p(%s,%s,%d,%d)\ndel _mpu_p\n", PUT_PROG, ld, lb, MPU_XFER_BLOCK, IDLE_MS);
    free(base_dup), free(ld), free(lb);

    int64_t t0 = mpu_now_ms();
    c->total = len;
    c->mode = "stock-blocks";
    int r = MPU_OK;
    struct mpu_engine *e = &sp->eng;
    r = start_prog(c, sp, prog, "put");
    free(prog);
    size_t nblocks = (len + MPU_XFER_BLOCK - 1) / MPU_XFER_BLOCK;
    size_t next = 0, acked = 0, inflight = 0;
    mpu_progress_start(&c->out->progress, len);
    while (r == MPU_OK) {
        while (inflight < MPU_XFER_WINDOW && next <= nblocks) {
            uint8_t f[HDR + MPU_XFER_BLOCK];
            size_t n;
            if (next < nblocks) {
                size_t off = next * MPU_XFER_BLOCK, k = len - off < MPU_XFER_BLOCK ? len - off : MPU_XFER_BLOCK;
                n = frame(f, 'D', (unsigned)next, data + off, k);
            } else {
                n = frame(f, 'E', (unsigned)next, sha, 32);
            }
            if ((r = mpu_eng_wr(e, f, n)) < 0) {
                break;
            }
            c->bytes_sent += n;
            next++;
            inflight++;
        }
        if (r < 0) {
            break;
        }
        uint8_t b;
        int n = mpu_eng_rd(e, &b, 1, mpu_eng_after(e, IDLE_MS), 0);
        if (n == 0 || n == MPU_ERR_INTR) {
            /* Stop the receiver: an abort frame at a frame boundary. */
            uint8_t f[HDR];
            frame(f, 'X', 0, NULL, 0);
            r = n == 0 ? MPU_ERR_TIMEOUT : MPU_ERR_INTR;
            snprintf(c->detail, sizeof(c->detail), n == 0 ? "put: the board stopped answering after %zu of %zu bytes"
                : "put: interrupted after %zu of %zu bytes", acked * MPU_XFER_BLOCK < len ? acked * MPU_XFER_BLOCK : len, len);
            if (mpu_eng_wr(e, f, HDR) == MPU_OK) {
                int64_t end = mpu_eng_after(e, IDLE_MS + 1000);
                /* Credits still on their way, then the F of the abort. */
                while (mpu_eng_rd(e, &b, 1, end, 0) == 1 && b != 'F') {
                }
                if (b == 'F') {
                    char keep[sizeof(c->detail)];
                    memcpy(keep, c->detail, sizeof(keep));
                    read_fail(c, e, "put");
                    memcpy(c->detail, keep, sizeof(keep));
                    finish_prog(c, e);
                }
            }
            break;
        }
        if (n < 0) {
            snprintf(c->detail, sizeof(c->detail), "put: the link failed after %zu of %zu bytes: %s",
                acked * MPU_XFER_BLOCK < len ? acked * MPU_XFER_BLOCK : len, len, mpu_link_last_error(sp->link));
            r = n;
            break;
        }
        if (b == 'A') {
            acked++;
            inflight--;
            mpu_progress_update(&c->out->progress, acked * MPU_XFER_BLOCK < len ? acked * MPU_XFER_BLOCK : len, len);
        } else if (b == 'N') {
            /* The board drains what is in flight until 100 ms of quiet: wait longer. */
            while ((n = mpu_eng_rd(e, &b, 1, mpu_eng_after(e, NAK_QUIET_MS), 0)) == 1) {
            }
            if (n < 0) {
                r = n;
                break;
            }
            inflight = 0;
            next = acked;
            c->naks++;
        } else if (b == 'K') {
            r = finish_prog(c, e);
            break;
        } else if (b == 'F') {
            read_fail(c, e, "put");
            r = finish_prog(c, e);
            r = r == MPU_OK ? MPU_ERR_PROTO : r;
            break;
        } else {
            snprintf(c->detail, sizeof(c->detail), "put: unexpected answer from the board: \"%s\"", mpu_eng_seen(e));
            r = MPU_ERR_PROTO;
            break;
        }
    }
    free(data);
    c->elapsed_ms = mpu_now_ms() - t0;
    return r;
}

/* Create the missing parents of target (a normalised path) on the board. */
static int make_parents(struct mpu_cmd *c, struct mpu_session *s, const char *target) {
    char *lp = pylit(target);
    char *prog = lp ? malloc(strlen(lp) + 256) : NULL;
    if (!prog) {
        free(lp);
        return MPU_ERR_MEM;
    }
    sprintf(prog, "def _mpu_md(p):\n"
        " import os\n"
        " q=''\n"
        " for n in p.split('/')[1:-1]:\n"
        "  q+='/'+n\n"
        "  try:\n"
        "   os.mkdir(q)\n"
        "  except OSError:\n"
        "   pass\n"
        "_mpu_md(%s)\ndel _mpu_md\n", lp);
    free(lp);
    int r = mpu_xfer_run_capture(c, s, prog, NULL, NULL);
    free(prog);
    return r == MPU_ERR_EXCEPTION ? MPU_ERR_PROTO : r;
}

int mpu_xfer_put_file(struct mpu_cmd *c, struct mpu_session *s, const char *src, const char *target, int flags) {
    int r = MPU_OK;
    if (flags & MPU_XFER_PARENTS) {
        r = make_parents(c, s, target);
    }
    if (r == MPU_OK) {
        const char *b = strrchr(target, '/');
        r = put_on(c, s, src, target, b ? b + 1 : target);
    }
    return r;
}

int mpu_cmd_put(struct mpu_cmd *c, const char *src, const char *dest) {
    struct mpu_session s;
    int r = mpu_cmd_start(c, &s, 0);
    if (r != MPU_OK) {
        return r;
    }
    char *dup = strdup(src);
    r = dup ? put_on(c, &s, src, dest, basename(dup)) : MPU_ERR_MEM;
    free(dup);
    return mpu_cmd_finish(c, &s, r);
}

/* The sender: args d (source), n (block size), W (window), t (idle ms). */
static const char GET_PROG[] =
    "def _mpu_g(d,n,W,t):\n"
    " import sys,os,hashlib,binascii,micropython,select,time\n"
    " i=sys.stdin.buffer;w=sys.stdout.buffer.write;c=binascii.crc32\n"
    " m=memoryview(bytearray(n+8));q=select.poll();q.register(i,select.POLLIN)\n"
    " micropython.kbd_intr(-1)\n"
    " try:\n"
    "  f=open(d,'rb');h=hashlib.sha256()\n"
    "  while 1:\n"
    "   l=f.readinto(m[8:])\n"
    "   if not l:break\n"
    "   h.update(m[8:8+l])\n"
    "  s=f.tell();e=(s+n-1)//n;w(b'R'+s.to_bytes(4,'little'));k=0;a=0;g=h.digest()\n"
    "  while a<=e:\n"
    "   while k<=e and k-a<W:\n"
    "    if k<e:\n"
    "     f.seek(k*n);l=f.readinto(m[8:8+n]);m[0]=68\n"
    "    else:\n"
    "     m[8:40]=g;l=32;m[0]=69\n"
    "    m[1]=k&255;m[2]=l&255;m[3]=l>>8\n"
    "    m[4:8]=c(m[8:8+l],c(m[0:4])).to_bytes(4,'little');w(m[:8+l]);k+=1\n"
    "   if not q.poll(t):raise OSError('host timeout')\n"
    "   y=i.read(1)\n"
    "   if y==b'A':a+=1\n"
    "   elif y==b'N':k=a;time.sleep_ms(500)\n"
    "   else:raise OSError('aborted by host')\n"
    "  f.close()\n"
    " except Exception as e:\n"
    "  w(b'F'+repr(e).encode()+b'\\n')\n"
    " finally:\n"
    "  micropython.kbd_intr(3)\n";

static int get_on(struct mpu_cmd *c, struct mpu_session *sp, const char *src, const char *dest) {
    char *ls = pylit(src);
    char *prog = ls ? malloc(sizeof(GET_PROG) + strlen(ls) + 64) : NULL;
    if (!prog) {
        free(ls);
        return MPU_ERR_MEM;
    }
    enum { GB = 1024, GW = 4 };
    sprintf(prog, "%s_mpu_g(%s,%d,%d,%d)\ndel _mpu_g\n", GET_PROG, ls, GB, GW, IDLE_MS);
    free(ls);
    /* Local target: a directory keeps the remote name; data goes to a temporary first. */
    char target[4096], tmp[4200];
    int to_stdout = !strcmp(dest, "-");
    snprintf(target, sizeof(target), "%s", dest);
    FILE *fp = NULL;
    if (to_stdout) {
        fp = stdout;
    } else {
        snprintf(tmp, sizeof(tmp), "%s.mpu-XXXXXX", target);
        int fd = mkstemp(tmp);
        if (fd < 0 || !(fp = fdopen(fd, "wb"))) {
            snprintf(c->detail, sizeof(c->detail), "%.300s: %s", target, strerror(errno));
            free(prog);
            if (fd >= 0) {
                close(fd), unlink(tmp);
            }
            return MPU_ERR_ARG;
        }
    }
    int64_t t0 = mpu_now_ms();
    c->mode = "stock-blocks";
    int r = start_prog(c, sp, prog, "get");
    free(prog);
    struct mpu_engine *e = &sp->eng;
    uint8_t sz[4], f[HDR + GB], want[32];
    size_t len = 0, got = 0;
    unsigned seq = 0;
    int done = 0;
    struct mpu_sha256 h;
    mpu_sha256_init(&h);
    if (r == MPU_OK && (r = mpu_eng_read_n(e, sz, 4, mpu_eng_after(e, IDLE_MS), "the file size")) == MPU_OK) {
        len = get32(sz);
        c->total = len;
        mpu_progress_start(&c->out->progress, len);
    }
    while (r == MPU_OK && !done) {
        r = mpu_eng_read_n(e, f, 1, mpu_eng_after(e, IDLE_MS), "a block");
        if (r == MPU_OK && f[0] == 'F') {
            read_fail(c, e, "get");
            r = finish_prog(c, e);
            r = r == MPU_OK ? MPU_ERR_PROTO : r;
            break;
        }
        if (r == MPU_OK) {
            r = mpu_eng_read_n(e, f + 1, HDR - 1, mpu_eng_after(e, IDLE_MS), "a block header");
        }
        size_t n = f[2] | (size_t)f[3] << 8;
        if (r == MPU_OK && n && n <= GB) {
            r = mpu_eng_read_n(e, f + HDR, n, mpu_eng_after(e, IDLE_MS), "block data");
        }
        if (r != MPU_OK) {
            break;
        }
        c->bytes_sent += HDR + n;
        int good = n <= GB && mpu_crc32(mpu_crc32(0, f, 4), f + HDR, n) == get32(f + 4) && f[1] == (seq & 255);
        if (!good) {
            /* Framing may be lost: drain until the board pauses, then it sends again. */
            if ((r = mpu_eng_wr(e, "N", 1)) < 0) {
                break;
            }
            int k;
            uint8_t junk[256];
            while ((k = mpu_eng_rd(e, junk, sizeof(junk), mpu_eng_after(e, 100), 0)) > 0) {
            }
            if (k < 0) {
                r = k;
                break;
            }
            c->naks++;
            continue;
        }
        seq++;
        if (f[0] == 'E') {
            memcpy(want, f + HDR, 32);
            done = 1;
        } else {
            if (fwrite(f + HDR, 1, n, fp) != n) {
                snprintf(c->detail, sizeof(c->detail), "get: writing %.300s: %s", to_stdout ? "stdout" : tmp, strerror(errno));
                r = MPU_ERR_ARG;
                break;
            }
            mpu_sha256_update(&h, f + HDR, n);
            got += n;
            mpu_progress_update(&c->out->progress, got, len);
        }
        if ((r = mpu_eng_wr(e, "A", 1)) < 0) {
            break;
        }
    }
    if (r == MPU_OK) {
        r = finish_prog(c, e);
    } else if (r == MPU_ERR_TIMEOUT || r == MPU_ERR_INTR) {
        if (mpu_eng_wr(e, "X", 1) == MPU_OK) {
            /* Drain the blocks in flight up to the F line, then the program's end. */
            int64_t end = mpu_eng_after(e, IDLE_MS + 1000);
            int k = 0;
            for (;;) {
                uint8_t b;
                if (mpu_eng_rd(e, &b, 1, end, 0) != 1) {
                    break;
                }
                k = b == 'F' ? 1 : k == 1 && b == '\n' ? 2 : k;
                if (k == 2) {
                    finish_prog(c, e);
                    break;
                }
            }
        }
        if (!c->detail[0]) {
            snprintf(c->detail, sizeof(c->detail), "get: %s after %zu of %zu bytes",
                r == MPU_ERR_INTR ? "interrupted" : "the board stopped sending", got, len);
        }
    }
    if (r == MPU_OK) {
        uint8_t sha[32];
        mpu_sha256_final(&h, sha);
        if (got != len || memcmp(sha, want, 32)) {
            snprintf(c->detail, sizeof(c->detail), "get: SHA-256 or size mismatch (%zu of %zu bytes)", got, len);
            r = MPU_ERR_PROTO;
        }
    }
    if (!to_stdout) {
        if (fclose(fp) != 0 && r == MPU_OK) {
            snprintf(c->detail, sizeof(c->detail), "get: writing %.300s: %s", tmp, strerror(errno));
            r = MPU_ERR_ARG;
        }
        if (r == MPU_OK && rename(tmp, target) != 0) {
            snprintf(c->detail, sizeof(c->detail), "get: %.300s: %s", target, strerror(errno));
            r = MPU_ERR_ARG;
        }
        if (r != MPU_OK) {
            unlink(tmp);
        }
    } else {
        fflush(stdout);
    }
    c->elapsed_ms = mpu_now_ms() - t0;
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
    r = get_on(c, &s, src, target);
    return mpu_cmd_finish(c, &s, r);
}

int mpu_xfer_get_file(struct mpu_cmd *c, struct mpu_session *s, const char *src, const char *dest) {
    return get_on(c, s, src, dest);
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

int mpu_xfer_end(struct mpu_cmd *c, struct mpu_session *s) {
    (void)c, (void)s;
    return MPU_OK;
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
