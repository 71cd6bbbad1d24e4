/* mpupload multi: one command on several boards at once (-p A -p B, -p all). */
#ifndef MPU_MULTI_H
#define MPU_MULTI_H

#include <getopt.h>

/** Exit status when boards failed with different exit codes. */
#define MPU_MULTI_EXIT_MIXED (6)

/**
 * When argv names more than one board (-p given twice or more, or -p all), run
 * the command on each board in parallel: one child mpupload --json per board
 * (this binary), live status lines, then a summary.
 * Scans argv with getopt_long on a copy and leaves optind at 0 (getopt
 * starts afresh); nothing else happens when it returns -1.
 * @return the exit status to exit with: 0 when every board succeeded, else
 * the failed boards' exit code when they all agree, else MPU_MULTI_EXIT_MIXED;
 * 2 usage error, 3 -p all found no board, 130 interrupted. Or -1 when argv
 * names at most one board and main() should go on as usual.
 */
int mpu_multi_main(int argc, char **argv, const struct option *longopts, const char *shortopts);

#endif
