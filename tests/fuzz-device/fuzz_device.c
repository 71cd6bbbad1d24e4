// libFuzzer target for the device's input state machine: firmware/pyexec
// (raw REPL, raw-paste, friendly REPL and paste mode, the extensions of
// proto/PROTOCOL.md part B) on the simulated board's core, fed the fuzzed
// input a byte at a time. This file replaces the sim-board's main.c, UART
// and flash: a virtual clock, a RAM filesystem made afresh for every input,
// and a budget of VM steps in place of a host that loses patience.
//
// Input: 1 header byte, then the host's bytes.
//   header bit 0: the board starts at the friendly REPL (else the raw REPL)
//   header bit 1: at the end of the input the host recovers the board as
//                 proto/PROTOCOL.md B.7 says, and the board must answer with
//                 the raw REPL banner (unless a program of the input itself
//                 read the console or outlived its budget)
// In the host's bytes 0xFF is an escape: FF 00 the host is silent longer
// than any receive timeout (10 s), FF 01 silent 300 ms (longer than a gap
// inside a block and than the session break's wait, PROTOCOL.md B.7); FF and
// any other byte is one literal FF.
//
// The clock only moves while the board waits for input that has not come:
// every timeout fires at once. Output is discarded but for its tail. The
// input ends when the board waits for a byte with none left (or a program
// waits for an event that cannot come).

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "py/compile.h"
#include "py/gc.h"
#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/runtime.h"
#include "py/stackctrl.h"
#include "py/stream.h"
#include "extmod/vfs.h"
#include "extmod/vfs_lfs.h"
#include "shared/readline/readline.h"
#include "shared/runtime/gchelper.h"
#include "shared/runtime/pyexec.h"
#include "main.h"
#include "mpu_proto.h"

#define FZ_HEAP_SIZE (64 * 1024)
#define FZ_BLOCK_SIZE (4096)
#define FZ_FS_BLOCKS (32)
#define FZ_PAUSE_LONG_MS (MPU_PROTO_RX_TIMEOUT_MS + 5000)
#define FZ_PAUSE_SHORT_MS (300)
// Clock step of each look at the clock while the board waits for input.
#define FZ_WAIT_STEP_MS (50)
// VM steps a program may take without the host sending a byte; then it gets
// Ctrl-C, and once as many more have passed the watchdog resets the board.
#define FZ_VM_BUDGET (20000)
#define FZ_RESETS_MAX (16)

#define FZ_HDR_FRIENDLY (1 << 0)
#define FZ_HDR_RECOVER (1 << 1)

enum {
    FZ_JMP_END = 1, // no input left where the board waits for it
    FZ_JMP_RESET, // machine.reset() or the watchdog: back to power-on
};

typedef struct _fz_in_t {
    const uint8_t *p;
    size_t n, pos;
    bool pausing;
    mp_uint_t pause_end;
} fz_in_t;

static fz_in_t fz_in;
static bool fz_recover_next; // the recovery follows the fuzzed input
static bool fz_recovering;
static mp_uint_t fz_clock;
static uint32_t fz_vm_steps;
static bool fz_watchdog;
static bool fz_user_read; // a program took bytes off the console
static int fz_in_exec;
static int fz_cause;
static jmp_buf fz_jmp;
static uint8_t fz_tail[64]; // the last bytes of output
static size_t fz_out_len;
static bool fz_echo; // FUZZ_DEVICE_ECHO=1: the board's output on stderr

static uint8_t fz_heap[FZ_HEAP_SIZE] __attribute__((aligned(16)));
static uint8_t fz_flash[FZ_FS_BLOCKS * FZ_BLOCK_SIZE];
static uint8_t fz_flash_blank[FZ_FS_BLOCKS * FZ_BLOCK_SIZE];
static bool fz_flash_dirty;

NORETURN static void fz_jump(int why) {
    longjmp(fz_jmp, why);
}

// Input.

