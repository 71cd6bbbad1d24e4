// The simulated board: MicroPython 1.25 as a Linux process that behaves
// like a board on a serial line. Command line, power-on and reset, and the
// soft-reset loop of a board's main (compare ports/rp2/main.c).

#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "py/compile.h"
#include "py/gc.h"
#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/runtime.h"
#include "py/stackctrl.h"
#include "shared/readline/readline.h"
#include "shared/runtime/gchelper.h"
#include "shared/runtime/pyexec.h"
#include "flash.h"
#include "main.h"
#include "stats.h"
#include "uart.h"

// Exit codes.
enum {
    BOARD_EXIT_OK = 0,
    BOARD_EXIT_FAIL = 1, // the pty, the image or memory could not be set up
    BOARD_EXIT_USAGE = 2, // bad command line
};

#define HEAP_DEFAULT (256 * 1024)
#define HEAP_MIN (16 * 1024)
#define RX_BUF_DEFAULT (512)
#define FS_SIZE_DEFAULT (2 * 1024 * 1024)

static const char *board_stats_path;
static volatile sig_atomic_t board_sig_quit;
static volatile sig_atomic_t board_sig_stats;
static int board_exiting;
static jmp_buf board_power_on;
static int board_cause = 1;

static void usage(FILE *f) {
    fprintf(f,
        "usage: sim-board [--pty LINK | --stdio] [--heap SIZE[,SIZE2]] [--rx-buf N]\n"
        "                 [--baud N] [--fs IMAGE] [--fs-size SIZE] [--format]\n"
        "                 [--flow] [--stats FILE]\n"
        "A MicroPython 1.25 board as a process, its console on a pty or stdio.\n"
        "  --pty LINK       serve the console on a new pty, LINK -> its slave\n"
        "  --stdio          serve the console on stdin/stdout (the default)\n"
        "  --heap S[,S2]    GC heap size (256K); a second region makes a split heap\n"
        "  --rx-buf N       UART RX ring size in bytes (512); overflow drops bytes\n"
        "  --baud N         pace RX and TX at N/10 bytes/s (default: unpaced)\n"
        "  --flow           flow control: a full RX ring holds the host back (as\n"
        "                   USB-CDC does) instead of dropping bytes (as a UART does)\n"
        "  --fs IMAGE       littlefs image file, created when missing (default: RAM)\n"
        "  --fs-size SIZE   size of a new image (2M), a multiple of 4K\n"
        "  --format         format the filesystem at start\n"
        "  --stats FILE     write key=value counters at exit and on SIGUSR1\n"
        "Sizes take a K or M suffix. Exit status: 0 ok, 1 set-up failed, 2 usage.\n");
}

NORETURN static void usage_error(const char *flag, const char *value, const char *why) {
    fprintf(stderr, "sim-board: invalid %s '%s': %s\n", flag, value, why);
    exit(BOARD_EXIT_USAGE);
}

// Parse a size with an optional K or M suffix; false when malformed.
static bool parse_size(const char *s, unsigned long long *out) {
    char *end;
    if (*s < '0' || *s > '9') {
        return false;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0) {
        return false;
    }
    unsigned long long mul = 1;
    if (*end == 'K' || *end == 'k') {
        mul = 1024;
        end++;
    } else if (*end == 'M' || *end == 'm') {
        mul = 1024 * 1024;
        end++;
    }
    if (*end != '\0' || v > ULLONG_MAX / mul) {
        return false;
    }
    *out = v * mul;
    return true;
}

// Decimal digits of v at the end of buf (MicroPython's own printf, which the
// board links, has no %llu).
static const char *decimal(char *buf, size_t len, unsigned long long v) {
    char *p = buf + len;
    *--p = '\0';
    do {
        *--p = '0' + v % 10;
        v /= 10;
    } while (v && p > buf);
    return p;
}

