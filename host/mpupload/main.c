/* mpupload: upload and run Python code on MicroPython boards.
 * Argument parsing, printing and exit codes live here and nowhere else. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "err.h"
#include "json.h"
#include "mpu_proto.h"
#include "multi.h"
#include "mpy.h"
#include "serial.h"
#include "source.h"
#include "xfer.h"

#define MPUPLOAD_VERSION "0.1"

enum exit_code {
    EXIT_OK = 0,
    EXIT_EXCEPTION = 1,
    EXIT_USAGE = 2,
    EXIT_LINK = 3,
    EXIT_PROTOCOL = 4,
    EXIT_MPY_CROSS = 5,
    EXIT_INTERRUPTED = 130,
};

static int exit_code(int err) {
    switch (err) {
    case MPU_OK: return EXIT_OK;
    case MPU_ERR_EXCEPTION: return EXIT_EXCEPTION;
    case MPU_ERR_ARG: return EXIT_USAGE;
    case MPU_ERR_NOBOARD:
    case MPU_ERR_LINK: return EXIT_LINK;
    case MPU_ERR_MPYCROSS: return EXIT_MPY_CROSS;
    case MPU_ERR_INTR: return EXIT_INTERRUPTED;
    default: return EXIT_PROTOCOL;
    }
}

static const char USAGE[] =
    "usage: mpupload [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  devs               list serial ports; * marks likely MicroPython boards\n"
    "  run FILE.py        run a script of any size, its output live (--mpy: precompiled)\n"
    "  exec CODE          run CODE\n"
    "  eval EXPR          print the value of EXPR\n"
    "  repl               a terminal to the board's REPL; Ctrl-] leaves\n"
    "  reset [--hard]     soft reset, or machine.reset() with --hard\n"
    "  info               firmware, platform, .mpy version, memory, filesystem, extensions\n"
    "  put SRC :DEST      copy a file to the board, verified, atomic (alias: cp)\n"
    "  get :SRC [DEST]    copy a file from the board, verified (DEST - : stdout)\n"
    "  ls [-l] [:PATH]    list a directory on the board\n"
    "  rm :PATH           remove a file on the board\n"
    "  mkdir :PATH        make a directory on the board\n"
    "  cat :PATH          print a file of the board\n"
    "  sha256sum :PATH    the SHA-256 of a file on the board, computed there\n"
    "\n"
    "Options:\n"
    "  -p, --port PORT    serial device, exec:COMMAND or tcp:HOST:PORT (default:\n"
    "                     $MPUPLOAD_PORT, else auto: the only likely board)\n"
    "  -b, --baud N       line speed (default 115200)\n"
    "      --dtr on|off   set DTR (default: leave it alone); --rts on|off likewise\n"
    "      --json         one JSON object per line on stdout (progress, output, result)\n"
    "      --progress     always show the progress bar (default: on a terminal, > 0.5 s)\n"
    "  -q, --quiet        only the program's own output\n"
    "      --timeout SECS interrupt the program after SECS seconds\n"
    "      --soft-reset   soft-reset the board before running\n"
    "      --mpy          run: compile on the host with mpy-cross first\n"
    "      --mpy-cross P  the mpy-cross to use (default: $MPY_CROSS, then next to mpupload)\n"
    "      --no-ext       don't use the firmware/pyexec protocol extensions\n"
    "      --no-raw-paste plain raw REPL only (paced for a 256-byte receive buffer)\n"
    "  -l                 ls: sizes and types\n"
    "  -h, --help         this help; `mpupload COMMAND --help` for one command\n"
    "      --version      the version\n"
    "\n"
    "Exit status: 0 success; 1 the program raised an exception; 2 usage error or bad\n"
    "input file; 3 no board or link error; 4 protocol error or timeout; 5 mpy-cross\n"
    "error; 130 interrupted.\n";

static const struct {
    const char *name, *usage, *help;
} cmd_help[] = {
    { "devs", "mpupload devs [--json]",
        "List serial ports with USB VID:PID, serial number and description; a * marks\n"
        "the ones that look like MicroPython boards (what -p auto chooses from).\n" },
    { "run", "mpupload [-p PORT] run [--mpy] [--timeout SECS] FILE.py",
        "Send FILE.py and run it; its output goes to stdout as it comes, its traceback\n"
        "to stderr with File \"<stdin>\" lines naming FILE.py, and our stdin goes to the\n"
        "program. Ctrl-C interrupts the program. Uses streamed execution on boards with\n"
        "firmware/pyexec, raw-paste on stock boards, plain raw REPL on old ones.\n"
        "--mpy compiles with mpy-cross for the board first and runs the .mpy (streamed on\n"
        "firmware/pyexec; on stock boards written to a temporary file, imported, removed).\n" },
    { "exec", "mpupload [-p PORT] exec CODE", "Run CODE on the board, like run with a file.\n" },
    { "eval", "mpupload [-p PORT] eval EXPR", "Print repr(EXPR) as computed on the board.\n" },
    { "repl", "mpupload [-p PORT] repl",
        "Connect the terminal (in raw mode) to the board's REPL. Ctrl-] leaves.\n" },
    { "reset", "mpupload [-p PORT] reset [--hard]",
        "Soft-reset the board from its raw REPL; --hard calls machine.reset().\n" },
    { "info", "mpupload [-p PORT] info [--json]",
        "Show firmware version, platform, .mpy version and arch, free heap, filesystem\n"
        "size, and which protocol extensions (proto/PROTOCOL.md part B) the board has.\n" },
    { "put", "mpupload [-p PORT] put SRC :DEST",
        "Copy the local file SRC to DEST on the board (a directory keeps SRC's name), in\n"
        "CRC-checked blocks paced for a 256-byte receive buffer; the data goes to\n"
        "DEST.part and is renamed over DEST only once its SHA-256 matches. Remote paths\n"
        "with '..' are refused (exit 2). A failed transfer exits 4 (3: link lost).\n" },
    { "cp", "mpupload [-p PORT] cp SRC :DEST", "The same as put.\n" },
    { "get", "mpupload [-p PORT] get :SRC [DEST]",
        "Copy SRC from the board to DEST (default: its name, here; a directory keeps\n"
        "the name; - writes to stdout), checked by CRC per block and SHA-256 at the end;\n"
        "written to a temporary file and renamed.\n" },
    { "ls", "mpupload [-p PORT] ls [-l] [:PATH]",
        "List PATH (default /) on the board, directories with a trailing /; -l adds the\n"
        "type (d or f) and size.\n" },
    { "rm", "mpupload [-p PORT] rm :PATH", "Remove the file PATH on the board.\n" },
    { "mkdir", "mpupload [-p PORT] mkdir :PATH", "Make the directory PATH on the board.\n" },
    { "cat", "mpupload [-p PORT] cat :PATH", "Write the file PATH of the board to stdout (as get :PATH -).\n" },
    { "sha256sum", "mpupload [-p PORT] sha256sum :PATH",
        "Print the SHA-256 of PATH, computed on the board, like sha256sum(1).\n" },
};

struct opts {
    const char *port;
    int baud, dtr, rts, json, progress, quiet, hard, mpy, soft_reset, no_ext, no_raw_paste, long_fmt;
    double timeout;
    const char *mpy_cross;
};

static const char *prog_err_prefix = "mpupload";

static void errorf(const struct opts *o, const char *fmt, const char *a, const char *b) {
    if (o->quiet && !o->json) {
        return;
    }
    fprintf(stderr, "%s: ", prog_err_prefix);
    fprintf(stderr, fmt, a, b);
    fputc('\n', stderr);
}

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "mpupload: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr, "Try 'mpupload --help'.\n");
    return EXIT_USAGE;
}

static int on_off(const char *v, int *out) {
    if (!strcmp(v, "on") || !strcmp(v, "1")) {
        *out = 1;
    } else if (!strcmp(v, "off") || !strcmp(v, "0")) {
        *out = 0;
    } else {
        return -1;
    }
    return 0;
}

static void json_result(const char *command, const struct mpu_cmd *c, int err,
    const struct mpu_out *out, const char *file, const char *hint) {
    FILE *f = stdout;
    const char *status = err == MPU_OK ? "ok" : err == MPU_ERR_EXCEPTION ? "exception"
        : err == MPU_ERR_INTR ? "interrupted" : "error";
    fprintf(f, "{\"event\":\"result\",\"command\":");
    mpu_json_cstr(f, command);
    fprintf(f, ",\"status\":\"%s\",\"exit\":%d,\"port\":", status, exit_code(err));
    mpu_json_cstr(f, c->port_used[0] ? c->port_used : NULL);
    fprintf(f, ",\"file\":");
    mpu_json_cstr(f, file);
    fprintf(f, ",\"mode\":");
    mpu_json_cstr(f, c->mode);
    fprintf(f, ",\"bytes_sent\":%zu,\"bytes_total\":%zu,\"elapsed\":%.3f", c->bytes_sent, c->total,
        c->elapsed_ms / 1000.0);
    fprintf(f, ",\"exception\":");
    if (err == MPU_ERR_EXCEPTION || (err == MPU_ERR_INTR && out->tb.exc_type[0])) {
        fprintf(f, "{\"type\":");
        mpu_json_cstr(f, out->tb.exc_type);
        fprintf(f, ",\"message\":");
        mpu_json_cstr(f, out->tb.exc_msg);
        fprintf(f, ",\"file\":");
        mpu_json_cstr(f, out->tb.line ? (out->tb.path ? out->tb.path : "<stdin>") : NULL);
        fprintf(f, ",\"line\":%d}", out->tb.line);
    } else {
        fprintf(f, "null");
    }
    fprintf(f, ",\"error\":");
    mpu_json_cstr(f, err != MPU_OK && err != MPU_ERR_EXCEPTION ? (c->detail[0] ? c->detail : mpu_strerror(err)) : NULL);
    fprintf(f, ",\"hint\":");
    mpu_json_cstr(f, hint);
    fprintf(f, "}\n");
    fflush(f);
}

/* The end of every command that talks to a board: message, JSON, exit code. */
static int report(const struct opts *o, const char *command, struct mpu_cmd *c, int err,
    struct mpu_out *out, const char *file, size_t src_len) {
    char hint[600] = "";
    if (err == MPU_ERR_EXCEPTION && !strcmp(out->tb.exc_type, "MemoryError") && !o->mpy && file
        && c->mode && !strcmp(c->mode, "stream")) {
        /* Streamed execution compiles a batch at a time: what filled the heap
         * is what the program itself keeps. */
        snprintf(hint, sizeof(hint),
            "the board ran out of memory after %zu of %zu bytes of %s: the board compiles and runs "
            "it a few KB at a time, so what fills its heap is what the program keeps (objects, "
            "functions); keep less, or precompile: mpupload run --mpy %s", c->bytes_sent, src_len,
            file, file);
    } else if (err == MPU_ERR_EXCEPTION && !strcmp(out->tb.exc_type, "MemoryError") && !o->mpy && file) {
        snprintf(hint, sizeof(hint),
            "the board ran out of memory for this %zu-byte script: stock MicroPython holds the "
            "whole source while it compiles (about 2.5 times its size in RAM). Precompile on the "
            "host: mpupload run --mpy %s (or use a board with firmware/pyexec)", src_len, file);
    }
    if (o->json) {
        json_result(command, c, err, out, file, hint[0] ? hint : NULL);
    }
    if (hint[0] && !o->quiet) {
        fprintf(stderr, "mpupload: %s\n", hint);
    }
    if (err != MPU_OK && err != MPU_ERR_EXCEPTION && !(err == MPU_ERR_INTR && o->quiet)) {
        if (!c->detail[0] || !strcmp(c->detail, mpu_strerror(err))) {
            errorf(o, "%s%s", mpu_strerror(err), "");
        } else {
            errorf(o, "%s: %s", mpu_strerror(err), c->detail);
        }
    }
    if (c->naks && !o->quiet && !o->json) {
        fprintf(stderr, "mpupload: %zu block%s re-sent after a bad CRC\n", c->naks, c->naks == 1 ? "" : "s");
    }
    if (err == MPU_OK && o->progress != 0 && !o->quiet && !o->json && c->total && c->elapsed_ms > 500
        && (o->progress == 1 || isatty(2))) {
        fprintf(stderr, "mpupload: sent %zu bytes in %.2f s (%.1f KB/s, %s)\n", c->bytes_sent,
            c->elapsed_ms / 1000.0, c->bytes_sent / (c->elapsed_ms / 1000.0) / 1000.0, c->mode);
    }
    return exit_code(err);
}

