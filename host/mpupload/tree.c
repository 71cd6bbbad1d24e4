/* Trees of files in one session: a listing round (sizes, SHA-256, names
 * hex-encoded), a round of directory operations, then one transfer per file.
 * sync is in tree_sync.c. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "session.h"
#include "sha256.h"
#include "tree.h"
#include "tree_int.h"
#include "xfer.h"

/* Longest remote path a board's filesystem is asked to hold (B.5 refuses longer). */
#define PATH_MAX_REMOTE 255
/* Directory operations go in rounds of about this much program text. */
#define OPS_CHUNK 3000
#define DEPTH_MAX 64

/* ---- small helpers ---- */

void *tr_xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        abort();
    }
    return q;
}

char *tr_xstrdup(const char *s) {
    char *p = strdup(s);
    if (!p) {
        abort();
    }
    return p;
}

char *tr_join(const char *a, const char *b) {
    size_t la = strlen(a);
    char *p = tr_xrealloc(NULL, la + strlen(b) + 2);
    if (!*b) {
        strcpy(p, a);
    } else if (!*a) {
        strcpy(p, b);
    } else {
        sprintf(p, "%s%s%s", a, a[la - 1] == '/' ? "" : "/", b);
    }
    return p;
}

/* A growing string. */
struct sb {
    char *p;
    size_t n, cap;
};

static void sb_add(struct sb *b, const char *s) {
    size_t k = strlen(s);
    if (b->n + k + 1 > b->cap) {
        b->cap = (b->n + k + 1) * 2;
        b->p = tr_xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, k + 1);
    b->n += k;
}

/* Hex digits only: whatever the name, it is data in a str literal. */
static void sb_hex(struct sb *b, const char *s) {
    for (; *s; s++) {
        char h[3];
        snprintf(h, sizeof(h), "%02x", (unsigned char)*s);
        sb_add(b, h);
    }
}

static char *unhex(const char *h) {
    size_t n = strlen(h);
    if (n % 2) {
        return NULL;
    }
    char *o = tr_xrealloc(NULL, n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1) {
            free(o);
            return NULL;
        }
        o[i] = (char)v;
        if (!o[i]) {
            free(o);
            return NULL;
        }
    }
    o[n / 2] = 0;
    return o;
}

void tr_b64(const uint8_t *d, size_t n, char *out) {
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
        out[o++] = A[v >> 18 & 63];
        out[o++] = A[v >> 12 & 63];
        if (i + 1 < n) {
            out[o++] = A[v >> 6 & 63];
        }
        if (i + 2 < n) {
            out[o++] = A[v & 63];
        }
    }
    out[o] = 0;
}

void tr_tohex(const uint8_t *d, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", d[i]);
    }
}

static const char *errno_text(int e) {
    switch (e) {
    case 1: return "operation not permitted";
    case 2: return "no such file or directory";
    case 5: return "I/O error";
    case 13: return "permission denied";
    case 17: return "exists already";
    case 19: return "no filesystem";
    case 20: return "not a directory";
    case 21: return "is a directory";
    case 22: return "invalid argument";
    case 28: return "no space left on the board's filesystem";
    case 30: return "read-only filesystem";
    case 36: return "name too long";
    case 39: return "directory not empty";
    default: return "failed on the board";
    }
}

void tr_event(struct tr_tree *t, const char *action, const char *path, uint64_t size) {
    if (t->j && t->j->event) {
        int moving = !strcmp(action, "put") || !strcmp(action, "get");
        struct mpu_tree_event ev = { action, path, size, t->j->dry_run, moving ? t->moved : 0,
            moving ? t->files : 0 };
        t->j->event(t->j->ctx, &ev);
    }
}

/* A path built from names (local or listed by the board): each part a real
 * name, the whole short enough for the board. */
int tr_check_parts(struct tr_tree *t, const char *rel, const char *whole, int remote) {
    const char *p = rel;
    while (*p) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
            snprintf(t->c->detail, sizeof(t->c->detail), "%.300s: a path that would leave the destination: refused",
                whole);
            return MPU_ERR_ARG;
        }
        p += n;
        if (*p == '/') {
            p++;
            if (!*p) {
                break;
            }
        }
    }
    if (remote && strlen(whole) > PATH_MAX_REMOTE) {
        snprintf(t->c->detail, sizeof(t->c->detail), "%.300s: longer than the %d bytes a board path may have",
            whole, PATH_MAX_REMOTE);
        return MPU_ERR_ARG;
    }
    return MPU_OK;
}

