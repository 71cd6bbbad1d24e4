/* mpupload multi: one command on several boards at once (-p A -p B, -p all). */
#ifndef MPU_MULTI_H
#define MPU_MULTI_H

/**
 * When argv names more than one board (-p given twice or more, or -p all), run
 * the command on each board in parallel and summarise.
 * @return the exit status to exit with, or -1 when argv names at most one
 * board and main() should go on as usual.
 */
int mpu_multi_main(int argc, char **argv);

#endif
