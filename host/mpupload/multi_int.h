/* mpupload multi, inside: the boards, their children's lines, and what
 * multi_view.c makes of them (live lines, prefixed output, summary). */
#ifndef MPU_MULTI_INT_H
#define MPU_MULTI_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MU_USAGE (2)
#define MU_NOBOARD (3)
#define MU_INTERRUPTED (130)

/* Bytes collected up to a line end. */
struct mu_linebuf {
    char *buf;
    size_t len, cap;
};

/* One board and its child mpupload. */
struct mu_board {
    char *name;             /* as the user named it (or -p all found it) */
    pid_t pid;
    int fd[2];              /* the child's stdout and stderr; -1 once closed */
    struct mu_linebuf in[2];   /* a partial line read from fd[i] */
    struct mu_linebuf pend[2]; /* program output (stdout, stderr) up to a line end */
    int exited;
    int finished;           /* mu_finish_board() done */
    int code;               /* exit status, 128 + signal when killed */
    int64_t t0, t1;
    size_t sent, total;     /* from progress events */
    double rate;
    int have_result;
    size_t result_bytes;
    char status[16];
    char detail[300];
    char last_err[300];     /* the last line on the child's stderr */
    char errtext[2048];     /* the start of its stderr (for usage errors) */
    size_t errlen;
    int sigs;               /* signals forwarded */
};

/* The run: every board and how it is shown. */
struct mu_multi {
    struct mu_board *b;
    int n;
    int json, quiet;
    int view;               /* MU_VIEW_* */
    int drawn;              /* lines of the live block on the terminal */
    int dirty;
    int64_t last_draw;
    int namew;
    const char *cmd;
};

enum { MU_VIEW_NONE, MU_VIEW_PLAIN, MU_VIEW_TTY };

/** Append n bytes to l (NUL-terminated). @return 0, or -1 when out of memory. */
int mu_lb_add(struct mu_linebuf *l, const char *p, size_t n);

/** @return 1 once the child ended and both its pipes are closed. */
static inline int mu_board_done(const struct mu_board *b) {
    return b->exited && b->fd[0] < 0 && b->fd[1] < 0;
}

/** @return the terminal's rows (stderr), 24 when unknown. */
int mu_term_rows(void);

/** Take the live block off the terminal (before other output, or at the end). */
void mu_view_erase(struct mu_multi *m);

/** Redraw the live block when it changed (at most every 100 ms unless force). */
void mu_view_draw(struct mu_multi *m, int force);

/** One line of a child's stdout: an event, or plain program output (ls, cat). */
void mu_on_stdout_line(struct mu_multi *m, struct mu_board *b, const char *line, size_t len);

/** One line of a child's stderr: kept for the error detail. */
void mu_on_stderr_line(struct mu_board *b, const char *line, size_t len);

/** The child of b ended: flush its output, settle its status, say so (plain view). */
void mu_finish_board(struct mu_multi *m, struct mu_board *b);

/** The summary: table (or --json summary event) and the failed boards. */
void mu_summary(struct mu_multi *m, int rc, int same_usage, int sig);

#endif
