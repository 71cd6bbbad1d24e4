/* mpupload multi: one command on several boards at once. */
#include "multi.h"

int mpu_multi_main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return -1;
}
