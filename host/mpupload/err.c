#include <string.h>

#include "err.h"

static const struct {
    int code;
    const char *name;
    const char *text;
} errs[] = {
    { MPU_OK, "MPU_OK", "success" },
    { MPU_ERR_ARG, "MPU_ERR_ARG", "invalid argument" },
    { MPU_ERR_MEM, "MPU_ERR_MEM", "out of memory" },
    { MPU_ERR_LINK, "MPU_ERR_LINK", "link error" },
    { MPU_ERR_NOBOARD, "MPU_ERR_NOBOARD", "no board" },
    { MPU_ERR_TIMEOUT, "MPU_ERR_TIMEOUT", "timeout" },
    { MPU_ERR_PROTO, "MPU_ERR_PROTO", "protocol error" },
    { MPU_ERR_BUSY, "MPU_ERR_BUSY", "board busy" },
    { MPU_ERR_EXCEPTION, "MPU_ERR_EXCEPTION", "the program raised an exception" },
    { MPU_ERR_MPYCROSS, "MPU_ERR_MPYCROSS", "mpy-cross error" },
    { MPU_ERR_INTR, "MPU_ERR_INTR", "interrupted" },
    { MPU_ERR_SUPP, "MPU_ERR_SUPP", "not supported by the board" },
};

#define N_ERRS (sizeof(errs) / sizeof(errs[0]))

const char *mpu_strerror(int err) {
    for (size_t i = 0; i < N_ERRS; i++) {
        if (errs[i].code == err) {
            return errs[i].text;
        }
    }
    return "unknown error";
}

const char *mpu_errname(int err) {
    for (size_t i = 0; i < N_ERRS; i++) {
        if (errs[i].code == err) {
            return errs[i].name;
        }
    }
    return "MPU_ERR_UNKNOWN";
}

int mpu_errcode(const char *name) {
    for (size_t i = 0; i < N_ERRS; i++) {
        if (strcmp(errs[i].name, name) == 0) {
            return errs[i].code;
        }
    }
    return 1;
}