static int cmd_devs(const struct opts *o) {
    struct mpu_port_info *p = NULL;
    int n = mpu_serial_list(&p);
    if (n < 0) {
        fprintf(stderr, "mpupload: cannot list serial ports: %s\n", mpu_strerror(n));
        free(p);
        return exit_code(n);
    }
    for (int i = 0; i < n; i++) {
        if (o->json) {
            printf("{\"event\":\"port\",\"name\":");
            mpu_json_cstr(stdout, p[i].name);
            if (p[i].usb) {
                printf(",\"vid\":\"%04x\",\"pid\":\"%04x\"", p[i].vid, p[i].pid);
            } else {
                printf(",\"vid\":null,\"pid\":null");
            }
            printf(",\"serial\":");
            mpu_json_cstr(stdout, p[i].serial);
            printf(",\"manufacturer\":");
            mpu_json_cstr(stdout, p[i].manufacturer);
            printf(",\"description\":");
            mpu_json_cstr(stdout, p[i].description);
            printf(",\"likely\":%s}\n", p[i].likely ? "true" : "false");
        } else {
            char id[16] = "-";
            if (p[i].usb) {
                snprintf(id, sizeof(id), "%04x:%04x", p[i].vid, p[i].pid);
            }
            printf("%c %-20s %-9s %-16s %s%s%s\n", p[i].likely ? '*' : ' ', p[i].name, id,
                p[i].serial[0] ? p[i].serial : "-", p[i].description,
                p[i].manufacturer[0] ? " / " : "", p[i].manufacturer);
        }
    }
    if (n == 0 && !o->json && !o->quiet) {
        fprintf(stderr, "mpupload: no serial ports found\n");
    }
    free(p);
    return EXIT_OK;
}