static int excluded1(const struct mpu_tree_job *j, const char *rel) {
    const char *base = strrchr(rel, '/');
    base = base ? base + 1 : rel;
    for (size_t i = 0; i < j->n_exclude; i++) {
        if (!fnmatch(j->exclude[i], rel, 0) || !fnmatch(j->exclude[i], base, 0)) {
            return 1;
        }
    }
    return 0;
}

/* rel or one of its parent directories matches an --exclude pattern. */
int tr_excluded(const struct mpu_tree_job *j, const char *rel) {
    if (!j->n_exclude) {
        return 0;
    }
    char *p = tr_xstrdup(rel);
    int r = 0;
    for (;;) {
        if (excluded1(j, p)) {
            r = 1;
            break;
        }
        char *sl = strrchr(p, '/');
        if (!sl) {
            break;
        }
        *sl = 0;
    }
    free(p);
    return r;
}

/* ---- the local tree ---- */

struct tr_anc {
    dev_t dev;
    ino_t ino;
    const char *path;
    const struct tr_anc *up;
};

static void lpush(struct tr_lvec *l, const char *rel, const char *path, int dir, uint64_t size) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = tr_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    struct tr_lent *e = &l->v[l->n++];
    memset(e, 0, sizeof(*e));
    e->rel = tr_xstrdup(rel);
    e->path = tr_xstrdup(path);
    e->dir = dir;
    e->size = size;
}

void tr_lfree(struct tr_lvec *l) {
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].rel);
        free(l->v[i].path);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Symlinks are followed; a directory that is its own ancestor is a loop. */
int tr_walk(struct tr_tree *t, const char *path, const char *rel, const struct tr_anc *up, int depth,
    struct tr_lvec *out) {
    struct stat st;
    if (stat(path, &st) != 0) {
        struct stat lst;
        int dangling = errno == ENOENT && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode);
        snprintf(t->c->detail, sizeof(t->c->detail), "%.300s: %s", path,
            dangling ? "a symlink to nothing" : errno == ELOOP ? "symlink loop" : strerror(errno));
        return MPU_ERR_ARG;
    }
    if (S_ISREG(st.st_mode)) {
        lpush(out, rel, path, 0, (uint64_t)st.st_size);
        return MPU_OK;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(t->c->detail, sizeof(t->c->detail), "%.300s: not a regular file or directory", path);
        return MPU_ERR_ARG;
    }
    for (const struct tr_anc *a = up; a; a = a->up) {
        if (a->dev == st.st_dev && a->ino == st.st_ino) {
            snprintf(t->c->detail, sizeof(t->c->detail), "%.300s: symlink loop (the same directory as %.300s)",
                path, a->path);
            return MPU_ERR_ARG;
        }
    }
    if (depth > DEPTH_MAX) {
        snprintf(t->c->detail, sizeof(t->c->detail), "%.300s: more than %d directory levels", path, DEPTH_MAX);
        return MPU_ERR_ARG;
    }
    if (*rel) {
        lpush(out, rel, path, 1, 0);
    }
    DIR *d = opendir(path);
    if (!d) {
        snprintf(t->c->detail, sizeof(t->c->detail), "%.300s: %s", path, strerror(errno));
        return MPU_ERR_ARG;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            names = tr_xrealloc(names, cap * sizeof(*names));
        }
        names[n++] = tr_xstrdup(de->d_name);
    }
    closedir(d);
    if (n) {
        qsort(names, n, sizeof(*names), cmp_str);
    }
    struct tr_anc me = { st.st_dev, st.st_ino, path, up };
    int r = MPU_OK;
    for (size_t i = 0; i < n; i++) {
        char *crel = tr_join(rel, names[i]), *cpath = tr_join(path, names[i]);
        if (r == MPU_OK && !(t->j && tr_excluded(t->j, crel))) {
            r = tr_walk(t, cpath, crel, &me, depth + 1, out);
        }
        free(crel);
        free(cpath);
        free(names[i]);
    }
    free(names);
    return r;
}

int tr_sha_file(const char *path, uint8_t out[32]) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        return -1;
    }
    struct mpu_sha256 h;
    mpu_sha256_init(&h);
    uint8_t buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        mpu_sha256_update(&h, buf, n);
    }
    int bad = ferror(f);
    fclose(f);
    mpu_sha256_final(&h, out);
    return bad ? -1 : 0;
}

