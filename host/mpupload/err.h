/* mpupload: one error enum for every layer; exit codes are chosen in main.c. */
#ifndef MPU_ERR_H
#define MPU_ERR_H

enum mpu_err {
    MPU_OK = 0,
    MPU_ERR_ARG = -1,       /**< Bad argument or input file. */
    MPU_ERR_MEM = -2,       /**< Out of host memory. */
    MPU_ERR_LINK = -3,      /**< Link failed, closed or could not be opened. */
    MPU_ERR_NOBOARD = -4,   /**< No board found, or port unknown. */
    MPU_ERR_TIMEOUT = -5,   /**< The board did not answer in time. */
    MPU_ERR_PROTO = -6,     /**< The board answered something unexpected. */
    MPU_ERR_BUSY = -7,      /**< The board kept running and would not stop. */
    MPU_ERR_EXCEPTION = -8, /**< The board's program raised an exception. */
    MPU_ERR_MPYCROSS = -9,  /**< mpy-cross missing, failed or mismatched. */
    MPU_ERR_INTR = -10,     /**< Interrupted by the user (SIGINT). */
    MPU_ERR_SUPP = -11,     /**< The board cannot do what was asked. */
};

/** @return a short constant description of @p err. */
const char *mpu_strerror(int err);

/** @return the symbolic name of @p err ("MPU_ERR_PROTO"), for tests and JSON. */
const char *mpu_errname(int err);

/** @return the error code named @p name, or 1 when the name is unknown. */
int mpu_errcode(const char *name);

#endif
