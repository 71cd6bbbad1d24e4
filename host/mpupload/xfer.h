/* mpupload xfer: files to and from a board (PROTOCOL.md B.5: native F, or the
 * stock receiver of proto/TRANSFER-STOCK.md). */
#ifndef MPU_XFER_H
#define MPU_XFER_H

#include <stddef.h>

#include "commands.h"

/**
 * Normalise a remote path (a leading ':' is dropped; '.', empty parts removed) into
 * "/a/b". @return MPU_OK, or MPU_ERR_ARG (with a reason in err) for ".." or, unless
 * allow_root, a path naming the root.
 */
int mpu_xfer_path(const char *in, int allow_root, char *out, size_t out_len, char *err, size_t err_len);

struct mpu_session;

/** Flags of mpu_xfer_put_file. */
#define MPU_XFER_PARENTS 1   /**< create missing parent directories on the board */
#define MPU_XFER_NO_RESUME 2 /**< never continue from TARGET.part */

/** On an open session (raw REPL, from mpu_cmd_start): copy local file src to the remote
 *  file target (a full normalised path, not a directory). Starts the board end as needed
 *  (native F, or the stock receiver pasted once per session). Adds to c->bytes_sent, c->naks. */
int mpu_xfer_put_file(struct mpu_cmd *c, struct mpu_session *s, const char *src, const char *target, int flags);

/** On an open session: copy remote file src to local path dest (a file path; "-" = stdout). */
int mpu_xfer_get_file(struct mpu_cmd *c, struct mpu_session *s, const char *src, const char *dest);

/** On an open session: run a Python program whose output is captured into *out (malloc'd, NUL-ended, *out_len bytes);
 *  an exception ends with MPU_ERR_EXCEPTION and its last line in c->detail. */
int mpu_xfer_run_capture(struct mpu_cmd *c, struct mpu_session *s, const char *prog, char **out, size_t *out_len);

/** At a session's end: remove what the transfers left defined on the board (the stock
 *  receiver). Call it before mpu_cmd_finish(); harmless when nothing was started. */
int mpu_xfer_end(struct mpu_cmd *c, struct mpu_session *s);

/** Copy local file src to remote path dest (normalised; may name a directory). */
int mpu_cmd_put(struct mpu_cmd *c, const char *src, const char *dest);

/** Copy remote src to local dest (a directory: keep the name); dest "-" writes to stdout. */
int mpu_cmd_get(struct mpu_cmd *c, const char *src, const char *dest);

/** ls, rm, mkdir, sha256sum on a remote path: lines for main.c to print go to *text (malloc'd). */
int mpu_cmd_fs(struct mpu_cmd *c, const char *op, const char *path, int long_fmt, char **text);

#endif
