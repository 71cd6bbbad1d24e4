// Forced into every file of the qemu builds (-include). littlefs stamps
// files with mp_hal_time_ns(), which ports/qemu (no clock) does not have:
// files on a vfs.VfsLfs2 of the qemu board get the time 0 (1970).
#define mp_hal_time_ns() (0)