/* ---- programs on the board ---- */

/* The listing: R the roots (hex, NUL-separated), H hash files, D descend.
 * Per root i: "i none", "i file SIZE SHA", or "i dir" then "i d NAME" and
 * "i f SIZE SHA NAME" for everything under it (a directory before its
 * contents), NAME relative to the root. So that any name survives, NAME is
 * hex unless it is made of letters, digits and "._-+/" only: then ':' and the
 * name, which keeps the lines short on a slow line. SHA is the SHA-256 in
 * base64 without its '=', or "-" without H. */
static const char LIST_PROG[] =
    "def _mpu_l(R,H,D):\n"
    " import os,binascii\n"
    " S='abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+/'\n"
    " def x(s):\n"
    "  for c in s:\n"
    "   if c not in S:return binascii.hexlify(s.encode()).decode()\n"
    "  return ':'+s\n"
    " b=bytearray(1024);v=memoryview(b)\n"
    " def hs(p):\n"
    "  if not H:return '-'\n"
    "  import hashlib\n"
    "  h=hashlib.sha256();f=open(p,'rb')\n"
    "  while 1:\n"
    "   n=f.readinto(b)\n"
    "   if not n:break\n"
    "   h.update(v[:n])\n"
    "  f.close();return binascii.b2a_base64(h.digest()).decode().strip().rstrip('=')\n"
    " for i,r in enumerate(binascii.unhexlify(R).decode().split('\\x00')):\n"
    "  try:\n"
    "   m=os.stat(r)\n"
    "  except OSError:\n"
    "   print(i,'none');continue\n"
    "  if not m[0]&0x4000:\n"
    "   print(i,'file',m[6],hs(r));continue\n"
    "  print(i,'dir')\n"
    "  s=[''] if D else []\n"
    "  while s:\n"
    "   d=s.pop();p=r.rstrip('/')+d\n"
    "   for e in list(os.ilistdir(p or '/')):\n"
    "    n=d+'/'+e[0];q=r.rstrip('/')+n\n"
    "    if e[1]&0x4000:\n"
    "     print(i,'d',x(n[1:]));s.append(n)\n"
    "    else:\n"
    "     print(i,'f',os.stat(q)[6],hs(q),x(n[1:]))\n";

/* Directory operations, O: ';'-separated ops, each a letter and its
 * ','-separated hex arguments. One answer line per op: "i ok", "i E ERRNO",
 * "i s BSIZE FRSIZE BLOCKS BFREE BAVAIL". */
static const char OPS_PROG[] =
    "def _mpu_o(O):\n"
    " import os,binascii\n"
    " def ty(p):\n"
    "  try:\n"
    "   return 2 if os.stat(p)[0]&0x4000 else 1\n"
    "  except OSError:\n"
    "   return 0\n"
    " def rr(p):\n"
    "  if ty(p)==2:\n"
    "   for e in list(os.ilistdir(p)):rr(p.rstrip('/')+'/'+e[0])\n"
    "   os.rmdir(p)\n"
    "  else:os.remove(p)\n"
    " for i,l in enumerate(O.split(';')):\n"
    "  f=l.split(',');o=f[0];a=[binascii.unhexlify(z).decode() for z in f[1:]]\n"
    "  try:\n"
    "   p=a[0];t=ty(p)\n"
    "   if o=='m':\n"
    "    q=''\n"
    "    for c in p.split('/')[1:]:\n"
    "     q+='/'+c;t=ty(q)\n"
    "     if t==1:raise OSError(20)\n"
    "     if t==0:os.mkdir(q)\n"
    "   elif o=='r':\n"
    "    if t==2:raise OSError(21)\n"
    "    os.remove(p)\n"
    "   elif o=='d':\n"
    "    if t==1:raise OSError(20)\n"
    "    os.rmdir(p)\n"
    "   elif o=='R':\n"
    "    if t==0:raise OSError(2)\n"
    "    rr(p)\n"
    "   elif o=='v':\n"
    "    if t==0:raise OSError(2)\n"
    "    if ty(a[1])==2:a[1]=a[1].rstrip('/')+'/'+p.split('/')[-1]\n"
    "    if a[1]==p or a[1].startswith(p+'/'):raise OSError(22)\n"
    "    os.rename(p,a[1])\n"
    "   elif o=='s':\n"
    "    s=os.statvfs(p);print(i,'s',s[0],s[1],s[2],s[3],s[4]);continue\n"
    "   print(i,'ok')\n"
    "  except OSError as e:\n"
    "   print(i,'E',e.args[0] if e.args and type(e.args[0]) is int else 5)\n";

