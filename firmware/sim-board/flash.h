// The board's flash: a block device backed by an image file (or by RAM),
// holding a littlefs v2 filesystem mounted at /.
#ifndef MICROPY_INCLUDED_SIM_BOARD_FLASH_H
#define MICROPY_INCLUDED_SIM_BOARD_FLASH_H

#include <stdbool.h>
#include <stddef.h>

#define FLASH_BLOCK_SIZE (4096)

// Open (or create, with size bytes) the image; image NULL means RAM. With
// format the filesystem is made anew at the first mount. Prints a message
// and returns false on error.
bool flash_init(const char *image, size_t size, bool format);

// Mount the filesystem at / and chdir there; called after every (soft)
// reset with the runtime up. The first call formats a new or --format'ed
// image, and reports a corrupt one on stderr, leaving it untouched and
// the board without a filesystem.
void flash_mount(void);

#endif // MICROPY_INCLUDED_SIM_BOARD_FLASH_H