// The host's way back to the raw REPL (PROTOCOL.md A.2 and B.7): Ctrl-C,
// Ctrl-A, and when no banner comes a session break, up to 3 times, then a
// wait as long as the receive timeout. FF 01 is the host's wait.
static const uint8_t fz_recover[] =
    "\r\x03\x03\xff\x01\r\x01\xff\x01"
    MPU_PROTO_BREAK "\xff\x01\r\x03\x03\xff\x01\r\x01\xff\x01"
    MPU_PROTO_BREAK "\xff\x01\r\x03\x03\xff\x01\r\x01\xff\x01"
    MPU_PROTO_BREAK "\xff\x01\r\x03\x03\xff\x01\r\x01\xff\x01"
    "\xff\x00\r\x03\x03\xff\x01\r\x01";

static void fz_in_set(const uint8_t *p, size_t n) {
    fz_in.p = p;
    fz_in.n = n;
    fz_in.pos = 0;
    fz_in.pausing = false;
}

// True when a byte has arrived; starts and ends the host's pauses, and
// plays the UART's RX interrupt: the interrupt char, when set, becomes a
// KeyboardInterrupt instead of input (firmware/sim-board/uart.c).
static bool fz_rx_ready(void) {
    for (;;) {
        if (fz_in.pausing) {
            if ((mp_int_t)(fz_clock - fz_in.pause_end) < 0) {
                return false;
            }
            fz_in.pausing = false;
        }
        if (fz_in.pos >= fz_in.n) {
            if (!fz_recover_next) {
                return false;
            }
            fz_recover_next = false;
            fz_recovering = true;
            fz_watchdog = false;
            fz_user_read = false;
            fz_in_set(fz_recover, sizeof(fz_recover) - 1);
            continue;
        }
        const uint8_t *p = fz_in.p + fz_in.pos;
        if (p[0] == 0xff && fz_in.pos + 1 < fz_in.n && p[1] <= 1) {
            fz_in.pausing = true;
            fz_in.pause_end = fz_clock + (p[1] == 0 ? FZ_PAUSE_LONG_MS : FZ_PAUSE_SHORT_MS);
            fz_in.pos += 2;
            continue;
        }
        if (mp_interrupt_char != -1 && p[0] == mp_interrupt_char) {
            fz_in.pos += p[0] == 0xff && fz_in.pos + 1 < fz_in.n ? 2 : 1;
            fz_vm_steps = 0;
            mp_sched_keyboard_interrupt();
            continue;
        }
        return true;
    }
}

// The next byte; only after fz_rx_ready() said there is one.
static int fz_rx_take(void) {
    uint8_t c = fz_in.p[fz_in.pos];
    fz_in.pos += c == 0xff && fz_in.pos + 1 < fz_in.n ? 2 : 1;
    fz_vm_steps = 0;
    return c;
}

// Wait: a pause passes at once; with no input left the run ends.
static void fz_rx_wait(void) {
    if (fz_in.pausing) {
        fz_clock = fz_in.pause_end;
    } else if (fz_in.pos >= fz_in.n) {
        fz_jump(FZ_JMP_END);
    }
}

// The HAL (firmware/sim-board/mphalport.h).

mp_uint_t mp_hal_ticks_ms(void) {
    if (!fz_rx_ready()) {
        fz_clock += FZ_WAIT_STEP_MS;
    }
    return fz_clock;
}

mp_uint_t mp_hal_ticks_us(void) {
    return mp_hal_ticks_ms() * 1000;
}

mp_uint_t mp_hal_ticks_cpu(void) {
    return mp_hal_ticks_us();
}

uint64_t mp_hal_time_ns(void) {
    return (uint64_t)fz_clock * 1000000ull;
}

void mp_hal_delay_ms(mp_uint_t ms) {
    fz_clock += ms;
    mp_handle_pending(true);
}

void mp_hal_delay_us(mp_uint_t us) {
    fz_clock += us / 1000;
}

void sim_board_wait_event(int timeout_ms) {
    if (fz_rx_ready() || mp_sched_num_pending() > 0) {
        return;
    }
    if (timeout_ms < 0) {
        fz_rx_wait();
    } else {
        fz_clock += timeout_ms;
    }
}

void uart_irq_disable(void) {
}

void uart_irq_enable(void) {
}

