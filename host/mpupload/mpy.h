/* mpupload mpy: compile with mpy-cross for a given board. */
#ifndef MPU_MPY_H
#define MPU_MPY_H

#include <stddef.h>
#include <stdint.h>

/** What the board loads: from B.1's record or sys.implementation._mpy. */
struct mpu_mpy_target {
    int version;        /**< .mpy version (6 for MicroPython 1.25) */
    int features;       /**< feature byte: sub-version | arch << 2 */
    int small_int_bits;
};

/**
 * Find the mpy-cross to use: explicit, else $MPY_CROSS, else next to this
 * program (build/mpy-cross), else "mpy-cross" on PATH.
 */
const char *mpu_mpy_cross_path(const char *explicit_path, char *buf, size_t len);

/**
 * Compile src_path for the target; the .mpy names its source source_name.
 * @param[out] out the .mpy (malloc'd), @param[out] out_len its size.
 * @param[out] err a message (mpy-cross's own, or why it cannot match the board).
 * @return MPU_OK, MPU_ERR_MPYCROSS (mpy-cross missing, failing or of another .mpy
 *         version), or MPU_ERR_SUPP (the board names no .mpy version it loads).
 */
int mpu_mpy_compile(const char *mpy_cross, const struct mpu_mpy_target *t, const char *src_path,
    const char *source_name, uint8_t **out, size_t *out_len, char *err, size_t err_len);

/** Run argv (no shell), its stdout and stderr into out (trailing newlines cut).
 *  @return its exit status, or -1 (the reason in out). */
int mpu_mpy_run(char *const argv[], char *out, size_t out_len);

/** The -march name of a native arch number (0: none). */
const char *mpu_mpy_arch_name(int arch);

#endif
