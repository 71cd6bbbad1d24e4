/* mpupload serial: the only interface to libserialport (open, enumerate). */
#ifndef MPU_SERIAL_H
#define MPU_SERIAL_H

#include <stddef.h>

/** One enumerated serial port; strings are "" when unknown. */
struct mpu_port_info {
    char name[128];
    char description[128];
    char manufacturer[64];
    char serial[64];
    int usb;      /**< 1 for a USB port, then vid/pid are valid. */
    int vid, pid;
    int likely;   /**< 1 when it looks like a MicroPython board. */
};

/**
 * List the serial ports.
 * @param[out] ports an array allocated with malloc (free it), sorted by name.
 * @return the count, or a negative mpu_err.
 */
int mpu_serial_list(struct mpu_port_info **ports);

/**
 * Open a serial port with libserialport: 8N1, no flow control.
 * @param[out] fd a non-blocking file descriptor to read, write and poll.
 * @param[out] handle to pass to mpu_serial_close().
 * @return MPU_OK, MPU_ERR_ARG when libserialport refuses the name, MPU_ERR_LINK otherwise.
 */
int mpu_serial_open(const char *name, int baud, int dtr, int rts, int *fd,
    void **handle, char *err, size_t err_len);

/** Close a port opened by mpu_serial_open(). */
void mpu_serial_close(void *handle);

#endif