int mp_hal_stdin_rx_chr(void) {
    for (;;) {
        if (fz_rx_ready()) {
            if (fz_in_exec > 0 || mp_interrupt_char != -1) {
                fz_user_read = true;
            }
            return fz_rx_take();
        }
        mp_handle_pending(true);
        fz_rx_wait();
    }
}

mp_uint_t mp_hal_stdout_tx_strn(const char *str, size_t len) {
    for (size_t i = 0; i < len; i++) {
        fz_tail[fz_out_len++ % sizeof(fz_tail)] = str[i];
    }
    if (fz_echo) {
        fwrite(str, 1, len, stderr);
    }
    return len;
}

// readline's VT100 output (mpconfigport.h).
void mp_hal_move_cursor_back(unsigned int pos) {
    if (pos <= 4) {
        mp_hal_stdout_tx_strn("\b\b\b\b", pos);
    } else {
        char cmd[16];
        int n = snprintf(cmd, sizeof(cmd), "\x1b[%uD", pos);
        mp_hal_stdout_tx_strn(cmd, n);
    }
}

void mp_hal_erase_line_from_cursor(unsigned int n_chars_to_erase) {
    (void)n_chars_to_erase;
    mp_hal_stdout_tx_strn("\x1b[K", 3);
}

uintptr_t mp_hal_stdio_poll(uintptr_t poll_flags) {
    uintptr_t ret = 0;
    if ((poll_flags & MP_STREAM_POLL_RD) && fz_rx_ready()) {
        ret |= MP_STREAM_POLL_RD;
    }
    return ret | (poll_flags & MP_STREAM_POLL_WR);
}

// MICROPY_VM_HOOK_LOOP and _RETURN (mpconfigport.h).
void fuzz_vm_hook(void) {
    fz_rx_ready(); // a Ctrl-C from the host interrupts the program
    if (++fz_vm_steps > FZ_VM_BUDGET) {
        if (fz_vm_steps > 2 * FZ_VM_BUDGET) {
            fz_watchdog = true;
            fz_jump(FZ_JMP_RESET);
        }
        if (fz_vm_steps % 256 == 1) {
            mp_sched_keyboard_interrupt();
        }
    }
}

// Board control (firmware/sim-board/main.h).

void board_exit(int status) {
    (void)status;
    fz_jump(FZ_JMP_END);
}

void board_hard_reset(void) {
    fz_jump(FZ_JMP_RESET);
}

int board_reset_cause(void) {
    return fz_cause;
}

void gc_collect(void) {
    gc_collect_start();
    gc_helper_collect_regs_and_stack();
    gc_collect_end();
}

void nlr_jump_fail(void *val) {
    fprintf(stderr, "fuzz_device: uncaught NLR %p\n", val);
    abort();
}

// Around every compile and run of parse_compile_execute (pyexec.c).
void fuzz_before_exec(void) {
    fz_in_exec++;
}

void fuzz_after_exec(void) {
    fz_in_exec--;
}

// A RAM flash, blank at the start of every input.

typedef struct _fz_flash_obj_t {
    mp_obj_base_t base;
} fz_flash_obj_t;

static void fz_flash_io(bool write, mp_int_t block, mp_int_t off, void *buf, size_t len) {
    if (block < 0 || off < 0 || (size_t)block >= FZ_FS_BLOCKS
        || (size_t)off > sizeof(fz_flash) - (size_t)block * FZ_BLOCK_SIZE
        || len > sizeof(fz_flash) - (size_t)block * FZ_BLOCK_SIZE - (size_t)off) {
        mp_raise_OSError(MP_EIO);
    }
    uint8_t *at = fz_flash + block * FZ_BLOCK_SIZE + off;
    if (write) {
        fz_flash_dirty = true;
        memcpy(at, buf, len);
    } else {
        memcpy(buf, at, len);
    }
}

