/* mpupload sha256: SHA-256 (FIPS 180-4) for verifying transfers. */
#ifndef MPU_SHA256_H
#define MPU_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct mpu_sha256 {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t n;
};

/** Start a hash. */
void mpu_sha256_init(struct mpu_sha256 *s);

/** Add n bytes. */
void mpu_sha256_update(struct mpu_sha256 *s, const uint8_t *p, size_t n);

/** Finish: the 32-byte digest. */
void mpu_sha256_final(struct mpu_sha256 *s, uint8_t out[32]);

#endif