int tr_start(struct tr_tree *t) {
    int r = mpu_cmd_start(t->c, &t->s, 0);
    t->open = r == MPU_OK;
    return r;
}

int tr_finish(struct tr_tree *t, int r, int64_t t0) {
    t->c->bytes_sent = t->wire;
    t->c->naks = t->naks;
    t->c->total = (size_t)t->total;
    t->c->elapsed_ms = mpu_now_ms() - t0;
    if (!t->open) {
        return r;
    }
    t->open = 0;
    /* Clean up after the transfers, unless the board is gone or lost. */
    if (r == MPU_OK || t->s.eng.in_raw) {
        int e = mpu_xfer_end(t->c, &t->s);
        r = r == MPU_OK ? e : r;
    }
    return mpu_cmd_finish(t->c, &t->s, r);
}

static int run_prog(struct tr_tree *t, const char *prog, char **text) {
    size_t len;
    if (t->j) {
        t->j->rounds++;
    }
    int r = mpu_xfer_run_capture(t->c, &t->s, prog, text, &len);
    if (r == MPU_ERR_EXCEPTION) {
        char why[400];
        snprintf(why, sizeof(why), "%.300s", t->c->detail);
        snprintf(t->c->detail, sizeof(t->c->detail), "the board's program failed: %s", why);
        r = MPU_ERR_PROTO;
    }
    return r;
}

void tr_rfree(struct tr_rroot *rt, size_t n) {
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < rt[i].n; k++) {
            free(rt[i].v[k].rel);
        }
        free(rt[i].v);
    }
    free(rt);
}

/* One round: what each root is, and (descend) everything under it. */
int tr_list_remote(struct tr_tree *t, const char *const *roots, size_t n, int hash, int descend,
    struct tr_rroot **out) {
    struct sb b = { 0 };
    sb_add(&b, LIST_PROG);
    sb_add(&b, "_mpu_l('");
    for (size_t i = 0; i < n; i++) {
        sb_add(&b, i ? "00" : "");
        sb_hex(&b, roots[i]);
    }
    char tail[64];
    snprintf(tail, sizeof(tail), "',%d,%d)\ndel _mpu_l\n", hash, descend);
    sb_add(&b, tail);
    char *prog = b.p;
    char *text = NULL;
    int r = run_prog(t, prog, &text);
    free(prog);
    struct tr_rroot *rt = tr_xrealloc(NULL, n * sizeof(*rt));
    memset(rt, 0, n * sizeof(*rt));
    *out = rt;
    if (r != MPU_OK) {
        free(text);
        return r;
    }
    char *save = NULL;
    for (char *line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
        unsigned i;
        char kind[8], a[80], b[80], h[1100];
        unsigned long long size;
        int k = sscanf(line, "%u %7s", &i, kind);
        if (k != 2 || i >= n) {
            goto bad;
        }
        struct tr_rroot *x = &rt[i];
        if (!strcmp(kind, "none")) {
            x->type = 0;
        } else if (!strcmp(kind, "dir")) {
            x->type = 2;
        } else if (!strcmp(kind, "file")) {
            if (sscanf(line, "%*u %*s %llu %79s", &size, a) != 2 || strlen(a) > 64) {
                goto bad;
            }
            x->type = 1;
            x->size = size;
            strcpy(x->sha, a);
        } else if (!strcmp(kind, "d") || !strcmp(kind, "f")) {
            int dir = kind[0] == 'd';
            if (dir ? sscanf(line, "%*u %*s %1099s", h) != 1
                : sscanf(line, "%*u %*s %llu %79s %1099s", &size, b, h) != 3 || strlen(b) > 64) {
                goto bad;
            }
            char *rel = h[0] == ':' ? tr_xstrdup(h + 1) : unhex(h);
            if (!rel || tr_check_parts(t, rel, rel, 0) != MPU_OK) {
                free(rel);
                goto bad;
            }
            if (x->n == x->cap) {
                x->cap = x->cap ? x->cap * 2 : 64;
                x->v = tr_xrealloc(x->v, x->cap * sizeof(*x->v));
            }
            struct tr_rent *e = &x->v[x->n++];
            memset(e, 0, sizeof(*e));
            e->rel = rel;
            e->dir = dir;
            if (!dir) {
                e->size = size;
                strcpy(e->sha, b);
            }
        } else {
            goto bad;
        }
        continue;
    bad:
        snprintf(t->c->detail, sizeof(t->c->detail), "the board's listing has a bad line: \"%.200s\"", line);
        free(text);
        return MPU_ERR_PROTO;
    }
    free(text);
    return MPU_OK;
}