static mp_obj_t fz_flash_readblocks(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t bufinfo;
    mp_get_buffer_raise(args[2], &bufinfo, MP_BUFFER_WRITE);
    fz_flash_io(false, mp_obj_get_int(args[1]), n_args == 4 ? mp_obj_get_int(args[3]) : 0, bufinfo.buf, bufinfo.len);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(fz_flash_readblocks_obj, 3, 4, fz_flash_readblocks);

static mp_obj_t fz_flash_writeblocks(size_t n_args, const mp_obj_t *args) {
    mp_buffer_info_t bufinfo;
    mp_get_buffer_raise(args[2], &bufinfo, MP_BUFFER_READ);
    fz_flash_io(true, mp_obj_get_int(args[1]), n_args == 4 ? mp_obj_get_int(args[3]) : 0, bufinfo.buf, bufinfo.len);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(fz_flash_writeblocks_obj, 3, 4, fz_flash_writeblocks);

static mp_obj_t fz_flash_ioctl(mp_obj_t self_in, mp_obj_t cmd_in, mp_obj_t arg_in) {
    switch (mp_obj_get_int(cmd_in)) {
        case MP_BLOCKDEV_IOCTL_BLOCK_COUNT:
            return MP_OBJ_NEW_SMALL_INT(FZ_FS_BLOCKS);
        case MP_BLOCKDEV_IOCTL_BLOCK_SIZE:
            return MP_OBJ_NEW_SMALL_INT(FZ_BLOCK_SIZE);
        case MP_BLOCKDEV_IOCTL_BLOCK_ERASE: {
            static uint8_t erased[FZ_BLOCK_SIZE];
            memset(erased, 0xff, sizeof(erased));
            fz_flash_io(true, mp_obj_get_int(arg_in), 0, erased, sizeof(erased));
            return MP_OBJ_NEW_SMALL_INT(0);
        }
        default:
            return MP_OBJ_NEW_SMALL_INT(0);
    }
}
static MP_DEFINE_CONST_FUN_OBJ_3(fz_flash_ioctl_obj, fz_flash_ioctl);

static const mp_rom_map_elem_t fz_flash_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_readblocks), MP_ROM_PTR(&fz_flash_readblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_writeblocks), MP_ROM_PTR(&fz_flash_writeblocks_obj) },
    { MP_ROM_QSTR(MP_QSTR_ioctl), MP_ROM_PTR(&fz_flash_ioctl_obj) },
};
static MP_DEFINE_CONST_DICT(fz_flash_locals_dict, fz_flash_locals_dict_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    fz_flash_type,
    MP_QSTR_Flash,
    MP_TYPE_FLAG_NONE,
    locals_dict, &fz_flash_locals_dict
    );

static const fz_flash_obj_t fz_flash_obj = { { &fz_flash_type } };

static void fz_flash_mount(void) {
    mp_obj_t vfs = mp_call_function_1(MP_OBJ_FROM_PTR(&mp_type_vfs_lfs2), MP_OBJ_FROM_PTR(&fz_flash_obj));
    mp_obj_t args[2] = { vfs, MP_OBJ_NEW_QSTR(MP_QSTR__slash_) };
    mp_vfs_mount(2, args, (mp_map_t *)&mp_const_empty_map);
    mp_vfs_chdir(MP_OBJ_NEW_QSTR(MP_QSTR__slash_));
}

// The board.

// A board's start-up code clears its RAM, so no state of the core outlives a
// reset, nor an input: the harness leaves a run by longjmp, past the
// nlr_push_jump_callback() of mp_parse when the board waited for input inside
// a streamed compile (pyexec_stream.c), and that node, left on a dead stack
// frame, would free a stale lexer at the next input's first exception.
static void fz_power_on(void) {
    memset(&mp_state_ctx, 0, sizeof(mp_state_ctx));
    mp_stack_ctrl_init();
    mp_stack_set_limit(256 * 1024);
    gc_init(fz_heap, fz_heap + sizeof(fz_heap));
}

// What main.c does after every reset, boot.py and main.py left out.
static void fz_soft_reset(void) {
    mp_init();
    mp_obj_list_append(mp_sys_path, MP_OBJ_NEW_QSTR(MP_QSTR__slash_lib));
    readline_init0();
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        fz_flash_mount();
        nlr_pop();
    } else {
        fprintf(stderr, "fuzz_device: the RAM filesystem does not mount\n");
        abort();
    }
}

