// A flash block device, as ports provide one (e.g. rp2.Flash): a C object
// with readblocks/writeblocks/ioctl in the extended form littlefs uses,
// backed by pread/pwrite on an image file, so writes survive a restart.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "py/runtime.h"
#include "py/mperrno.h"
#include "extmod/vfs.h"
#include "extmod/vfs_lfs.h"
#include "flash.h"

typedef struct _flash_obj_t {
    mp_obj_base_t base;
} flash_obj_t;

static const char *flash_image;
static int flash_fd = -1;
static uint8_t *flash_ram;
static size_t flash_size;
static bool flash_format;
static bool flash_new;
static bool flash_checked;
static bool flash_disabled;

static const mp_obj_type_t flash_type;
static const flash_obj_t flash_obj = { { &flash_type } };

bool flash_init(const char *image, size_t size, bool format) {
    flash_format = format;
    if (image == NULL) {
        flash_ram = malloc(size);
        if (flash_ram == NULL) {
            fprintf(stderr, "sim-board: --fs-size: out of memory\n");
            return false;
        }
        flash_size = size;
        flash_new = true;
        return true;
    }
    flash_image = image;
    flash_fd = open(image, O_RDWR | O_CLOEXEC);
    if (flash_fd < 0 && errno == ENOENT) {
        flash_fd = open(image, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        flash_new = true;
    }
    struct stat st;
    if (flash_fd < 0 || fstat(flash_fd, &st) != 0) {
        fprintf(stderr, "sim-board: --fs %s: %s\n", image, strerror(errno));
        return false;
    }
    if (flash_new || format) {
        // An erased flash reads as 0xff.
        static uint8_t erased[FLASH_BLOCK_SIZE];
        memset(erased, 0xff, sizeof(erased));
        if (ftruncate(flash_fd, 0) != 0) {
            fprintf(stderr, "sim-board: --fs %s: %s\n", image, strerror(errno));
            return false;
        }
        for (size_t off = 0; off < size; off += FLASH_BLOCK_SIZE) {
            if (pwrite(flash_fd, erased, FLASH_BLOCK_SIZE, off) != FLASH_BLOCK_SIZE) {
                fprintf(stderr, "sim-board: --fs %s: %s\n", image, strerror(errno));
                return false;
            }
        }
        flash_size = size;
    } else {
        flash_size = st.st_size / FLASH_BLOCK_SIZE * FLASH_BLOCK_SIZE;
    }
    return true;
}

static void flash_io(bool write, size_t offset, void *buf, size_t len) {
    if (offset > flash_size || len > flash_size - offset) {
        mp_raise_OSError(MP_EIO);
    }
    if (flash_ram != NULL) {
        if (write) {
            memcpy(flash_ram + offset, buf, len);
        } else {
            memcpy(buf, flash_ram + offset, len);
        }
        return;
    }
    while (len > 0) {
        ssize_t n = write ? pwrite(flash_fd, buf, len, offset) : pread(flash_fd, buf, len, offset);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            mp_raise_OSError(MP_EIO);
        }
        buf = (uint8_t *)buf + n;
        offset += n;
        len -= n;
    }
}

static void flash_erase(size_t block) {
    static uint8_t erased[FLASH_BLOCK_SIZE];
    memset(erased, 0xff, sizeof(erased));
    flash_io(true, block * FLASH_BLOCK_SIZE, erased, FLASH_BLOCK_SIZE);
}