static void print_info(const struct opts *o, const struct mpu_cmd *c, const struct mpu_board_info *in) {
    int ver = in->mpy & 0xff, feat = (in->mpy >> 8) & 0xff;
    const char *arch = mpu_mpy_arch_name(feat >> 2);
    const uint8_t *k = in->caps;
    unsigned window = (unsigned)k[2] | (unsigned)k[3] << 8, bmax = (unsigned)k[4] | (unsigned)k[5] << 8;
    char ext[200] = "none (stock firmware)";
    if (in->caps_known) {
        snprintf(ext, sizeof(ext), "protocol v%u:%s%s%s%s; window %u, blocks %u x %u", k[0],
            k[1] & MPU_PROTO_CAP_EXEC_STREAM ? " stream" : "", k[1] & MPU_PROTO_CAP_MPY ? " mpy" : "",
            k[1] & MPU_PROTO_CAP_FILE ? " file" : "", k[1] & MPU_PROTO_CAP_BATCHED ? " batched" : "",
            window, bmax, k[6]);
    }
    if (o->json) {
        printf("{\"event\":\"info\",\"port\":");
        mpu_json_cstr(stdout, c->port_used);
        printf(",\"version\":");
        mpu_json_cstr(stdout, in->version);
        printf(",\"implementation\":");
        mpu_json_cstr(stdout, in->impl);
        printf(",\"machine\":");
        mpu_json_cstr(stdout, in->machine);
        printf(",\"platform\":");
        mpu_json_cstr(stdout, in->platform);
        printf(",\"mpy_version\":%d,\"mpy_sub_version\":%d,\"mpy_arch\":", ver, feat & 3);
        mpu_json_cstr(stdout, arch);
        printf(",\"small_int_bits\":%d,\"heap_free\":%ld,\"heap_used\":%ld,\"fs_size\":%lld,\"fs_free\":%lld",
            in->small_int_bits, in->heap_free, in->heap_used, in->fs_size, in->fs_free);
        printf(",\"extensions\":");
        if (in->caps_known) {
            printf("{\"protocol\":%u,\"stream\":%s,\"mpy\":%s,\"file\":%s,\"batched\":%s,\"window\":%u,"
                "\"block_max\":%u,\"blocks_in_flight\":%u}",
                k[0], k[1] & MPU_PROTO_CAP_EXEC_STREAM ? "true" : "false",
                k[1] & MPU_PROTO_CAP_MPY ? "true" : "false", k[1] & MPU_PROTO_CAP_FILE ? "true" : "false",
                k[1] & MPU_PROTO_CAP_BATCHED ? "true" : "false", window, bmax, k[6]);
        } else {
            printf("null");
        }
        printf("}\n");
        return;
    }
    printf("port: %s\n", c->port_used);
    printf("version: %s\n", in->version);
    printf("implementation: %s\n", in->impl);
    printf("machine: %s\n", in->machine);
    printf("platform: %s\n", in->platform);
    if (ver) {
        printf("mpy: v%d.%d, arch %s, small int %d bits\n", ver, feat & 3, arch ? arch : "none",
            in->small_int_bits);
    } else {
        printf("mpy: unknown\n");
    }
    printf("heap: %ld bytes free, %ld used\n", in->heap_free, in->heap_used);
    if (in->fs_size > 0) {
        printf("filesystem: %lld bytes, %lld free\n", in->fs_size, in->fs_free);
    } else {
        printf("filesystem: none\n");
    }
    printf("extensions: %s\n", ext);
}

