/* mpupload commands: what each subcommand does with a board; no printing. */
#ifndef MPU_COMMANDS_H
#define MPU_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "link.h"
#include "output.h"

/** The settings of one command and what it reports back. */
struct mpu_cmd {
    const char *port;           /**< NULL or "auto": find the board */
    struct mpu_link_opts link;
    struct mpu_engine_opts eng;
    int soft_reset;             /**< soft-reset before running */
    int forward_stdin;
    struct mpu_out *out;
    const char *mpy_cross;      /**< mpy-cross binary for --mpy */
    const char *source_name;    /**< name for tracebacks of .mpy code */
    int use_ext;                /**< use firmware/pyexec extensions when present (default 1) */
    int no_resume;              /**< put: never continue from TARGET.part */
    /* results */
    size_t bytes_sent, total;
    size_t naks;                /**< blocks re-sent after a bad CRC (put, get, run) */
    int64_t elapsed_ms;
    const char *mode;           /**< "raw-paste", "raw", "stream", "stream-checked", "mpy-stream", "mpy-file",
                                     "mpy-file-repr" */
    char port_used[256];
    char detail[800];
};

/** Board facts for `info` and --mpy. */
struct mpu_board_info {
    char version[128];
    char impl[64];
    char machine[160];
    char platform[32];
    int mpy;                    /**< sys.implementation._mpy, 0 if absent */
    int small_int_bits;
    long heap_free, heap_used;
    long long fs_size, fs_free; /**< -1 when there is no filesystem */
    int stdin_buffer;           /**< sys.stdin.buffer exists */
    int caps_known;             /**< the capability query answered */
    uint8_t caps[16];           /**< the B.1 record */
};

struct mpu_session;

/** Open the board and enter its raw REPL; on failure the reason is in c->detail. */
int mpu_cmd_start(struct mpu_cmd *c, struct mpu_session *s, int soft_reset);

/** Note the reason for r in c->detail, flush output, leave the raw REPL, close. @return r. */
int mpu_cmd_finish(struct mpu_cmd *c, struct mpu_session *s, int r);

/** Board facts, from the raw REPL of an open session (program output captured). */
int mpu_board_facts(struct mpu_cmd *c, struct mpu_engine *e, struct mpu_board_info *info);

/** @return "raw-paste", "raw", "stream", "stream-checked", "mpy-stream" or "raw-loader". */
const char *mpu_mode_name(enum mpu_mode m);

/** Run code (a script, `exec` or `eval` text) and stream its output. */
int mpu_cmd_run_code(struct mpu_cmd *c, const uint8_t *code, size_t len);

/** Compile path with mpy-cross for the board, and run the .mpy. */
int mpu_cmd_run_mpy(struct mpu_cmd *c, const char *path);

/** Collect board facts. */
int mpu_cmd_info(struct mpu_cmd *c, struct mpu_board_info *info);

/** Soft reset, or hard (machine.reset()). */
int mpu_cmd_reset(struct mpu_cmd *c, int hard);

/** A terminal to the friendly REPL until Ctrl-] (or end of input). */
int mpu_cmd_repl(struct mpu_cmd *c, int quiet);

#endif