static mp_obj_t flash_readblocks(size_t n_args, const mp_obj_t *args) {
    size_t offset = mp_obj_get_int(args[1]) * FLASH_BLOCK_SIZE;
    mp_buffer_info_t bufinfo;
    mp_get_buffer_raise(args[2], &bufinfo, MP_BUFFER_WRITE);
    if (n_args == 4) {
        offset += mp_obj_get_int(args[3]);
    }
    flash_io(false, offset, bufinfo.buf, bufinfo.len);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(flash_readblocks_obj, 3, 4, flash_readblocks);

static mp_obj_t flash_writeblocks(size_t n_args, const mp_obj_t *args) {
    size_t block = mp_obj_get_int(args[1]);
    size_t offset = block * FLASH_BLOCK_SIZE;
    mp_buffer_info_t bufinfo;
    mp_get_buffer_raise(args[2], &bufinfo, MP_BUFFER_READ);
    if (n_args == 3) {
        // The simple form erases the blocks first.
        for (size_t b = 0; b * FLASH_BLOCK_SIZE < bufinfo.len; b++) {
            flash_erase(block + b);
        }
    } else {
        offset += mp_obj_get_int(args[3]);
    }
    flash_io(true, offset, bufinfo.buf, bufinfo.len);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(flash_writeblocks_obj, 3, 4, flash_writeblocks);

static mp_obj_t flash_ioctl(mp_obj_t self_in, mp_obj_t cmd_in, mp_obj_t arg_in) {
    switch (mp_obj_get_int(cmd_in)) {
        case MP_BLOCKDEV_IOCTL_INIT:
        case MP_BLOCKDEV_IOCTL_DEINIT:
        case MP_BLOCKDEV_IOCTL_SYNC:
            // pwrite already reached the kernel: the data outlives the process.
            return MP_OBJ_NEW_SMALL_INT(0);
        case MP_BLOCKDEV_IOCTL_BLOCK_COUNT:
            return MP_OBJ_NEW_SMALL_INT(flash_size / FLASH_BLOCK_SIZE);
        case MP_BLOCKDEV_IOCTL_BLOCK_SIZE:
            return MP_OBJ_NEW_SMALL_INT(FLASH_BLOCK_SIZE);
        case MP_BLOCKDEV_IOCTL_BLOCK_ERASE:
            flash_erase(mp_obj_get_int(arg_in));
            return MP_OBJ_NEW_SMALL_INT(0);
        default:
            return mp_const_none;
    }
}
static MP_DEFINE_CONST_FUN_OBJ_3(flash_ioctl_obj, flash_ioctl);

static const mp_rom_map_elem_t flash_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_readblocks), MP_ROM_PTR(&flash_readblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_writeblocks), MP_ROM_PTR(&flash_writeblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&flash_ioctl_obj) },
};
static MP_DEFINE_CONST_DICT(flash_locals_dict, flash_locals_dict_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    flash_type,
    MP_QSTR_Flash,
    MP_TYPE_FLAG_NONE,
    locals_dict, &flash_locals_dict
    );

static mp_obj_t flash_mount_vfs(void) {
    mp_obj_t bdev = MP_OBJ_FROM_PTR(&flash_obj);
    mp_obj_t vfs = mp_call_function_1(MP_OBJ_FROM_PTR(&mp_type_vfs_lfs2), bdev);
    mp_obj_t args[2] = { vfs, MP_OBJ_NEW_QSTR(MP_QSTR__slash_) };
    mp_vfs_mount(2, args, (mp_map_t *)&mp_const_empty_map);
    mp_vfs_chdir(MP_OBJ_NEW_QSTR(MP_QSTR__slash_));
    return vfs;
}

static void flash_mkfs(void) {
    mp_obj_t mkfs = mp_load_attr(MP_OBJ_FROM_PTR(&mp_type_vfs_lfs2), MP_QSTR_mkfs);
    mp_call_function_1(mkfs, MP_OBJ_FROM_PTR(&flash_obj));
}

void flash_mount(void) {
    if (flash_disabled) {
        return;
    }
    nlr_buf_t nlr;
    if (!flash_checked) {
        flash_checked = true;
        if (flash_new || flash_format) {
            if (nlr_push(&nlr) == 0) {
                flash_mkfs();
                nlr_pop();
            } else {
                fprintf(stderr, "sim-board: cannot format the filesystem\n");
                flash_disabled = true;
                return;
            }
        }
    }
    if (nlr_push(&nlr) == 0) {
        flash_mount_vfs();
        nlr_pop();
    } else {
        // Leave the image as it is: the user decides whether to --format.
        fprintf(stderr, "sim-board: %s: no valid littlefs filesystem (mount failed); "
            "running without one, --format makes a new one\n",
            flash_image ? flash_image : "RAM flash");
        flash_disabled = true;
    }
}
