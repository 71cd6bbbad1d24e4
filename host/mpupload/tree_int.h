/* Shared by tree.c (put/get -r, rm, rmdir, mv, df) and tree_sync.c (sync); not for commands. */
#ifndef MPU_TREE_INT_H
#define MPU_TREE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"
#include "tree.h"

struct tr_lent {
    char *rel;       /* relative path, '/'-separated */
    char *path;      /* local path: what is read (for --mpy, the cached .mpy) */
    int dir;
    uint64_t size;
    uint8_t sha[32];
};

struct tr_lvec {
    struct tr_lent *v;
    size_t n, cap;
};

struct tr_rent {
    char *rel;
    int dir;
    int gone;        /* sync: deleted, or inside a deleted directory */
    int local;       /* sync: the local tree has it */
    uint64_t size;
    char sha[65];
};

struct tr_rroot {
    int type;        /* 0 missing, 1 file, 2 directory */
    uint64_t size;
    char sha[65];
    struct tr_rent *v;
    size_t n, cap;
};

struct tr_op {
    char code;       /* m mkdir -p, r rm, R rm -r, d rmdir, v rename, s statvfs */
    char *a, *b;
    int err;         /* errno from the board, 0 ok, -1 not run */
    unsigned long long sv[5];
};

struct tr_ops {
    struct tr_op *v;
    size_t n, cap;
};

struct tr_tree {
    struct mpu_cmd *c;
    struct mpu_tree_job *j;
    struct mpu_session s;
    int open;
    /* whole-job progress and counts */
    uint64_t total, done;
    size_t wire, naks;
    int single;      /* one file: its own transfer drives the bar */
    size_t files, moved; /* files to move, moved or moving */
};

struct tr_anc;

/* Each part of rel a real name (no "", ".", ".."); remote: whole fits a board path. */
int tr_check_parts(struct tr_tree *t, const char *rel, const char *whole, int remote);
/* Tell the job's event callback. */
void tr_event(struct tr_tree *t, const char *action, const char *path, uint64_t size);
/* rel or one of its parent directories matches an --exclude pattern. */
int tr_excluded(const struct mpu_tree_job *j, const char *rel);
/* The job's totals into t->c, then the session's end. @return r or the end's error. */
int tr_finish(struct tr_tree *t, int r, int64_t t0);
/* a/b (malloc'd); an empty part is left out. */
char *tr_join(const char *a, const char *b);
/* Free a local listing. */
void tr_lfree(struct tr_lvec *l);
/* One round: what each root is and, with descend, all under it (with hash: SHA-256s). */
int tr_list_remote(struct tr_tree *t, const char *const *roots, size_t n, int hash, int descend,
    struct tr_rroot **out);
/* Queue a directory operation: m mkdir -p, r rm, R rm -r, d rmdir, v mv, s statvfs. */
void tr_ops_add(struct tr_ops *o, char code, const char *a, const char *b);
/* The first failed operation in words in t->c->detail (MPU_ERR_PROTO), or MPU_OK. */
int tr_ops_check(struct tr_tree *t, const struct tr_ops *o);
/* Free queued operations. */
void tr_ops_free(struct tr_ops *o);
/* Run the queued operations in as few rounds as their size allows. */
int tr_ops_run(struct tr_tree *t, struct tr_ops *o);
/* Start the whole-job bar (files to move: one file drives it itself). */
void tr_progress_begin(struct tr_tree *t, size_t files);
/* Free n remote listings. */
void tr_rfree(struct tr_rroot *rt, size_t n);
/* SHA-256 of a local file. @return 0, or -1 (errno set). */
int tr_sha_file(const char *path, uint8_t out[32]);
/* Open the session. */
int tr_start(struct tr_tree *t);
/* n bytes in base64 without '=' padding, and a NUL (out: 4 * n / 3 + 4 bytes). */
void tr_b64(const uint8_t *d, size_t n, char *out);
/* n bytes as 2n hex digits and a NUL. */
void tr_tohex(const uint8_t *d, size_t n, char *out);
/* The local tree under path (symlinks followed; loops, dangling links: MPU_ERR_ARG). */
int tr_walk(struct tr_tree *t, const char *path, const char *rel, const struct tr_anc *up, int depth,
    struct tr_lvec *out);
/* One file through xfer.h, counted in the job. */
int tr_xfer_file(struct tr_tree *t, int put, const char *src, const char *dst, uint64_t size);
/* realloc() that aborts when memory runs out. */
void *tr_xrealloc(void *p, size_t n);
/* strdup() that aborts when memory runs out. */
char *tr_xstrdup(const char *s);

#endif