void tr_ops_add(struct tr_ops *o, char code, const char *a, const char *b) {
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 32;
        o->v = tr_xrealloc(o->v, o->cap * sizeof(*o->v));
    }
    struct tr_op *p = &o->v[o->n++];
    memset(p, 0, sizeof(*p));
    p->code = code;
    p->a = tr_xstrdup(a);
    p->b = b ? tr_xstrdup(b) : NULL;
    p->err = -1;
}

void tr_ops_free(struct tr_ops *o) {
    for (size_t i = 0; i < o->n; i++) {
        free(o->v[i].a);
        free(o->v[i].b);
    }
    free(o->v);
    memset(o, 0, sizeof(*o));
}

/* Run every op, in rounds of about OPS_CHUNK bytes; each op's result in its err. */
int tr_ops_run(struct tr_tree *t, struct tr_ops *o) {
    size_t i = 0;
    while (i < o->n) {
        struct sb b = { 0 };
        size_t first = i;
        sb_add(&b, OPS_PROG);
        sb_add(&b, "_mpu_o('");
        size_t mark = b.n;
        while (i < o->n && (i == first || b.n - mark < OPS_CHUNK)) {
            struct tr_op *p = &o->v[i++];
            char head[4] = { ';', p->code, ',', 0 };
            sb_add(&b, p == &o->v[first] ? head + 1 : head);
            sb_hex(&b, p->a);
            if (p->b) {
                sb_add(&b, ",");
                sb_hex(&b, p->b);
            }
        }
        sb_add(&b, "')\ndel _mpu_o\n");
        char *prog = b.p;
        char *text = NULL;
        int r = run_prog(t, prog, &text);
        free(prog);
        if (r != MPU_OK) {
            free(text);
            return r;
        }
        char *save = NULL;
        for (char *line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
            unsigned k;
            char kind[4];
            int e = 0;
            if (sscanf(line, "%u %3s", &k, kind) != 2 || first + k >= i) {
                continue;
            }
            struct tr_op *p = &o->v[first + k];
            if (!strcmp(kind, "ok")) {
                p->err = 0;
            } else if (!strcmp(kind, "E") && sscanf(line, "%*u %*s %d", &e) == 1) {
                p->err = e > 0 ? e : 5;
            } else if (!strcmp(kind, "s") && sscanf(line, "%*u %*s %llu %llu %llu %llu %llu", &p->sv[0], &p->sv[1],
                &p->sv[2], &p->sv[3], &p->sv[4]) == 5) {
                p->err = 0;
            }
        }
        free(text);
        for (size_t k = first; k < i; k++) {
            if (o->v[k].err < 0) {
                snprintf(t->c->detail, sizeof(t->c->detail), "the board did not answer for every operation");
                return MPU_ERR_PROTO;
            }
        }
    }
    return MPU_OK;
}

/* The first failed op, in words; MPU_OK when none failed. */
int tr_ops_check(struct tr_tree *t, const struct tr_ops *o) {
    static const struct {
        char code;
        const char *name;
    } names[] = { { 'm', "mkdir" }, { 'r', "rm" }, { 'R', "rm -r" }, { 'd', "rmdir" }, { 'v', "mv" }, { 's', "df" } };
    for (size_t i = 0; i < o->n; i++) {
        const struct tr_op *p = &o->v[i];
        if (p->err > 0) {
            const char *name = "?";
            for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
                if (names[k].code == p->code) {
                    name = names[k].name;
                }
            }
            snprintf(t->c->detail, sizeof(t->c->detail), "%s :%.300s%s%.300s: failed on the board: %s", name, p->a,
                p->b ? " :" : "", p->b ? p->b : "", errno_text(p->err));
            return MPU_ERR_PROTO;
        }
    }
    return MPU_OK;
}

