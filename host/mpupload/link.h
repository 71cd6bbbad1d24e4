/* mpupload link: a byte pipe to a board (serial port, pty, exec:CMD, tcp:HOST:PORT). */
#ifndef MPU_LINK_H
#define MPU_LINK_H

#include <stddef.h>
#include <stdint.h>

struct mpu_link;

/** Line settings; dtr/rts: -1 leaves the line alone, 0 clears it, 1 sets it. */
struct mpu_link_opts {
    int baud;
    int dtr;
    int rts;
};

/**
 * Open a link.
 * @param[in] spec a device path, "exec:CMD" or "tcp:HOST:PORT".
 * @param[out] out the link, or NULL on error.
 * @param[out] err a one-line reason on error (err_len bytes).
 * @return MPU_OK, MPU_ERR_NOBOARD when the device does not exist, else MPU_ERR_LINK.
 */
int mpu_link_open(const char *spec, const struct mpu_link_opts *opts,
    struct mpu_link **out, char *err, size_t err_len);

/** Close the link (and stop an exec: child); NULL is accepted. */
void mpu_link_close(struct mpu_link *l);

/** @return the file descriptor to poll() for input. */
int mpu_link_fd(const struct mpu_link *l);

/**
 * Read what is available, waiting at most timeout_ms (0: don't wait, -1: forever).
 * @return the byte count, 0 on timeout, MPU_ERR_LINK on error or end of file.
 */
int mpu_link_read(struct mpu_link *l, uint8_t *buf, size_t n, int timeout_ms);

/** Write all n bytes. @return MPU_OK or MPU_ERR_LINK. */
int mpu_link_write(struct mpu_link *l, const uint8_t *buf, size_t n);

/** @return the last OS-level error message of this link ("" when none). */
const char *mpu_link_last_error(const struct mpu_link *l);

#endif
