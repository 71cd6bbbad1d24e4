/* mpupload: upload and run Python code on MicroPython boards.
 * Argument parsing, printing and exit codes live here and nowhere else. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "err.h"
#include "json.h"
#include "mpu_proto.h"
#include "multi.h"
#include "mpy.h"
#include "serial.h"
#include "source.h"
#include "tree.h"
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
    "  put SRC... [:DEST] copy files to the board, verified, atomic (alias: cp)\n"
    "  get :SRC... [DEST] copy files from the board, verified (DEST - : stdout)\n"
    "  sync DIR [:DEST]   make DEST hold what DIR holds, sending only what differs\n"
    "  ls [-l] [:PATH]    list a directory on the board\n"
    "  rm [-r] :PATH...   remove files on the board\n"
    "  mkdir :PATH        make a directory on the board\n"
    "  rmdir :PATH...     remove empty directories on the board\n"
    "  mv :SRC :DEST      rename a file or directory on the board\n"
    "  df [:PATH]         size, used and free bytes of the board's filesystem\n"
    "  cat :PATH          print a file of the board\n"
    "  sha256sum :PATH    the SHA-256 of a file on the board, computed there\n"
    "\n"
    "Options:\n"
    "  -p, --port PORT    serial device, exec:COMMAND or tcp:HOST:PORT (default:\n"
    "                     $MPUPLOAD_PORT, else auto: the only likely board); give it\n"
    "                     again for more boards at once, or `all` for every likely\n"
    "                     board (or those $MPUPLOAD_ALL's globs match)\n"
    "  -b, --baud N       line speed (default 115200)\n"
    "      --dtr on|off   set DTR (default: leave it alone); --rts on|off likewise\n"
    "      --json         one JSON object per line on stdout (progress, output, result)\n"
    "      --progress     always show the progress bar (default: on a terminal, > 0.5 s)\n"
    "  -q, --quiet        only the program's own output\n"
    "      --timeout SECS interrupt the program after SECS seconds\n"
    "      --soft-reset   soft-reset the board before running\n"
    "      --mpy          run, sync: compile on the host with mpy-cross first\n"
    "      --mpy-cross P  the mpy-cross to use (default: $MPY_CROSS, then next to mpupload)\n"
    "      --no-ext       don't use the firmware/pyexec protocol extensions\n"
    "      --no-raw-paste plain raw REPL only (paced for a 256-byte receive buffer)\n"
    "  -l                 ls: sizes and types\n"
    "  -r                 put, get, rm: directories and what they hold\n"
    "      --delete       sync: remove what the board has and DIR has not\n"
    "      --dry-run      sync: print the plan; send no file data\n"
    "      --no-resume    put, sync: never continue a broken transfer from the\n"
    "                     verified part the board kept; send whole files\n"
    "      --exclude PAT  sync: skip paths and names matching PAT (fnmatch, repeatable)\n"
    "  -h, --help         this help; `mpupload COMMAND --help` for one command\n"
    "      --version      the version\n"
    "\n"
    "Exit status: 0 success; 1 the program raised an exception; 2 usage error or bad\n"
    "input file; 3 no board or link error; 4 protocol error or timeout; 5 mpy-cross\n"
    "error; 6 several boards failed with different codes; 130 interrupted. A local\n"
    "symlink loop is bad input: 2.\n";

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
    { "put", "mpupload [-p PORT] put [-r] SRC... [:DEST]",
        "Copy the local file SRC to DEST on the board (default /; a directory keeps SRC's\n"
        "name), in CRC-checked blocks; the data goes to DEST.part and is renamed over\n"
        "DEST only once its SHA-256 matches. Several SRCs go into the directory DEST\n"
        "(made when missing); -r copies directories, making their directories on the\n"
        "board first. One session for the whole job. Remote paths with '..' are refused\n"
        "(exit 2). A failed transfer exits 4 (3: link lost).\n" },
    { "cp", "mpupload [-p PORT] cp [-r] SRC... [:DEST]", "The same as put.\n" },
    { "get", "mpupload [-p PORT] get [-r] :SRC... [DEST]",
        "Copy SRC from the board to DEST (default: its name, here; a directory keeps\n"
        "the name; - writes to stdout), checked by CRC per block and SHA-256 at the end;\n"
        "written to a temporary file and renamed. Several SRCs go into the directory\n"
        "DEST (made when missing); -r copies directories.\n" },
    { "sync", "mpupload [-p PORT] sync [--delete] [--dry-run] [--exclude PAT]... [--mpy] DIR [:DEST]",
        "Make DEST (default /) on the board hold what the local directory DIR holds. One\n"
        "program lists the board's tree with the size and SHA-256 of every file; only\n"
        "files whose size or hash differ are sent, missing directories are made.\n"
        "--delete removes board files and directories that DIR lacks; --dry-run prints\n"
        "the plan and sends no file data; --exclude PAT skips relative paths or names\n"
        "matching the fnmatch pattern PAT, here and on the board (repeatable); --mpy sends\n"
        "NAME.py as NAME.mpy compiled for the board (boot.py and main.py stay source),\n"
        "cached under $MPUPLOAD_CACHE, else $XDG_CACHE_HOME/mpupload, else\n"
        "~/.cache/mpupload. Symlinks are followed; a loop is an error (exit 2). Ends with\n"
        "a line: files checked, uploaded, deleted, bytes, seconds.\n" },
    { "ls", "mpupload [-p PORT] ls [-l] [:PATH]",
        "List PATH (default /) on the board, directories with a trailing /; -l adds the\n"
        "type (d or f) and size.\n" },
    { "rm", "mpupload [-p PORT] rm [-r] :PATH...",
        "Remove the files PATH on the board; -r removes directories and all they hold.\n" },
    { "mkdir", "mpupload [-p PORT] mkdir :PATH", "Make the directory PATH on the board.\n" },
    { "rmdir", "mpupload [-p PORT] rmdir :PATH...",
        "Remove the empty directories PATH on the board; a directory that is not empty\n"
        "is refused (exit 4).\n" },
    { "mv", "mpupload [-p PORT] mv :SRC :DEST",
        "Rename SRC to DEST on the board; when DEST is a directory, SRC goes into it.\n" },
    { "df", "mpupload [-p PORT] df [:PATH]",
        "Print the size, used and available bytes of the filesystem holding PATH\n"
        "(default /), from os.statvfs on the board.\n" },
    { "cat", "mpupload [-p PORT] cat :PATH", "Write the file PATH of the board to stdout (as get :PATH -).\n" },
    { "sha256sum", "mpupload [-p PORT] sha256sum :PATH",
        "Print the SHA-256 of PATH, computed on the board, like sha256sum(1).\n" },
};

struct opts {
    const char *port;
    int baud, dtr, rts, json, progress, quiet, hard, mpy, soft_reset, no_ext, no_raw_paste, long_fmt;
    int recursive, delete_extra, dry_run, no_resume;
    const char **exclude;
    size_t n_exclude;
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
    const struct mpu_out *out, const char *file, const char *hint, const char *extra) {
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
    fprintf(f, "%s}\n", extra ? extra : "");
    fflush(f);
}

/* The end of every command that talks to a board: message, JSON, exit code. */
static int report(const struct opts *o, const char *command, struct mpu_cmd *c, int err,
    struct mpu_out *out, const char *file, size_t src_len, const char *extra) {
    char hint[600] = "";
    if (err == MPU_ERR_EXCEPTION && !strcmp(out->tb.exc_type, "MemoryError") && !o->mpy && file
        && c->mode && !strncmp(c->mode, "stream", 6)) {
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
        json_result(command, c, err, out, file, hint[0] ? hint : NULL, extra);
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
        snprintf(ext, sizeof(ext), "protocol v%u:%s%s%s%s%s; window %u, blocks %u x %u", k[0],
            k[1] & MPU_PROTO_CAP_EXEC_STREAM ? " stream" : "",
            k[1] & MPU_PROTO_CAP_EXEC_CHECKED ? " stream-checked" : "", k[1] & MPU_PROTO_CAP_MPY ? " mpy" : "",
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
            printf("{\"protocol\":%u,\"stream\":%s,\"stream_checked\":%s,\"mpy\":%s,\"file\":%s,\"batched\":%s,\"window\":%u,"
                "\"block_max\":%u,\"blocks_in_flight\":%u}",
                k[0], k[1] & MPU_PROTO_CAP_EXEC_STREAM ? "true" : "false",
                k[1] & MPU_PROTO_CAP_EXEC_CHECKED ? "true" : "false",
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

struct tree_print {
    const struct opts *o;
    struct mpu_out *out;
    const char *cmd;
};

/* Each step of a tree job: a JSON event, or for sync a line (--dry-run: the plan). */
static void on_tree_event(void *ctx, const struct mpu_tree_event *ev) {
    const struct tree_print *tp = ctx;
    if (tp->o->json) {
        printf("{\"event\":\"file\",\"command\":");
        mpu_json_cstr(stdout, tp->cmd);
        printf(",\"action\":");
        mpu_json_cstr(stdout, ev->action);
        printf(",\"path\":");
        mpu_json_cstr(stdout, ev->path);
        printf(",\"size\":%llu,\"dry_run\":%s", (unsigned long long)ev->size, ev->dry_run ? "true" : "false");
        if (ev->of) {
            printf(",\"n\":%zu,\"of\":%zu", ev->n, ev->of);
        }
        printf("}\n");
        fflush(stdout);
        return;
    }
    if (tp->o->quiet || strcmp(tp->cmd, "sync") || !strcmp(ev->action, "same")) {
        return;
    }
    mpu_progress_clear(&tp->out->progress);
    if (!strcmp(ev->action, "stale")) {
        fprintf(stderr, "mpupload: :%s is imported before the .mpy sent; --delete removes it\n", ev->path);
        return;
    }
    char count[48] = "";
    if (ev->of) {
        snprintf(count, sizeof(count), " (%zu/%zu)", ev->n, ev->of);
    }
    printf("%s%s %s%s%s\n", ev->dry_run ? "would " : "", ev->action, strcmp(ev->action, "compile") ? ":" : "",
        ev->path, count);
    fflush(stdout);
}

int main(int argc, char **argv) {
    struct opts o = { .baud = 115200, .dtr = -1, .rts = -1, .progress = -1 };
    enum { O_DTR = 256, O_RTS, O_JSON, O_PROGRESS, O_TIMEOUT, O_SOFT, O_MPY, O_MPY_CROSS, O_NOEXT,
        O_NORAWPASTE, O_HARD, O_VERSION, O_DELETE, O_DRY_RUN, O_EXCLUDE, O_NO_RESUME };
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
        { "delete", no_argument, 0, O_DELETE },
        { "dry-run", no_argument, 0, O_DRY_RUN },
        { "exclude", required_argument, 0, O_EXCLUDE },
        { "no-resume", no_argument, 0, O_NO_RESUME },
        { "help", no_argument, 0, 'h' },
        { "version", no_argument, 0, O_VERSION },
        { 0, 0, 0, 0 },
    };
    static const char shortopts[] = "p:b:qhlr";
    int multi = mpu_multi_main(argc, argv, longopts, shortopts);
    if (multi >= 0) {
        return multi;
    }
    int help = 0;
    opterr = 0;
    int ch;
    /* Options may come before or after the command (GNU getopt permutes). */
    const char *exclude[64];
    o.exclude = exclude;
    while ((ch = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
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
        case 'r': o.recursive = 1; break;
        case O_DELETE: o.delete_extra = 1; break;
        case O_DRY_RUN: o.dry_run = 1; break;
        case O_NO_RESUME: o.no_resume = 1; break;
        case O_EXCLUDE:
            if (o.n_exclude == sizeof(exclude) / sizeof(exclude[0])) {
                return usage_error("too many --exclude patterns (64 at most)", optarg);
            }
            exclude[o.n_exclude++] = optarg;
            break;
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
    if (!strcmp(cmd, "put") || !strcmp(cmd, "cp") || !strcmp(cmd, "get") || !strcmp(cmd, "rm")
        || !strcmp(cmd, "rmdir")) {
        want_args = 1, max_args = INT_MAX;
    } else if (!strcmp(cmd, "ls") || !strcmp(cmd, "df")) {
        want_args = 0, max_args = 1;
    } else if (!strcmp(cmd, "mkdir") || !strcmp(cmd, "cat") || !strcmp(cmd, "sha256sum")) {
        want_args = max_args = 1;
    } else if (!strcmp(cmd, "mv")) {
        want_args = max_args = 2;
    } else if (!strcmp(cmd, "sync")) {
        want_args = 1, max_args = 2;
    }
    if (nargs < want_args || nargs > max_args) {
        fprintf(stderr, "usage: %s\n", cmd_help[ci].usage);
        return EXIT_USAGE;
    }
    if (o.hard && strcmp(cmd, "reset")) {
        return usage_error("--hard is for reset", NULL);
    }
    if (o.mpy && strcmp(cmd, "run") && strcmp(cmd, "sync")) {
        return usage_error("--mpy is for run and sync", NULL);
    }
    if (!strcmp(cmd, "devs")) {
        return cmd_devs(&o);
    }
    if (o.long_fmt && strcmp(cmd, "ls")) {
        return usage_error("-l is for ls", NULL);
    }
    if (o.recursive && strcmp(cmd, "put") && strcmp(cmd, "cp") && strcmp(cmd, "get") && strcmp(cmd, "rm")) {
        return usage_error("-r is for put, get and rm", NULL);
    }
    if ((o.delete_extra || o.dry_run || o.n_exclude) && strcmp(cmd, "sync")) {
        return usage_error("--delete, --dry-run and --exclude are for sync", NULL);
    }
    int put = !strcmp(cmd, "put") || !strcmp(cmd, "cp");
    if (o.no_resume && !put && strcmp(cmd, "sync")) {
        return usage_error("--no-resume is for put and sync", NULL);
    }
    if (put || !strcmp(cmd, "sync")) {
        /* SRC... [:DEST]: the last argument names the board side when it starts with ':'. */
        int has_dest = nargs > 1 && args[nargs - 1][0] == ':';
        for (int i = 0; i < nargs - has_dest; i++) {
            if (args[i][0] == ':') {
                return usage_error(put ? "put: sources are local, the destination comes last"
                    : "sync: DIR is local, DEST comes last", args[i]);
            }
        }
        if (nargs > 1 && !has_dest) {
            /* Several sources need a DEST: a last argument without ':' is a mistyped one. */
            return usage_error("remote paths start with ':'", args[nargs - 1]);
        }
    }
    /* Remote paths are checked before anything touches the board. */
    const char *rargs[256];
    int nr = 0, allow_root = 0;
    if (put || !strcmp(cmd, "sync")) {
        rargs[nr++] = nargs > 1 && args[nargs - 1][0] == ':' ? args[nargs - 1] : ":";
        allow_root = 1;
    } else if (!strcmp(cmd, "get")) {
        for (int i = 0; i < nargs; i++) {
            if (args[i][0] != ':' && i == nargs - 1 && i > 0) {
                break;
            }
            if (nr == (int)(sizeof(rargs) / sizeof(rargs[0]))) {
                return usage_error("too many sources (256 at most)", NULL);
            }
            rargs[nr++] = args[i];
        }
        allow_root = o.recursive;
    } else if (!strcmp(cmd, "ls") || !strcmp(cmd, "df")) {
        rargs[nr++] = nargs ? args[0] : ":";
        allow_root = 1;
    } else if (strcmp(cmd, "run") && strcmp(cmd, "exec") && strcmp(cmd, "eval") && strcmp(cmd, "info")
        && strcmp(cmd, "reset") && strcmp(cmd, "repl")) {
        for (int i = 0; i < nargs; i++) {
            if (nr == (int)(sizeof(rargs) / sizeof(rargs[0]))) {
                return usage_error("too many paths (256 at most)", NULL);
            }
            rargs[nr++] = args[i];
        }
    }
    static char rpaths[256][1024];
    for (int i = 0; i < nr; i++) {
        if (rargs[i][0] != ':') {
            return usage_error("remote paths start with ':'", rargs[i]);
        }
        char perr[200];
        if (mpu_xfer_path(rargs[i], allow_root, rpaths[i], sizeof(rpaths[i]), perr, sizeof(perr)) != MPU_OK) {
            return usage_error(perr, rargs[i]);
        }
    }
    char *rpath = rpaths[0];
    const char *rlist[256];
    for (int i = 0; i < nr; i++) {
        rlist[i] = rpaths[i];
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
    c.no_resume = o.no_resume;
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
        int rc = report(&o, cmd, &c, r, &out, file, len, NULL);
        mpu_out_free(&out);
        return rc;
    }
    int has_dest = nargs > 1 && args[nargs - 1][0] == ':';
    int nsrc = nargs - has_dest;
    int get_dest = !strcmp(cmd, "get") && nargs > nr;
    struct stat sst;
    /* A directory without -r: tree.c says so in its words. */
    int single = !o.recursive && ((put && nsrc == 1 && !(stat(args[0], &sst) == 0 && S_ISDIR(sst.st_mode)))
        || (!strcmp(cmd, "get") && nr == 1));
    if ((put || !strcmp(cmd, "get") || !strcmp(cmd, "cat")) && (single || !strcmp(cmd, "cat"))) {
        /* One file: the transfer layer's own command. */
        mpu_out_init(&out, o.json, o.progress, NULL);
        if (!strcmp(cmd, "get") || !strcmp(cmd, "cat")) {
            const char *base = strrchr(rpath, '/') + 1;
            r = mpu_cmd_get(&c, rpath, !strcmp(cmd, "cat") ? "-" : get_dest ? args[nargs - 1] : base);
        } else {
            r = mpu_cmd_put(&c, args[0], rpath);
        }
        int rc = report(&o, cmd, &c, r, &out, put ? args[0] : rpath, 0, NULL);
        mpu_out_free(&out);
        return rc;
    }
    if (put || !strcmp(cmd, "get") || !strcmp(cmd, "sync") || !strcmp(cmd, "rm")) {
        struct tree_print tp = { &o, &out, cmd };
        struct mpu_tree_job j = { .recursive = o.recursive, .delete_extra = o.delete_extra, .dry_run = o.dry_run,
            .mpy = o.mpy, .exclude = o.exclude, .n_exclude = o.n_exclude, .event = on_tree_event, .ctx = &tp };
        mpu_out_init(&out, o.json, !strcmp(cmd, "rm") ? 0 : o.progress, NULL);
        if (put) {
            r = mpu_tree_put(&c, &j, args, (size_t)nsrc, rpath);
        } else if (!strcmp(cmd, "get")) {
            if (get_dest && !strcmp(args[nargs - 1], "-")) {
                return usage_error("get: - (stdout) takes one file", NULL);
            }
            r = mpu_tree_get(&c, &j, rlist, (size_t)nr, get_dest ? args[nargs - 1] : ".");
        } else if (!strcmp(cmd, "rm")) {
            r = mpu_tree_rm(&c, &j, rlist, (size_t)nr);
        } else {
            r = mpu_tree_sync(&c, &j, args[0], rpath);
        }
        char extra[400];
        snprintf(extra, sizeof(extra), ",\"files_checked\":%zu,\"uploaded\":%zu,\"downloaded\":%zu,"
            "\"deleted\":%zu,\"compiled\":%zu,\"bytes\":%llu,\"rounds\":%zu,\"dry_run\":%s",
            j.checked, j.uploaded, j.downloaded, j.deleted, j.compiled, (unsigned long long)j.bytes, j.rounds,
            o.dry_run ? "true" : "false");
        if (!strcmp(cmd, "sync") && !o.json && !o.quiet && (r == MPU_OK || j.rounds)) {
            mpu_progress_clear(&out.progress);
            printf("sync: %zu files checked, %zu %suploaded, %zu %sdeleted, %llu bytes, %.2f s%s\n", j.checked,
                j.uploaded, o.dry_run ? "to be " : "", j.deleted,
                o.dry_run ? "to be " : "", (unsigned long long)j.bytes, c.elapsed_ms / 1000.0,
                r == MPU_OK ? "" : " (stopped by an error)");
            fflush(stdout);
        }
        int rc = report(&o, cmd, &c, r, &out, put ? args[0] : !strcmp(cmd, "sync") ? args[0] : NULL, 0, extra);
        mpu_out_free(&out);
        return rc;
    }
    if (!strcmp(cmd, "rmdir") || !strcmp(cmd, "mv") || !strcmp(cmd, "df")) {
        mpu_out_init(&out, o.json, 0, NULL);
        struct mpu_tree_df df = { 0 };
        char extra[200] = "";
        if (!strcmp(cmd, "rmdir")) {
            r = mpu_tree_rmdir(&c, rlist, (size_t)nr);
        } else if (!strcmp(cmd, "mv")) {
            r = mpu_tree_mv(&c, rpaths[0], rpaths[1]);
        } else {
            r = mpu_tree_df(&c, rpath, &df);
            if (r == MPU_OK && o.json) {
                snprintf(extra, sizeof(extra), ",\"size\":%llu,\"used\":%llu,\"avail\":%llu", df.size, df.used,
                    df.avail);
            } else if (r == MPU_OK) {
                printf("%12s %12s %12s %4s %s\n", "size", "used", "avail", "use%", "path");
                printf("%12llu %12llu %12llu %3.0f%% %s\n", df.size, df.used, df.avail,
                    df.size ? 100.0 * (double)df.used / (double)df.size : 0.0, rpath);
            }
        }
        int rc = report(&o, cmd, &c, r, &out, NULL, 0, extra);
        mpu_out_free(&out);
        return rc;
    }
    mpu_out_init(&out, o.json, 0, NULL);
    if (!strcmp(cmd, "ls") || !strcmp(cmd, "mkdir") || !strcmp(cmd, "sha256sum")) {
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
    int rc = r == MPU_OK && !strcmp(cmd, "info") && o.json ? EXIT_OK : report(&o, cmd, &c, r, &out, NULL, 0, NULL);
    mpu_out_free(&out);
    return rc;
}