/* One file through the transfer layer; the job's bar moves file by file. */
int tr_xfer_file(struct tr_tree *t, int put, const char *src, const char *dst, uint64_t size) {
    struct mpu_cmd *c = t->c;
    struct mpu_progress keep = c->out->progress;
    if (!t->single) {
        c->out->progress.mode = 0;
    }
    c->bytes_sent = 0;
    c->naks = 0;
    t->moved++;
    tr_event(t, put ? "put" : "get", dst, size);
    int r = put ? mpu_xfer_put_file(c, &t->s, src, dst, 0) : mpu_xfer_get_file(c, &t->s, src, dst);
    t->wire += c->bytes_sent;
    t->naks += c->naks;
    if (!t->single) {
        c->out->progress = keep;
    }
    if (r == MPU_OK) {
        t->done += size;
        t->j->bytes += size;
        if (put) {
            t->j->uploaded++;
        } else {
            t->j->downloaded++;
        }
        if (!t->single) {
            mpu_progress_update(&c->out->progress, (size_t)t->done, (size_t)t->total);
        }
    }
    return r;
}

void tr_progress_begin(struct tr_tree *t, size_t files) {
    t->single = files == 1;
    t->files = files;
    mpu_progress_start(&t->c->out->progress, (size_t)t->total);
    t->c->total = (size_t)t->total;
}

/* ---- put ---- */

static const char *base_name(const char *path, char *buf, size_t len) {
    snprintf(buf, len, "%s", path);
    size_t n = strlen(buf);
    while (n > 1 && buf[n - 1] == '/') {
        buf[--n] = 0;
    }
    const char *b = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
    if (!strcmp(b, ".") || !strcmp(b, "..") || !*b) {
        char real[4096];
        if (realpath(path, real)) {
            snprintf(buf, len, "%s", real);
            b = strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf;
        }
    }
    return b;
}