static unsigned long long parse_size_flag(const char *flag, const char *s,
    unsigned long long min, unsigned long long max) {
    unsigned long long v;
    if (!parse_size(s, &v)) {
        usage_error(flag, s, "not a size (digits, optional K or M)");
    }
    if (v < min || v > max) {
        char why[96], lo[24], hi[24];
        snprintf(why, sizeof(why), "out of range %s..%s", decimal(lo, sizeof(lo), min), decimal(hi, sizeof(hi), max));
        usage_error(flag, s, why);
    }
    return v;
}

void board_exit(int status) {
    if (__atomic_exchange_n(&board_exiting, 1, __ATOMIC_SEQ_CST)) {
        // The other thread is already on its way out.
        for (;;) {
            pause();
        }
    }
    if (board_stats_path != NULL && stats_write(board_stats_path) != 0) {
        fprintf(stderr, "sim-board: --stats %s: cannot write\n", board_stats_path);
    }
    uart_close();
    _exit(status);
}

void board_hard_reset(void) {
    longjmp(board_power_on, 1);
}

int board_reset_cause(void) {
    return board_cause;
}

static void board_on_signal(int sig) {
    if (sig == SIGUSR1) {
        board_sig_stats = 1;
    } else {
        board_sig_quit = 1;
    }
}

// Called often by the UART reader thread: signals are acted on there.
static void board_poll(void) {
    if (board_sig_stats) {
        board_sig_stats = 0;
        if (board_stats_path != NULL) {
            stats_write(board_stats_path);
        }
    }
    if (board_sig_quit) {
        board_exit(BOARD_EXIT_OK);
    }
}

void gc_collect(void) {
    gc_collect_start();
    gc_helper_collect_regs_and_stack();
    gc_collect_end();
    stats_heap_collected();
}

void nlr_jump_fail(void *val) {
    fprintf(stderr, "sim-board: uncaught NLR %p\n", val);
    abort();
}

#ifndef NDEBUG
void MP_WEAK __assert_func(const char *file, int line, const char *func, const char *expr) {
    fprintf(stderr, "sim-board: assertion '%s' failed at %s:%d\n", expr, file, line);
    abort();
}
#endif