// Runs the REPL on fz_in until the input ends; true when it ended with the
// board waiting for input (not by the watchdog or a reset too many).
static bool fz_run(int start_kind) {
    volatile int resets = 0;
    pyexec_mode_kind = start_kind;
    fz_cause = 1;
    fz_power_on();
    int why = setjmp(fz_jmp);
    if (why == FZ_JMP_END) {
        return true;
    }
    if (why == FZ_JMP_RESET) {
        MP_STATE_THREAD(nlr_top) = NULL;
        mp_hal_set_interrupt_char(-1);
        fz_in_exec = 0;
        fz_vm_steps = 0;
        fz_cause = 2;
        pyexec_mode_kind = PYEXEC_MODE_FRIENDLY_REPL;
        if (++resets > FZ_RESETS_MAX) {
            return false;
        }
        fz_power_on();
    }
    for (;;) {
        fz_soft_reset();
        for (;;) {
            if (pyexec_mode_kind == PYEXEC_MODE_RAW_REPL) {
                if (pyexec_raw_repl() != 0) {
                    break;
                }
            } else {
                if (pyexec_friendly_repl() != 0) {
                    break;
                }
            }
        }
        mp_printf(&mp_plat_print, "MPY: soft reboot\n");
        gc_sweep_all();
        mp_deinit();
    }
}

static bool fz_tail_ends_with(const char *s) {
    size_t len = strlen(s);
    if (fz_out_len < len) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (fz_tail[(fz_out_len - len + i) % sizeof(fz_tail)] != (uint8_t)s[i]) {
            return false;
        }
    }
    return true;
}

#define FZ_BANNER "raw REPL; CTRL-B to exit\r\n>"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *echo = getenv("FUZZ_DEVICE_ECHO");
    fz_echo = echo != NULL && strcmp(echo, "1") == 0;
    // One blank filesystem, copied in before every input.
    memset(fz_flash, 0xff, sizeof(fz_flash));
    fz_power_on();
    mp_init();
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t mkfs = mp_load_attr(MP_OBJ_FROM_PTR(&mp_type_vfs_lfs2), MP_QSTR_mkfs);
        mp_call_function_1(mkfs, MP_OBJ_FROM_PTR(&fz_flash_obj));
        nlr_pop();
    } else {
        fprintf(stderr, "fuzz_device: cannot make the RAM filesystem\n");
        abort();
    }
    gc_sweep_all();
    mp_deinit();
    memcpy(fz_flash_blank, fz_flash, sizeof(fz_flash));
    fz_flash_dirty = false;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) {
        return 0;
    }
    if (fz_flash_dirty) {
        memcpy(fz_flash, fz_flash_blank, sizeof(fz_flash));
        fz_flash_dirty = false;
    }
    fz_clock = 0;
    fz_vm_steps = 0;
    fz_watchdog = false;
    fz_user_read = false;
    fz_in_exec = 0;
    fz_out_len = 0;
    mp_hal_set_interrupt_char(-1);
    fz_in_set(data + 1, size - 1);
    int kind = data[0] & FZ_HDR_FRIENDLY ? PYEXEC_MODE_FRIENDLY_REPL : PYEXEC_MODE_RAW_REPL;
    fz_recover_next = (data[0] & FZ_HDR_RECOVER) != 0;
    fz_recovering = false;
    bool waiting = fz_run(kind);
    if (fz_recovering && waiting && !fz_watchdog && !fz_user_read) {
        if (!fz_tail_ends_with(FZ_BANNER)) {
            fprintf(stderr, "fuzz_device: the board did not come back to the raw REPL "
                "after the session break; its last output:\n");
            for (size_t i = fz_out_len > sizeof(fz_tail) ? fz_out_len - sizeof(fz_tail) : 0; i < fz_out_len; i++) {
                uint8_t c = fz_tail[i % sizeof(fz_tail)];
                fprintf(stderr, c >= 0x20 && c < 0x7f && c != '\\' ? "%c" : "\\x%02x", c);
            }
            fprintf(stderr, "\n");
            abort();
        }
    }
    MP_STATE_THREAD(nlr_top) = NULL;
    mp_hal_set_interrupt_char(-1);
    return 0;
}