int mpu_tree_put(struct mpu_cmd *c, struct mpu_tree_job *j, char *const *srcs, size_t n, const char *dest) {
    struct tr_tree t = { .c = c, .j = j };
    int64_t t0 = mpu_now_ms();
    struct tr_lvec *lv = tr_xrealloc(NULL, n * sizeof(*lv));
    memset(lv, 0, n * sizeof(*lv));
    char **base = tr_xrealloc(NULL, n * sizeof(*base));
    int *isdir = tr_xrealloc(NULL, n * sizeof(*isdir));
    int r = MPU_OK;
    size_t files = 0;
    /* Everything local is read and checked before the board is touched. */
    for (size_t i = 0; i < n; i++) {
        char buf[4096];
        base[i] = tr_xstrdup(base_name(srcs[i], buf, sizeof(buf)));
        isdir[i] = 0;
        if (r != MPU_OK) {
            continue;
        }
        struct stat st;
        if (stat(srcs[i], &st) != 0) {
            snprintf(c->detail, sizeof(c->detail), "%.300s: %s", srcs[i], strerror(errno));
            r = MPU_ERR_ARG;
        } else if (S_ISDIR(st.st_mode) && !j->recursive) {
            snprintf(c->detail, sizeof(c->detail), "%.300s: a directory (put -r copies directories)", srcs[i]);
            r = MPU_ERR_ARG;
        } else if (!*base[i] || !strcmp(base[i], "/")) {
            snprintf(c->detail, sizeof(c->detail), "%.300s: has no name to give it on the board", srcs[i]);
            r = MPU_ERR_ARG;
        } else {
            isdir[i] = S_ISDIR(st.st_mode);
            r = tr_walk(&t, srcs[i], "", NULL, 0, &lv[i]);
            if (r == MPU_OK) {
                r = tr_check_parts(&t, base[i], srcs[i], 0);
            }
            char *top = tr_join(dest, base[i]);
            for (size_t k = 0; r == MPU_OK && k < lv[i].n; k++) {
                char *whole = tr_join(top, lv[i].v[k].rel);
                r = tr_check_parts(&t, lv[i].v[k].rel, whole, 1);
                free(whole);
                if (!lv[i].v[k].dir) {
                    files++;
                    t.total += lv[i].v[k].size;
                }
            }
            free(top);
        }
    }
    struct tr_rroot *rt = NULL;
    struct tr_ops ops = { 0 };
    if (r == MPU_OK) {
        r = tr_start(&t);
    }
    if (r == MPU_OK) {
        r = tr_list_remote(&t, &dest, 1, 0, 0, &rt);
    }
    int into = 0;
    if (r == MPU_OK) {
        into = n > 1 || rt[0].type == 2;
        if (n > 1 && rt[0].type == 1) {
            snprintf(c->detail, sizeof(c->detail), "put: :%.300s is a file, not a directory", dest);
            r = MPU_ERR_ARG;
        }
        if (n > 1 && rt[0].type == 0) {
            tr_ops_add(&ops, 'm', dest, NULL);
        }
    }
    /* Directories first (one round), then the files. */
    for (size_t i = 0; r == MPU_OK && i < n; i++) {
        char *root = into ? tr_join(dest, base[i]) : tr_xstrdup(dest);
        char *sl = strrchr(root, '/');
        if (isdir[i]) {
            tr_ops_add(&ops, 'm', root, NULL);
        } else if (sl && sl != root && !into) {
            /* The parents of a file's target (the files go without MPU_XFER_PARENTS). */
            *sl = 0;
            tr_ops_add(&ops, 'm', root, NULL);
            *sl = '/';
        }
        for (size_t k = 0; k < lv[i].n; k++) {
            if (lv[i].v[k].dir) {
                char *p = tr_join(root, lv[i].v[k].rel);
                tr_ops_add(&ops, 'm', p, NULL);
                free(p);
            }
        }
        free(root);
    }
    if (r == MPU_OK && ops.n) {
        r = tr_ops_run(&t, &ops);
        if (r == MPU_OK) {
            r = tr_ops_check(&t, &ops);
        }
        j->created += ops.n;
    }
    if (r == MPU_OK) {
        tr_progress_begin(&t, files);
    }
    for (size_t i = 0; r == MPU_OK && i < n; i++) {
        char *root = into ? tr_join(dest, base[i]) : tr_xstrdup(dest);
        for (size_t k = 0; r == MPU_OK && k < lv[i].n; k++) {
            if (!lv[i].v[k].dir) {
                char *p = tr_join(root, lv[i].v[k].rel);
                r = tr_xfer_file(&t, 1, lv[i].v[k].path, p, lv[i].v[k].size);
                free(p);
            }
        }
        free(root);
    }
    for (size_t i = 0; i < n; i++) {
        tr_lfree(&lv[i]);
        free(base[i]);
    }
    free(lv);
    free(base);
    free(isdir);
    if (rt) {
        tr_rfree(rt, 1);
    }
    tr_ops_free(&ops);
    return tr_finish(&t, r, t0);
}

/* ---- get ---- */

static int local_mkdir(struct tr_tree *t, const char *path) {
    struct stat st;
    if (mkdir(path, 0777) == 0 || (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))) {
        return MPU_OK;
    }
    snprintf(t->c->detail, sizeof(t->c->detail), "%.300s: %s", path, strerror(errno == EEXIST ? ENOTDIR : errno));
    return MPU_ERR_ARG;
}