int main(int argc, char **argv) {
    static const struct option opts[] = {
        { "pty", required_argument, NULL, 'p' },
        { "stdio", no_argument, NULL, 's' },
        { "heap", required_argument, NULL, 'h' },
        { "rx-buf", required_argument, NULL, 'r' },
        { "baud", required_argument, NULL, 'b' },
        { "fs", required_argument, NULL, 'f' },
        { "fs-size", required_argument, NULL, 'z' },
        { "format", no_argument, NULL, 'F' },
        { "stats", required_argument, NULL, 'S' },
        { "flow", no_argument, NULL, 'W' },
        { "help", no_argument, NULL, 'H' },
        { NULL, 0, NULL, 0 },
    };
    const char *pty_link = NULL;
    size_t heap_size[2] = { HEAP_DEFAULT, 0 };
    size_t rx_buf = RX_BUF_DEFAULT;
    unsigned long baud = 0;
    const char *fs_image = NULL;
    size_t fs_size = FS_SIZE_DEFAULT;
    bool fs_format = false;

    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
            case 'p':
                pty_link = optarg;
                break;
            case 's':
                pty_link = NULL;
                break;
            case 'h': {
                char first[64];
                const char *comma = strchr(optarg, ',');
                size_t n = comma ? (size_t)(comma - optarg) : strlen(optarg);
                if (n >= sizeof(first)) {
                    usage_error("--heap", optarg, "not a size (digits, optional K or M)");
                }
                memcpy(first, optarg, n);
                first[n] = '\0';
                heap_size[0] = parse_size_flag("--heap", first, HEAP_MIN, 1ull << 32);
                heap_size[1] = comma ? parse_size_flag("--heap", comma + 1, HEAP_MIN, 1ull << 32) : 0;
                break;
            }
            case 'r':
                rx_buf = parse_size_flag("--rx-buf", optarg, 1, 16 * 1024 * 1024);
                break;
            case 'b': {
                char *end;
                errno = 0;
                unsigned long v = strtoul(optarg, &end, 10);
                if (*optarg < '0' || *optarg > '9' || *end != '\0' || errno != 0 || v < 50 || v > 100000000) {
                    usage_error("--baud", optarg, "want a rate in bits/s, 50..100000000");
                }
                baud = v;
                break;
            }
            case 'f':
                fs_image = optarg;
                break;
            case 'W':
                uart_set_flow(true);
                break;
            case 'z': {
                unsigned long long v = parse_size_flag("--fs-size", optarg, 4 * FLASH_BLOCK_SIZE, 1ull << 32);
                if (v % FLASH_BLOCK_SIZE != 0) {
                    usage_error("--fs-size", optarg, "not a multiple of 4K");
                }
                fs_size = v;
                break;
            }
            case 'F':
                fs_format = true;
                break;
            case 'S':
                board_stats_path = optarg;
                break;
            case 'H':
                usage(stdout);
                return BOARD_EXIT_OK;
            default:
                usage(stderr);
                return BOARD_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sim-board: unexpected argument '%s'\n", argv[optind]);
        return BOARD_EXIT_USAGE;
    }

    // Power supply: the RAM regions and the flash.
    void *heap[2] = { NULL, NULL };
    for (int i = 0; i < 2 && heap_size[i] != 0; i++) {
        heap[i] = malloc(heap_size[i]);
        if (heap[i] == NULL) {
            fprintf(stderr, "sim-board: --heap: cannot allocate %zu bytes\n", heap_size[i]);
            return BOARD_EXIT_FAIL;
        }
        sim_stats.heap_total += heap_size[i];
    }
    if (!flash_init(fs_image, fs_size, fs_format)) {
        return BOARD_EXIT_FAIL;
    }

    struct sigaction sa = { .sa_handler = board_on_signal };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (!(pty_link ? uart_open_pty(pty_link) : uart_open_stdio())) {
        return BOARD_EXIT_FAIL;
    }
    if (!uart_start(rx_buf, baud, board_poll)) {
        board_exit(BOARD_EXIT_FAIL);
    }

    if (setjmp(board_power_on) != 0) {
        // machine.reset(): everything but the line and the flash starts over.
        board_cause = 2;
        SIM_STATS_ADD(hard_resets, 1);
        MP_STATE_THREAD(nlr_top) = NULL;
        uart_rx_clear();
        mp_hal_set_interrupt_char(-1);
        pyexec_mode_kind = PYEXEC_MODE_FRIENDLY_REPL;
    }

    mp_stack_ctrl_init();
    mp_stack_set_limit(256 * 1024);
    gc_init(heap[0], (char *)heap[0] + heap_size[0]);
    if (heap[1] != NULL) {
        gc_add(heap[1], (char *)heap[1] + heap_size[1]);
    }
    stats_heap_resync();

    for (;;) {
        mp_init();
        mp_obj_list_append(mp_sys_path, MP_OBJ_NEW_QSTR(MP_QSTR__slash_lib));
        readline_init0();
        flash_mount();

        // Run boot.py, then main.py, as a board does.
        int ret = pyexec_file_if_exists("boot.py");
        if (ret & PYEXEC_FORCED_EXIT) {
            goto soft_reset_exit;
        }
        if (pyexec_mode_kind == PYEXEC_MODE_FRIENDLY_REPL && ret != 0) {
            ret = pyexec_file_if_exists("main.py");
            if (ret & PYEXEC_FORCED_EXIT) {
                goto soft_reset_exit;
            }
        }

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

    soft_reset_exit:
        mp_printf(&mp_plat_print, "MPY: soft reboot\n");
        SIM_STATS_ADD(soft_resets, 1);
        gc_sweep_all();
        mp_deinit();
        stats_heap_collected();
    }
}
