/* mpupload tree: many files in one session: put/get -r, rm, rmdir, mv, df, sync. */
#ifndef MPU_TREE_H
#define MPU_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "commands.h"

/** One step of a job, told to main.c as it happens (or, with dry_run, planned). */
struct mpu_tree_event {
    const char *action;  /**< "put", "get", "mkdir", "delete", "same", "compile", or "stale": a
                          *   NAME.py on the board, imported before the NAME.mpy sent */
    const char *path;    /**< the remote path (get: the local one) */
    uint64_t size;       /**< file bytes (put, get, same) */
    int dry_run;         /**< only planned */
    size_t n, of;        /**< put, get: the file's number in the job, and how many go (else 0) */
};

/** What a job may do, and what it did. */
struct mpu_tree_job {
    int recursive;               /**< put, get, rm: directories too */
    int delete_extra;            /**< sync: remove what is absent locally */
    int dry_run;                 /**< sync: plan only, no file data sent */
    int mpy;                     /**< sync: .py goes as .mpy (boot.py, main.py stay source) */
    const char *const *exclude;  /**< sync: fnmatch patterns on relative paths and base names */
    size_t n_exclude;
    void (*event)(void *ctx, const struct mpu_tree_event *ev);
    void *ctx;
    /* results */
    size_t checked, uploaded, downloaded, deleted, created, compiled, rounds;
    uint64_t bytes;              /**< file bytes moved */
};

/** What os.statvfs says of a path on the board. */
struct mpu_tree_df {
    unsigned long long size, used, avail;
};

/** Copy local files and (recursive) directories to remote dest, in one session. */
int mpu_tree_put(struct mpu_cmd *c, struct mpu_tree_job *j, char *const *srcs, size_t n, const char *dest);

/** Copy remote files and (recursive) directories to local dest, in one session. */
int mpu_tree_get(struct mpu_cmd *c, struct mpu_tree_job *j, const char *const *srcs, size_t n, const char *dest);

/** Remove remote files (recursive: directories and their contents). */
int mpu_tree_rm(struct mpu_cmd *c, struct mpu_tree_job *j, const char *const *paths, size_t n);

/** Remove empty remote directories (a non-empty one is refused). */
int mpu_tree_rmdir(struct mpu_cmd *c, const char *const *paths, size_t n);

/** Rename remote a to b (into b when b is a directory). */
int mpu_tree_mv(struct mpu_cmd *c, const char *a, const char *b);

/** Sizes of the filesystem holding a remote path. */
int mpu_tree_df(struct mpu_cmd *c, const char *path, struct mpu_tree_df *df);

/** Make remote dest hold what local_dir holds: one listing round with sizes and
 *  SHA-256, then only what differs is sent. */
int mpu_tree_sync(struct mpu_cmd *c, struct mpu_tree_job *j, const char *local_dir, const char *dest);

#endif
