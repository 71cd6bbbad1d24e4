/* mpupload xfer: the stock receiver program (proto/TRANSFER-STOCK.md). */
#ifndef MPU_XFER_STOCK_H
#define MPU_XFER_STOCK_H

/** Python source defining _mpu_f(B,K,T), the stock device end of B.5. */
extern const char mpu_xfer_stock_prog[];

#endif
