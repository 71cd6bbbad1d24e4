/* mpupload xfer: the stock receiver program, in pieces (proto/TRANSFER-STOCK.md). */
#ifndef MPU_XFER_STOCK_H
#define MPU_XFER_STOCK_H

/** The pieces, each compiled on its own on the board into the dict _mpu. */
enum mpu_stock_piece {
    MPU_STOCK_WIRE_BIN,   /**< g and w on sys.stdin.buffer, sys.stdout.buffer */
    MPU_STOCK_WIRE_B64,   /**< g and w on base64 lines */
    MPU_STOCK_WIRE_HEX,   /**< g and w on hex lines (binascii) */
    MPU_STOCK_WIRE_PYHEX, /**< g and w on hex lines (plain Python) */
    MPU_STOCK_CRC,        /**< C, a CRC-32 in plain Python */
    MPU_STOCK_CORE_Y,     /**< imports, constants, y: the resync hunt, su: the set-up */
    MPU_STOCK_CORE_RB,    /**< rb: one block in */
    MPU_STOCK_CORE_F,     /**< f(B,K,T), the transfer, and ex, its end after an error */
    MPU_STOCK_PUT_A,      /**< pu: the put up to the data */
    MPU_STOCK_PUT_B,      /**< pd: the put's data */
    MPU_STOCK_GET_A,      /**< ge: the get up to the data */
    MPU_STOCK_GET_B,      /**< gd: the get's data */
};

/** Raw REPL program defining _mpu and _mpu_x, which runs checked pieces, and
 * printing "MPUF" and what the board has. */
extern const char mpu_xfer_stock_stage0[];

/** The Python source of piece p. */
const char *mpu_xfer_stock_piece(enum mpu_stock_piece p);

/** The raw REPL program that runs pieces p[0..n-1] as one, checked: before
 * (may be NULL), then _mpu_x(b'''their text''',first 4 bytes of its SHA-256).
 * @return malloc'd, or NULL. */
char *mpu_xfer_stock_wrap(const enum mpu_stock_piece *p, size_t n, const char *before);

#endif