int main(int argc, char **argv) {
    int multi = mpu_multi_main(argc, argv);
    if (multi >= 0) {
        return multi;
    }
    struct opts o = { .baud = 115200, .dtr = -1, .rts = -1, .progress = -1 };
    enum { O_DTR = 256, O_RTS, O_JSON, O_PROGRESS, O_TIMEOUT, O_SOFT, O_MPY, O_MPY_CROSS, O_NOEXT,
        O_NORAWPASTE, O_HARD, O_VERSION };
    static const struct option longopts[] = {
        { "port", required_argument, 0, 'p' },
        { "baud", required_argument, 0, 'b' },
        { "dtr", required_argument, 0, O_DTR },
        { "rts", required_argument, 0, O_RTS },
        { "json", no_argument, 0, O_JSON },
        { "progress", no_argument, 0, O_PROGRESS },
        { "quiet", no_argument, 0, 'q' },
        { "timeout", required_argument, 0, O_TIMEOUT },
        { "soft-reset", no_argument, 0, O_SOFT },
        { "mpy", no_argument, 0, O_MPY },
        { "mpy-cross", required_argument, 0, O_MPY_CROSS },
        { "no-ext", no_argument, 0, O_NOEXT },
        { "no-raw-paste", no_argument, 0, O_NORAWPASTE },
        { "hard", no_argument, 0, O_HARD },
        { "help", no_argument, 0, 'h' },
        { "version", no_argument, 0, O_VERSION },
        { 0, 0, 0, 0 },
    };
    int help = 0;
    opterr = 0;
    int ch;
    /* Options may come before or after the command (GNU getopt permutes). */
    while ((ch = getopt_long(argc, argv, "p:b:qhl", longopts, NULL)) != -1) {
        char *end;
        switch (ch) {
        case 'p': o.port = optarg; break;
        case 'b':
            o.baud = (int)strtol(optarg, &end, 10);
            if (*end || o.baud <= 0) {
                return usage_error("bad --baud", optarg);
            }
            break;
        case O_DTR:
            if (on_off(optarg, &o.dtr)) {
                return usage_error("--dtr takes on or off", optarg);
            }
            break;
        case O_RTS:
            if (on_off(optarg, &o.rts)) {
                return usage_error("--rts takes on or off", optarg);
            }
            break;
        case O_JSON: o.json = 1; break;
        case O_PROGRESS: o.progress = 1; break;
        case 'q': o.quiet = 1; break;
        case 'l': o.long_fmt = 1; break;
        case O_TIMEOUT:
            o.timeout = strtod(optarg, &end);
            if (*end || o.timeout <= 0) {
                return usage_error("bad --timeout", optarg);
            }
            break;
        case O_SOFT: o.soft_reset = 1; break;
        case O_MPY: o.mpy = 1; break;
        case O_MPY_CROSS: o.mpy_cross = optarg; break;
        case O_NOEXT: o.no_ext = 1; break;
        case O_NORAWPASTE: o.no_raw_paste = 1; break;
        case O_HARD: o.hard = 1; break;
        case 'h': help = 1; break;
        case O_VERSION: printf("mpupload %s\n", MPUPLOAD_VERSION); return EXIT_OK;
        case ':': return usage_error("option needs a value", argv[optind - 1]);
        default: return usage_error("unknown option", argv[optind - 1]);
        }
    }
    if (o.quiet) {
        o.progress = 0;
    }
    const char *cmd = optind < argc ? argv[optind] : NULL;
    int nargs = argc - optind - (cmd ? 1 : 0);
    char **args = argv + optind + (cmd ? 1 : 0);
    if (!cmd) {
        if (help) {
            fputs(USAGE, stdout);
            return EXIT_OK;
        }
        fputs(USAGE, stderr);
        return EXIT_USAGE;
    }
    size_t ci;
    for (ci = 0; ci < sizeof(cmd_help) / sizeof(cmd_help[0]); ci++) {
        if (!strcmp(cmd_help[ci].name, cmd)) {
            break;
        }
    }
    if (ci == sizeof(cmd_help) / sizeof(cmd_help[0])) {
        return usage_error("unknown command", cmd);
    }
    if (help) {
        printf("usage: %s\n\n%s", cmd_help[ci].usage, cmd_help[ci].help);
        return EXIT_OK;
    }
    int want_args = !strcmp(cmd, "run") || !strcmp(cmd, "exec") || !strcmp(cmd, "eval") ? 1 : 0;
    int max_args = want_args;
    if (!strcmp(cmd, "put") || !strcmp(cmd, "cp")) {
        want_args = max_args = 2;
    } else if (!strcmp(cmd, "get")) {
        want_args = 1, max_args = 2;
    } else if (!strcmp(cmd, "ls")) {
        want_args = 0, max_args = 1;
    } else if (!strcmp(cmd, "rm") || !strcmp(cmd, "mkdir") || !strcmp(cmd, "cat") || !strcmp(cmd, "sha256sum")) {
        want_args = max_args = 1;
    }
    if (nargs < want_args || nargs > max_args) {
        fprintf(stderr, "usage: %s\n", cmd_help[ci].usage);
        return EXIT_USAGE;
    }
    if (o.hard && strcmp(cmd, "reset")) {
        return usage_error("--hard is for reset", NULL);
    }
    if (o.mpy && strcmp(cmd, "run")) {
        return usage_error("--mpy is for run", NULL);
    }
    if (!strcmp(cmd, "devs")) {
        return cmd_devs(&o);
    }
    if (o.long_fmt && strcmp(cmd, "ls")) {
        return usage_error("-l is for ls", NULL);
    }
    /* Remote paths are checked before anything touches the board. */
    char rpath[1024] = "/";
    const char *rarg = !strcmp(cmd, "put") || !strcmp(cmd, "cp") ? args[1] : nargs && strcmp(cmd, "run")
        && strcmp(cmd, "exec") && strcmp(cmd, "eval") ? args[0] : NULL;
    if (rarg) {
        if (rarg[0] != ':') {
            return usage_error("remote paths start with ':'", rarg);
        }
        char perr[200];
        if (mpu_xfer_path(rarg, !strcmp(cmd, "ls") || !strcmp(cmd, "put") || !strcmp(cmd, "cp"),
                rpath, sizeof(rpath), perr, sizeof(perr)) != MPU_OK) {
            return usage_error(perr, rarg);
        }
    }

    struct mpu_out out;
    struct mpu_cmd c;
    memset(&c, 0, sizeof(c));
    if (!o.port && getenv("MPUPLOAD_PORT") && *getenv("MPUPLOAD_PORT")) {
        o.port = getenv("MPUPLOAD_PORT");
    }
    c.port = o.port;
    c.link.baud = o.baud;
    c.link.dtr = o.dtr;
    c.link.rts = o.rts;
    c.eng.answer_ms = 2000;
    c.eng.enter_tries = 2;
    c.eng.quiet_ms = 30;
    c.eng.busy_ms = 5000;
    c.eng.window_ms = MPU_PROTO_RX_TIMEOUT_MS;
    c.eng.raw_chunk = 128;
    c.eng.raw_pause_ms = 10;
    c.eng.raw_direct_max = 256;
    c.eng.baud = strncmp(o.port ? o.port : "", "exec:", 5) && strncmp(o.port ? o.port : "", "tcp:", 4) ? o.baud : 0;
    c.eng.run_ms = o.timeout > 0 ? (int)(o.timeout * 1000) : -1;
    c.eng.no_raw_paste = o.no_raw_paste;
    c.soft_reset = o.soft_reset;
    c.mpy_cross = o.mpy_cross;
    c.use_ext = !o.no_ext;
    c.out = &out;
    char errbuf[600];
    int r;

    if (!strcmp(cmd, "run") || !strcmp(cmd, "exec") || !strcmp(cmd, "eval")) {
        uint8_t *code = NULL;
        size_t len = 0;
        const char *file = NULL;
        char real[PATH_MAX];
        if (!strcmp(cmd, "run")) {
            r = mpu_source_load(args[0], &code, &len, errbuf, sizeof(errbuf));
            if (r != MPU_OK) {
                fprintf(stderr, "mpupload: %s\n", errbuf);
                return exit_code(r);
            }
            file = realpath(args[0], real) ? real : args[0];
        } else {
            const char *text = args[0];
            size_t tl = strlen(text);
            code = malloc(tl + 32);
            if (!code) {
                return EXIT_PROTOCOL;
            }
            len = !strcmp(cmd, "eval") ? (size_t)sprintf((char *)code, "print(repr(%s))\n", text)
                : (size_t)sprintf((char *)code, "%s\n", text);
            r = mpu_source_check(cmd, code, len, errbuf, sizeof(errbuf));
            if (r != MPU_OK) {
                fprintf(stderr, "mpupload: %s\n", errbuf);
                free(code);
                return exit_code(r);
            }
        }
        mpu_out_init(&out, o.json, o.progress, file);
        out.tb.drop_stdin = o.mpy;
        c.forward_stdin = 1;
        c.source_name = file;
        if (o.mpy) {
            r = mpu_cmd_run_mpy(&c, args[0]);
        } else {
            r = mpu_cmd_run_code(&c, code, len);
        }
        free(code);
        int rc = report(&o, cmd, &c, r, &out, file, len);
        mpu_out_free(&out);
        return rc;
    }
    if (!strcmp(cmd, "put") || !strcmp(cmd, "cp") || !strcmp(cmd, "get") || !strcmp(cmd, "cat")) {
        mpu_out_init(&out, o.json, o.progress, NULL);
        if (!strcmp(cmd, "get") || !strcmp(cmd, "cat")) {
            const char *base = strrchr(rpath, '/') + 1;
            r = mpu_cmd_get(&c, rpath, !strcmp(cmd, "cat") ? "-" : nargs > 1 ? args[1] : base);
        } else {
            r = mpu_cmd_put(&c, args[0], rpath);
        }
        int rc = report(&o, cmd, &c, r, &out, !strcmp(cmd, "put") || !strcmp(cmd, "cp") ? args[0] : rpath, 0);
        mpu_out_free(&out);
        return rc;
    }
    mpu_out_init(&out, o.json, 0, NULL);
    if (!strcmp(cmd, "ls") || !strcmp(cmd, "rm") || !strcmp(cmd, "mkdir") || !strcmp(cmd, "sha256sum")) {
        char *text = NULL;
        r = mpu_cmd_fs(&c, cmd, rpath, o.long_fmt, &text);
        if (r == MPU_OK && text) {
            fputs(text, stdout);
        }
        free(text);
    } else if (!strcmp(cmd, "info")) {
        struct mpu_board_info in;
        r = mpu_cmd_info(&c, &in);
        if (r == MPU_OK) {
            print_info(&o, &c, &in);
        }
    } else if (!strcmp(cmd, "reset")) {
        r = mpu_cmd_reset(&c, o.hard);
    } else {
        r = mpu_cmd_repl(&c, o.quiet || o.json);
    }
    int rc = r == MPU_OK && !strcmp(cmd, "info") && o.json ? EXIT_OK : report(&o, cmd, &c, r, &out, NULL, 0);
    mpu_out_free(&out);
    return rc;
}
