/* mpupload xfer: files to and from a stock board (proto/TRANSFER-STOCK.md). */
#ifndef MPU_XFER_H
#define MPU_XFER_H

#include <stddef.h>

#include "commands.h"

/** Data bytes per block and blocks in flight towards the board: 2 x (8 + 112) = 240
 *  bytes fit a 256-byte receive buffer. */
#define MPU_XFER_BLOCK 112
#define MPU_XFER_WINDOW 2

/**
 * Normalise a remote path (a leading ':' is dropped; '.', empty parts removed) into
 * "/a/b". @return MPU_OK, or MPU_ERR_ARG (with a reason in err) for ".." or, unless
 * allow_root, a path naming the root.
 */
int mpu_xfer_path(const char *in, int allow_root, char *out, size_t out_len, char *err, size_t err_len);

/** Copy local file src to remote path dest (normalised; may name a directory). */
int mpu_cmd_put(struct mpu_cmd *c, const char *src, const char *dest);

/** Copy remote src to local dest (a directory: keep the name); dest "-" writes to stdout. */
int mpu_cmd_get(struct mpu_cmd *c, const char *src, const char *dest);

/** ls, rm, mkdir, sha256sum on a remote path: lines for main.c to print go to *text (malloc'd). */
int mpu_cmd_fs(struct mpu_cmd *c, const char *op, const char *path, int long_fmt, char **text);

#endif