int mpu_tree_get(struct mpu_cmd *c, struct mpu_tree_job *j, const char *const *srcs, size_t n, const char *dest) {
    struct tr_tree t = { .c = c, .j = j };
    int64_t t0 = mpu_now_ms();
    struct stat st;
    int exists = stat(dest, &st) == 0, isdir = exists && S_ISDIR(st.st_mode);
    if (n > 1 && exists && !isdir) {
        snprintf(c->detail, sizeof(c->detail), "get: %.300s is not a directory", dest);
        return MPU_ERR_ARG;
    }
    struct tr_rroot *rt = NULL;
    int r = tr_start(&t);
    if (r == MPU_OK) {
        r = tr_list_remote(&t, srcs, n, 0, j->recursive, &rt);
    }
    size_t files = 0;
    for (size_t i = 0; r == MPU_OK && i < n; i++) {
        if (rt[i].type == 0) {
            snprintf(c->detail, sizeof(c->detail), "get :%.300s: no such file or directory", srcs[i]);
            r = MPU_ERR_PROTO;
        } else if (rt[i].type == 2 && !j->recursive) {
            snprintf(c->detail, sizeof(c->detail), "get :%.300s: a directory (get -r copies directories)", srcs[i]);
            r = MPU_ERR_ARG;
        } else if (rt[i].type == 1) {
            files++;
        }
        for (size_t k = 0; r == MPU_OK && k < rt[i].n; k++) {
            r = tr_check_parts(&t, rt[i].v[k].rel, rt[i].v[k].rel, 0);
            if (!rt[i].v[k].dir) {
                files++;
                t.total += rt[i].v[k].size;
            }
        }
        t.total += rt[i].type == 1 ? rt[i].size : 0;
    }
    int into = n > 1 || isdir;
    if (r == MPU_OK && n > 1 && !exists) {
        r = local_mkdir(&t, dest);
    }
    if (r == MPU_OK) {
        tr_progress_begin(&t, files);
    }
    for (size_t i = 0; r == MPU_OK && i < n; i++) {
        const char *b = strrchr(srcs[i], '/') + 1;
        char *root = into && *b ? tr_join(dest, b) : tr_xstrdup(dest);
        if (rt[i].type == 1) {
            r = tr_xfer_file(&t, 0, srcs[i], root, rt[i].size);
        } else {
            r = local_mkdir(&t, root);
            for (size_t k = 0; r == MPU_OK && k < rt[i].n; k++) {
                if (rt[i].v[k].dir) {
                    char *p = tr_join(root, rt[i].v[k].rel);
                    r = local_mkdir(&t, p);
                    free(p);
                }
            }
            for (size_t k = 0; r == MPU_OK && k < rt[i].n; k++) {
                if (!rt[i].v[k].dir) {
                    char *p = tr_join(root, rt[i].v[k].rel), *s = tr_join(srcs[i], rt[i].v[k].rel);
                    r = tr_xfer_file(&t, 0, s, p, rt[i].v[k].size);
                    free(p);
                    free(s);
                }
            }
        }
        free(root);
    }
    if (rt) {
        tr_rfree(rt, n);
    }
    return tr_finish(&t, r, t0);
}

/* ---- rm, rmdir, mv, df: one round each ---- */

static int one_round(struct mpu_cmd *c, struct mpu_tree_job *j, struct tr_ops *o) {
    struct tr_tree t = { .c = c, .j = j };
    int64_t t0 = mpu_now_ms();
    int r = tr_start(&t);
    if (r == MPU_OK) {
        r = tr_ops_run(&t, o);
    }
    if (r == MPU_OK) {
        r = tr_ops_check(&t, o);
    }
    return tr_finish(&t, r, t0);
}

int mpu_tree_rm(struct mpu_cmd *c, struct mpu_tree_job *j, const char *const *paths, size_t n) {
    struct tr_ops o = { 0 };
    for (size_t i = 0; i < n; i++) {
        tr_ops_add(&o, j->recursive ? 'R' : 'r', paths[i], NULL);
    }
    int r = one_round(c, j, &o);
    for (size_t i = 0; i < o.n; i++) {
        if (o.v[i].err == 0) {
            j->deleted++;
            if (j->event) {
                struct mpu_tree_event ev = { "delete", o.v[i].a, 0, 0, 0, 0 };
                j->event(j->ctx, &ev);
            }
        }
    }
    tr_ops_free(&o);
    return r;
}

int mpu_tree_rmdir(struct mpu_cmd *c, const char *const *paths, size_t n) {
    struct tr_ops o = { 0 };
    for (size_t i = 0; i < n; i++) {
        tr_ops_add(&o, 'd', paths[i], NULL);
    }
    int r = one_round(c, NULL, &o);
    tr_ops_free(&o);
    return r;
}

int mpu_tree_mv(struct mpu_cmd *c, const char *a, const char *b) {
    struct tr_ops o = { 0 };
    tr_ops_add(&o, 'v', a, b);
    int r = one_round(c, NULL, &o);
    tr_ops_free(&o);
    return r;
}

int mpu_tree_df(struct mpu_cmd *c, const char *path, struct mpu_tree_df *df) {
    struct tr_ops o = { 0 };
    tr_ops_add(&o, 's', path, NULL);
    int r = one_round(c, NULL, &o);
    if (r == MPU_OK) {
        unsigned long long fr = o.v[0].sv[1] ? o.v[0].sv[1] : o.v[0].sv[0];
        df->size = fr * o.v[0].sv[2];
        df->used = fr * (o.v[0].sv[2] - o.v[0].sv[3]);
        df->avail = fr * o.v[0].sv[4];
    }
    tr_ops_free(&o);
    return r;
}
