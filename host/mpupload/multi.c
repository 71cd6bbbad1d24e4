/* mpupload multi: one command on several boards at once. Each board gets a
 * child mpupload (this binary) run with -p BOARD --json; their event lines
 * come back through pipes read with ppoll() and become live status lines,
 * program output prefixed with the board's name, and a summary. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "multi.h"
#include "multi_json.h"
#include "serial.h"
#include "session.h"

enum { MU_OK = 0, MU_USAGE = 2, MU_NOBOARD = 3, MU_INTERRUPTED = 130 };

/* ------------------------------------------------------------------ argv */

/* main.c's options, so that -p is found exactly where its getopt_long finds
 * it; keep in step with main.c (an option that takes a value must be here). */
enum { S_JSON = 256, S_HELP, S_VERSION, S_OTHER };
static const struct option scan_longopts[] = {
    { "port", required_argument, 0, 'p' },
    { "baud", required_argument, 0, 'b' },
    { "dtr", required_argument, 0, S_OTHER },
    { "rts", required_argument, 0, S_OTHER },
    { "json", no_argument, 0, S_JSON },
    { "progress", no_argument, 0, S_OTHER },
    { "quiet", no_argument, 0, 'q' },
    { "timeout", required_argument, 0, S_OTHER },
    { "soft-reset", no_argument, 0, S_OTHER },
    { "mpy", no_argument, 0, S_OTHER },
    { "mpy-cross", required_argument, 0, S_OTHER },
    { "no-ext", no_argument, 0, S_OTHER },
    { "no-raw-paste", no_argument, 0, S_OTHER },
    { "hard", no_argument, 0, S_OTHER },
    { "delete", no_argument, 0, S_OTHER },
    { "dry-run", no_argument, 0, S_OTHER },
    { "exclude", required_argument, 0, S_OTHER },
    { "help", no_argument, 0, 'h' },
    { "version", no_argument, 0, S_VERSION },
    { 0, 0, 0, 0 },
};

struct scan {
    char **copy;        /* argv, permuted by getopt_long */
    char **ports;       /* the -p values in order */
    int nports;
    char **drop;        /* argv elements that hold -p options */
    char **keep;        /* what each becomes: NULL, or "-q" left of "-qpX" */
    int ndrop;
    int json, quiet, help;
    const char *cmd;
    char **args;
    int nargs;
};

static void scan_free(struct scan *s) {
    for (int i = 0; i < s->ndrop; i++) {
        free(s->keep[i]);
    }
    free(s->copy);
    free(s->ports);
    free(s->drop);
    free(s->keep);
}

/* The element holding a short -p: "-qp" keeps "-q"; "-p", "-pX" and long
 * options keep nothing. */
static char *keep_of(const char *el) {
    if (el[0] != '-' || el[1] == '-') {
        return NULL;
    }
    const char *p = strchr(el + 1, 'p');
    return p && p - el > 1 ? strndup(el, p - el) : NULL;
}

static void add_drop(struct scan *s, char *el, int with_keep) {
    s->drop[s->ndrop] = el;
    s->keep[s->ndrop++] = with_keep ? keep_of(el) : NULL;
}

/* @return 0, or -1 when out of memory. */
static int scan_argv(int argc, char **argv, struct scan *s) {
    memset(s, 0, sizeof(*s));
    s->copy = calloc(argc + 1, sizeof(char *));
    s->ports = calloc(argc + 1, sizeof(char *));
    s->drop = calloc(2 * argc + 2, sizeof(char *));
    s->keep = calloc(2 * argc + 2, sizeof(char *));
    if (!s->copy || !s->ports || !s->drop || !s->keep) {
        return -1;
    }
    memcpy(s->copy, argv, argc * sizeof(char *));
    int saved_opterr = opterr;
    opterr = 0;
    optind = 0;
    int ch;
    while ((ch = getopt_long(argc, s->copy, "p:b:qhlr", scan_longopts, NULL)) != -1) {
        if (ch == 'p') {
            s->ports[s->nports++] = optarg;
            char *el = s->copy[optind - 1];
            if (optarg == el && optind >= 2) {
                /* "-p" "A": the value is an element of its own. */
                add_drop(s, el, 0);
                add_drop(s, s->copy[optind - 2], 1);
            } else {
                add_drop(s, el, 1);
            }
        } else if (ch == S_JSON) {
            s->json = 1;
        } else if (ch == 'q') {
            s->quiet = 1;
        } else if (ch == 'h' || ch == S_VERSION) {
            s->help = 1;
        }
    }
    if (optind < argc) {
        s->cmd = s->copy[optind];
        s->args = s->copy + optind + 1;
        s->nargs = argc - optind - 1;
    }
    opterr = saved_opterr;
    optind = 0;
    return 0;
}

/* ---------------------------------------------------------------- boards */

struct linebuf {
    char *buf;
    size_t len, cap;
};

struct board {
    char *name;             /* as the user named it (or -p all found it) */
    pid_t pid;
    int fd[2];              /* the child's stdout and stderr; -1 once closed */
    struct linebuf in[2];   /* a partial line read from fd[i] */
    struct linebuf pend[2]; /* program output (stdout, stderr) up to a line end */
    int exited;
    int finished;           /* finish_board() done */
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

struct multi {
    struct board *b;
    int n;
    int json, quiet;
    int view;               /* VIEW_* */
    int drawn;              /* lines of the live block on the terminal */
    int dirty;
    int64_t last_draw;
    int namew;
    const char *cmd;
};

enum { VIEW_NONE, VIEW_PLAIN, VIEW_TTY };

static int lb_add(struct linebuf *l, const char *p, size_t n) {
    if (l->len + n + 1 > l->cap) {
        size_t cap = (l->len + n + 1) * 2;
        char *q = realloc(l->buf, cap);
        if (!q) {
            return -1;
        }
        l->buf = q;
        l->cap = cap;
    }
    memcpy(l->buf + l->len, p, n);
    l->len += n;
    l->buf[l->len] = 0;
    return 0;
}

static void board_free(struct board *b) {
    for (int i = 0; i < 2; i++) {
        free(b->in[i].buf);
        free(b->pend[i].buf);
        if (b->fd[i] >= 0) {
            close(b->fd[i]);
        }
    }
    free(b->name);
}

/* Add NAME unless it names a board already there (the same device through
 * another symlink counts too). @return 0, or -1 when out of memory. */
static int add_board(struct multi *m, const char *name) {
    char ra[PATH_MAX], rb[PATH_MAX];
    const char *ka = realpath(name, ra) ? ra : name;
    for (int i = 0; i < m->n; i++) {
        const char *kb = realpath(m->b[i].name, rb) ? rb : m->b[i].name;
        if (!strcmp(ka, kb)) {
            return 0;
        }
    }
    struct board *nb = realloc(m->b, (m->n + 1) * sizeof(*nb));
    if (!nb) {
        return -1;
    }
    m->b = nb;
    struct board *b = &m->b[m->n];
    memset(b, 0, sizeof(*b));
    b->fd[0] = b->fd[1] = -1;
    b->pid = -1;
    if (!(b->name = strdup(name))) {
        return -1;
    }
    m->n++;
    return 0;
}

/* -p all: every likely board, or the serial devices (character devices)
 * that the globs in $MPUPLOAD_ALL match. */
static int add_all(struct multi *m) {
    const char *pat = getenv("MPUPLOAD_ALL");
    if (pat && *pat) {
        char *copy = strdup(pat), *save = NULL;
        if (!copy) {
            return -1;
        }
        for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
            glob_t g;
            memset(&g, 0, sizeof(g));
            if (glob(w, 0, NULL, &g) == 0) {
                for (size_t i = 0; i < g.gl_pathc; i++) {
                    struct stat st;
                    if (stat(g.gl_pathv[i], &st) || !S_ISCHR(st.st_mode)) {
                        continue;
                    }
                    if (add_board(m, g.gl_pathv[i])) {
                        globfree(&g);
                        free(copy);
                        return -1;
                    }
                }
            }
            globfree(&g);
        }
        free(copy);
        return 0;
    }
    struct mpu_port_info *p = NULL;
    int n = mpu_serial_list(&p);
    for (int i = 0; i < n; i++) {
        if (p[i].likely && add_board(m, p[i].name)) {
            free(p);
            return -1;
        }
    }
    free(p);
    return 0;
}

/* -------------------------------------------------------------- children */

static volatile sig_atomic_t got_sig;
static void on_sig(int sig) {
    got_sig = sig;
}
static void on_chld(int sig) {
    (void)sig;
}

static const int caught[] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD };

/* Start the child for board b: this binary with -p NAME --json and argv less
 * its -p options, stdin from /dev/null, stdout and stderr into pipes. */
static int spawn(struct board *b, const struct scan *s, int argc, char **argv, const char *self,
    const sigset_t *mask) {
    char **cargv = calloc(argc + 5, sizeof(char *));
    int out[2] = { -1, -1 }, err[2] = { -1, -1 };
    if (!cargv || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
        snprintf(b->detail, sizeof(b->detail), "cannot start: %s", strerror(errno));
        goto fail;
    }
    int k = 0;
    cargv[k++] = argv[0];
    cargv[k++] = "-p";
    cargv[k++] = b->name;
    cargv[k++] = "--json";
    for (int i = 1; i < argc; i++) {
        int d;
        for (d = 0; d < s->ndrop && s->drop[d] != argv[i]; d++) {
        }
        if (d == s->ndrop) {
            cargv[k++] = argv[i];
        } else if (s->keep[d]) {
            cargv[k++] = s->keep[d];
        }
    }
    pid_t parent = getpid();
    b->t0 = mpu_now_ms();
    b->pid = fork();
    if (b->pid < 0) {
        snprintf(b->detail, sizeof(b->detail), "cannot start: %s", strerror(errno));
        goto fail;
    }
    if (b->pid == 0) {
        /* Its own process group: a Ctrl-C on the terminal reaches only us,
         * and we pass it on once. If we die, it is interrupted. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGINT);
        if (getppid() != parent) {
            _exit(MU_INTERRUPTED);
        }
        for (size_t i = 0; i < sizeof(caught) / sizeof(caught[0]); i++) {
            signal(caught[i], SIG_DFL);
        }
        sigprocmask(SIG_SETMASK, mask, NULL);
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) {
            _exit(127);
        }
        if (self[0]) {
            execv(self, cargv);
        }
        execv("/proc/self/exe", cargv);
        execvp(argv[0], cargv);
        fprintf(stderr, "mpupload: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(b->pid, b->pid);
    close(out[1]);
    close(err[1]);
    b->fd[0] = out[0];
    b->fd[1] = err[0];
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    free(cargv);
    return 0;
fail:
    free(cargv);
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0) {
            close(out[i]);
        }
        if (err[i] >= 0) {
            close(err[i]);
        }
    }
    b->pid = -1;
    b->exited = 1;
    b->code = 1;
    b->t0 = b->t1 = mpu_now_ms();
    return -1;
}

/* ------------------------------------------------------------------ view */

static int term_cols(void) {
    struct winsize ws;
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) {
        return ws.ws_col;
    }
    return 80;
}

static int term_rows(void) {
    struct winsize ws;
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) {
        return ws.ws_row;
    }
    return 24;
}

static int board_done(const struct board *b) {
    return b->exited && b->fd[0] < 0 && b->fd[1] < 0;
}

/* What went wrong, for a line and the summary ("" when it went well). */
static const char *board_detail(const struct board *b) {
    if (b->code == 0) {
        return "";
    }
    if (b->detail[0]) {
        return b->detail;
    }
    const char *e = b->last_err;
    return !strncmp(e, "mpupload: ", 10) ? e + 10 : e;
}

static void human_rate(char *buf, size_t n, double bytes_per_s) {
    if (bytes_per_s >= 1e6) {
        snprintf(buf, n, "%.1f MB/s", bytes_per_s / 1e6);
    } else if (bytes_per_s >= 1e3) {
        snprintf(buf, n, "%.1f KB/s", bytes_per_s / 1e3);
    } else {
        snprintf(buf, n, "%.0f B/s", bytes_per_s);
    }
}

static size_t board_bytes(const struct board *b) {
    return b->sent ? b->sent : b->result_bytes;
}

static void status_line(const struct multi *m, const struct board *b, char *line, size_t n) {
    int64_t now = b->exited ? b->t1 : mpu_now_ms();
    double secs = (now - b->t0) / 1000.0;
    if (board_done(b)) {
        if (b->code == 0 && board_bytes(b)) {
            snprintf(line, n, "%-*s  ok      %zu bytes in %.1f s", m->namew, b->name, board_bytes(b), secs);
        } else if (b->code == 0) {
            snprintf(line, n, "%-*s  ok      %.1f s", m->namew, b->name, secs);
        } else {
            snprintf(line, n, "%-*s  %-7s exit %d: %s", m->namew, b->name,
                !strcmp(b->status, "interrupted") ? "stopped" : "FAILED", b->code, board_detail(b));
        }
        return;
    }
    if (b->total == 0 || b->sent >= b->total) {
        snprintf(line, n, "%-*s  %s  %.1f s", m->namew, b->name, b->total ? "running" : "starting", secs);
        return;
    }
    char bar[21], rate[32];
    int fill = (int)(b->sent * 20 / b->total);
    for (int i = 0; i < 20; i++) {
        bar[i] = i < fill ? '#' : '.';
    }
    bar[20] = 0;
    human_rate(rate, sizeof(rate), b->rate);
    snprintf(line, n, "%-*s  [%s] %3d%%  %s", m->namew, b->name, bar, (int)(b->sent * 100 / b->total), rate);
}

/* Take the live block off the terminal (before other output or the end). */
static void view_erase(struct multi *m) {
    if (m->view == VIEW_TTY && m->drawn) {
        fprintf(stderr, "\r\033[%dA\033[J", m->drawn);
        fflush(stderr);
        m->drawn = 0;
        m->dirty = 1;
    }
}

static void view_draw(struct multi *m, int force) {
    int64_t now = mpu_now_ms();
    if (m->view != VIEW_TTY || (!force && (!m->dirty || now - m->last_draw < 100))) {
        return;
    }
    int cols = term_cols();
    char line[512];
    if (m->drawn) {
        fprintf(stderr, "\r\033[%dA", m->drawn);
    }
    for (int i = 0; i < m->n; i++) {
        status_line(m, &m->b[i], line, sizeof(line));
        if ((int)strlen(line) >= cols) {
            line[cols - 1] = 0;
        }
        fprintf(stderr, "\r\033[K%s\n", line);
    }
    fflush(stderr);
    m->drawn = m->n;
    m->dirty = 0;
    m->last_draw = now;
}

/* ---------------------------------------------------------------- output */

/* Program output of board b on stream s (0 stdout, 1 stderr): whole lines,
 * each prefixed with the board's name; the rest waits for its line end. */
static void out_text(struct multi *m, struct board *b, int s, const char *p, size_t n, int flush) {
    if (m->json) {
        return;
    }
    struct linebuf *l = &b->pend[s];
    if (lb_add(l, p, n)) {
        return;
    }
    size_t upto = 0;
    for (size_t i = l->len; i > 0; i--) {
        if (l->buf[i - 1] == '\n') {
            upto = i;
            break;
        }
    }
    if (flush || l->len > 4096) {
        upto = l->len;
    }
    if (upto == 0) {
        return;
    }
    FILE *f = s ? stderr : stdout;
    if (isatty(fileno(f))) {
        view_erase(m);
    }
    for (size_t i = 0; i < upto;) {
        const char *nl = memchr(l->buf + i, '\n', upto - i);
        size_t k = nl ? (size_t)(nl - (l->buf + i)) + 1 : upto - i;
        fprintf(f, "%s: ", b->name);
        fwrite(l->buf + i, 1, k, f);
        if (!nl) {
            fputc('\n', f);
        }
        i += k;
    }
    fflush(f);
    memmove(l->buf, l->buf + upto, l->len - upto);
    l->len -= upto;
}

static void copy_str(char *dst, size_t n, const struct mu_js_member *v) {
    char *tmp = v ? malloc(v->v_end - v->v + 1) : NULL;
    long k = tmp ? mu_js_str(v->v, v->v_end, tmp) : -1;
    if (k < 0) {
        dst[0] = 0;
    } else {
        snprintf(dst, n, "%.*s", (int)k, tmp);
    }
    free(tmp);
}

static double num_of(const struct mu_js_member *v) {
    return v ? strtod(v->v, NULL) : 0;
}

/* --json: the event with "port" (the board's name) after "event". */
static void forward(const struct board *b, const char *line, const struct mu_js_member *mm, int n) {
    fputc('{', stdout);
    int first = 1;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i++) {
            int is_event = mu_js_key_is(&mm[i], "event");
            if ((pass == 0) != is_event || mu_js_key_is(&mm[i], "port")) {
                continue;
            }
            if (!first) {
                fputc(',', stdout);
            }
            first = 0;
            fwrite(mm[i].k, 1, mm[i].v_end - mm[i].k, stdout);
        }
        if (pass == 0) {
            fputs(first ? "\"port\":" : ",\"port\":", stdout);
            mpu_json_cstr(stdout, b->name);
            first = 0;
        }
    }
    fputs("}\n", stdout);
    fflush(stdout);
    (void)line;
}

/* --json: program output that came as plain text (ls, cat) as an event. */
static void forward_text(const struct board *b, const char *p, size_t n) {
    fputs("{\"event\":\"output\",\"port\":", stdout);
    mpu_json_cstr(stdout, b->name);
    fputs(",\"stream\":\"stdout\",\"data\":", stdout);
    mpu_json_str(stdout, p, n);
    fputs("}\n", stdout);
    fflush(stdout);
}

static void on_event(struct multi *m, struct board *b, const char *line, size_t len,
    const struct mu_js_member *mm, int n) {
    const struct mu_js_member *ev = mu_js_get(mm, n, "event");
    char name[32];
    copy_str(name, sizeof(name), ev);
    if (m->json) {
        forward(b, line, mm, n);
    }
    if (!strcmp(name, "progress")) {
        b->sent = (size_t)num_of(mu_js_get(mm, n, "sent"));
        b->total = (size_t)num_of(mu_js_get(mm, n, "total"));
        b->rate = num_of(mu_js_get(mm, n, "rate"));
        m->dirty = 1;
    } else if (!strcmp(name, "output")) {
        const struct mu_js_member *d = mu_js_get(mm, n, "data");
        char stream[16];
        copy_str(stream, sizeof(stream), mu_js_get(mm, n, "stream"));
        char *data = d ? malloc(d->v_end - d->v + 1) : NULL;
        long k = data ? mu_js_str(d->v, d->v_end, data) : -1;
        if (k >= 0) {
            out_text(m, b, !strcmp(stream, "stderr"), data, (size_t)k, 0);
        }
        free(data);
    } else if (!strcmp(name, "result")) {
        b->have_result = 1;
        copy_str(b->status, sizeof(b->status), mu_js_get(mm, n, "status"));
        b->result_bytes = (size_t)num_of(mu_js_get(mm, n, "bytes_sent"));
        copy_str(b->detail, sizeof(b->detail), mu_js_get(mm, n, "error"));
        const struct mu_js_member *x = mu_js_get(mm, n, "exception");
        struct mu_js_member xm[8];
        int xn = x ? mu_js_members(x->v, x->v_end, xm, 8) : -1;
        if (!b->detail[0] && xn > 0) {
            char type[80], msg[200];
            copy_str(type, sizeof(type), mu_js_get(xm, xn, "type"));
            copy_str(msg, sizeof(msg), mu_js_get(xm, xn, "message"));
            snprintf(b->detail, sizeof(b->detail), "%s%s%s", type, msg[0] ? ": " : "", msg);
        }
    } else if (!m->json && !m->quiet) {
        /* An event we have no words for (info): one line per member. */
        for (int i = 0; i < n; i++) {
            if (&mm[i] == ev || mu_js_key_is(&mm[i], "port")) {
                continue;
            }
            char *v = malloc(mm[i].v_end - mm[i].v + 1);
            long k = v ? mu_js_str(mm[i].v, mm[i].v_end, v) : -1;
            struct linebuf t = { 0 };
            lb_add(&t, mm[i].k + 1, mm[i].k_end - mm[i].k - 2);
            lb_add(&t, ": ", 2);
            lb_add(&t, k >= 0 ? v : mm[i].v, k >= 0 ? (size_t)k : (size_t)(mm[i].v_end - mm[i].v));
            lb_add(&t, "\n", 1);
            if (t.buf) {
                out_text(m, b, 0, t.buf, t.len, 0);
            }
            free(t.buf);
            free(v);
        }
    }
    (void)len;
}

/* One line of the child's stdout: an event, or plain program output (ls, cat). */
static void on_stdout_line(struct multi *m, struct board *b, const char *line, size_t len) {
    struct mu_js_member mm[32];
    size_t body = len && line[len - 1] == '\n' ? len - 1 : len;
    int n = body && line[0] == '{' ? mu_js_members(line, line + body, mm, 32) : -1;
    if (n < 0 && body) {
        /* Output without a line end, then an event: "abc{"event":...}". */
        const char *e = NULL;
        for (const char *q = line; (q = memmem(q, line + body - q, "{\"event\":", 9)); q++) {
            e = q;
        }
        if (e && e > line && mu_js_members(e, line + body, mm, 32) >= 0) {
            on_stdout_line(m, b, line, e - line);
            on_stdout_line(m, b, e, line + len - e);
            return;
        }
    }
    if (n >= 0 && mu_js_get(mm, n, "event")) {
        on_event(m, b, line, body, mm, n);
        return;
    }
    if (m->json) {
        forward_text(b, line, len);
    } else {
        out_text(m, b, 0, line, len, 0);
    }
}

static void on_stderr_line(struct board *b, const char *line, size_t len) {
    size_t room = sizeof(b->errtext) - 1 - b->errlen;
    size_t k = len < room ? len : room;
    memcpy(b->errtext + b->errlen, line, k);
    b->errlen += k;
    b->errtext[b->errlen] = 0;
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
        len--;
    }
    if (len) {
        snprintf(b->last_err, sizeof(b->last_err), "%.*s", (int)len, line);
    }
}

/* Read what fd i of board b has; hand over whole lines (all of it at the end). */
static void drain(struct multi *m, struct board *b, int i) {
    char buf[65536];
    ssize_t r = read(b->fd[i], buf, sizeof(buf));
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    struct linebuf *l = &b->in[i];
    if (r > 0) {
        lb_add(l, buf, (size_t)r);
    }
    int eof = r <= 0;
    size_t start = 0;
    for (size_t j = 0; j < l->len; j++) {
        if (l->buf[j] == '\n' || (j + 1 == l->len && (eof || l->len > (1 << 20)))) {
            if (i == 0) {
                on_stdout_line(m, b, l->buf + start, j + 1 - start);
            } else {
                on_stderr_line(b, l->buf + start, j + 1 - start);
            }
            start = j + 1;
        }
    }
    if (l->buf) {
        memmove(l->buf, l->buf + start, l->len - start);
    }
    l->len -= start;
    if (eof) {
        close(b->fd[i]);
        b->fd[i] = -1;
    }
}

/* ------------------------------------------------------------------ main */

static void finish_board(struct multi *m, struct board *b) {
    b->finished = 1;
    out_text(m, b, 0, "", 0, 1);
    out_text(m, b, 1, "", 0, 1);
    if (!b->have_result || !b->status[0]) {
        /* No result event: it did not get as far as a board. */
        snprintf(b->status, sizeof(b->status), "%s", b->code == 0 ? "ok"
            : b->code == MU_INTERRUPTED ? "interrupted" : "error");
    }
    m->dirty = 1;
    /* Usage errors (no result) are left to the summary. */
    if (m->view == VIEW_PLAIN && (b->have_result || b->code != MU_USAGE)) {
        char line[512];
        status_line(m, b, line, sizeof(line));
        fprintf(stderr, "%s\n", line);
        fflush(stderr);
    }
}

static void summary(struct multi *m, int rc, int same_usage, int sig) {
    int failed = 0;
    for (int i = 0; i < m->n; i++) {
        failed += m->b[i].code != 0;
    }
    if (m->json) {
        printf("{\"event\":\"summary\",\"command\":");
        mpu_json_cstr(stdout, m->cmd);
        printf(",\"boards\":%d,\"ok\":%d,\"exit\":%d,\"failed\":[", m->n, m->n - failed, rc);
        for (int i = 0, k = 0; i < m->n; i++) {
            if (m->b[i].code) {
                printf(k++ ? "," : "");
                mpu_json_cstr(stdout, m->b[i].name);
            }
        }
        printf("],\"results\":[");
        for (int i = 0; i < m->n; i++) {
            const struct board *b = &m->b[i];
            printf("%s{\"port\":", i ? "," : "");
            mpu_json_cstr(stdout, b->name);
            printf(",\"status\":");
            mpu_json_cstr(stdout, b->status);
            printf(",\"exit\":%d,\"bytes\":%zu,\"elapsed\":%.3f,\"error\":", b->code, board_bytes(b),
                (b->t1 - b->t0) / 1000.0);
            mpu_json_cstr(stdout, b->code ? board_detail(b) : NULL);
            printf("}");
        }
        printf("]}\n");
        fflush(stdout);
    }
    if (same_usage) {
        fputs(m->b[0].errtext, stderr);
        return;
    }
    if (m->quiet) {
        return;
    }
    if (!m->json) {
        fprintf(stderr, "%-*s  %-11s %4s %9s %8s  %s\n", m->namew, "board", "status", "exit", "bytes",
            "seconds", "error");
        for (int i = 0; i < m->n; i++) {
            const struct board *b = &m->b[i];
            fprintf(stderr, "%-*s  %-11s %4d %9zu %8.2f  %s\n", m->namew, b->name, b->status, b->code,
                board_bytes(b), (b->t1 - b->t0) / 1000.0, board_detail(b));
        }
    }
    if (failed) {
        fprintf(stderr, "mpupload: %s%d of %d boards failed:", sig ? "interrupted; " : "", failed, m->n);
        for (int i = 0; i < m->n; i++) {
            if (m->b[i].code) {
                fprintf(stderr, " %s (exit %d)", m->b[i].name, m->b[i].code);
            }
        }
        fputc('\n', stderr);
    }
    fflush(stderr);
}

/* Refuse what cannot work on several boards at once. @return 0 or an exit status. */
static int refuse(const struct scan *s) {
    const char *c = s->cmd;
    if (!strcmp(c, "repl")) {
        fprintf(stderr, "mpupload: repl works on one board at a time\n");
        return MU_USAGE;
    }
    const char *src = !strcmp(c, "run") || !strcmp(c, "put") || !strcmp(c, "cp") ? s->nargs ? s->args[0] : NULL
        : NULL;
    if (src && (!strcmp(src, "-") || !strcmp(src, "/dev/stdin") || !strncmp(src, "/dev/fd/0", 9)
        || !strcmp(src, "/proc/self/fd/0"))) {
        fprintf(stderr, "mpupload: %s %s reads stdin, which cannot go to several boards; "
            "save it to a file first\n", c, src);
        return MU_USAGE;
    }
    if (!strcmp(c, "get") && !(s->nargs == 2 && !strcmp(s->args[1], "-"))) {
        fprintf(stderr, "mpupload: get from several boards would write one local file over and over; "
            "use cat (each line names its board) or one board at a time\n");
        return MU_USAGE;
    }
    return 0;
}

static int run_all(struct multi *m, const struct scan *s, int argc, char **argv) {
    struct sigaction sa, old[4];
    sigset_t block, outside, inside;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sigemptyset(&block);
    for (int i = 0; i < 4; i++) {
        sa.sa_handler = caught[i] == SIGCHLD ? on_chld : on_sig;
        sigaction(caught[i], &sa, &old[i]);
        sigaddset(&block, caught[i]);
    }
    sigprocmask(SIG_BLOCK, &block, &outside);
    inside = outside;
    for (int i = 0; i < 4; i++) {
        sigdelset(&inside, caught[i]);
    }
    got_sig = 0;

    /* This binary, by its path: under valgrind /proc/self/exe is valgrind. */
    char self[PATH_MAX] = "";
    ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[k > 0 ? k : 0] = 0;
    for (int i = 0; i < m->n; i++) {
        spawn(&m->b[i], s, argc, argv, self, &outside);
    }
    int interrupted = 0;
    struct pollfd *pf = calloc(2 * m->n + 1, sizeof(*pf));
    struct board **who = calloc(2 * m->n + 1, sizeof(*who));
    int *which = calloc(2 * m->n + 1, sizeof(int));
    for (;;) {
        if (got_sig) {
            interrupted = interrupted ? interrupted : got_sig;
            got_sig = 0;
            for (int i = 0; i < m->n; i++) {
                struct board *b = &m->b[i];
                if (b->pid > 0 && !b->exited) {
                    /* A third signal: the child does not listen any more. */
                    kill(b->pid, b->sigs++ < 2 ? SIGINT : SIGKILL);
                }
            }
        }
        int64_t now = mpu_now_ms();
        int left = 0, lingering = 0;
        for (int i = 0; i < m->n; i++) {
            struct board *b = &m->b[i];
            int st;
            if (!b->exited && b->pid > 0 && waitpid(b->pid, &st, WNOHANG) == b->pid) {
                b->exited = 1;
                b->t1 = now;
                b->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            }
            /* Something the child started may hold its pipes after it ended. */
            if (b->exited && !board_done(b) && now - b->t1 > 2000) {
                for (int k = 0; k < 2; k++) {
                    if (b->fd[k] >= 0) {
                        close(b->fd[k]);
                        b->fd[k] = -1;
                    }
                }
            }
            if (b->exited && !board_done(b)) {
                lingering = 1;
            }
            if (!board_done(b)) {
                left++;
            } else if (!b->finished) {
                finish_board(m, b);
            }
        }
        view_draw(m, 0);
        if (!left) {
            break;
        }
        int np = 0;
        for (int i = 0; pf && who && which && i < m->n; i++) {
            for (int k = 0; k < 2; k++) {
                if (m->b[i].fd[k] >= 0) {
                    pf[np] = (struct pollfd) { .fd = m->b[i].fd[k], .events = POLLIN };
                    who[np] = &m->b[i];
                    which[np++] = k;
                }
            }
        }
        struct timespec ts = { 0, 200 * 1000000L };
        int r = ppoll(pf, np, m->view == VIEW_TTY || lingering || np == 0 ? &ts : NULL, &inside);
        for (int i = 0; r > 0 && i < np; i++) {
            if (pf[i].revents) {
                drain(m, who[i], which[i]);
            }
        }
    }
    free(pf);
    free(who);
    free(which);
    sigprocmask(SIG_SETMASK, &outside, NULL);
    for (int i = 0; i < 4; i++) {
        sigaction(caught[i], &old[i], NULL);
    }
    return interrupted;
}

int mpu_multi_main(int argc, char **argv) {
    struct scan s;
    int rc;
    if (scan_argv(argc, argv, &s)) {
        scan_free(&s);
        return -1;
    }
    int all = 0;
    for (int i = 0; i < s.nports; i++) {
        all |= !strcmp(s.ports[i], "all");
    }
    /* -p A -p A is one board too. */
    int distinct = 0;
    for (int i = 0; i < s.nports && distinct < 2; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++) {
            seen |= !strcmp(s.ports[i], s.ports[j]);
        }
        distinct += !seen;
    }
    if ((distinct < 2 && !all) || s.help || !s.cmd || !strcmp(s.cmd, "devs")) {
        scan_free(&s);
        return -1;
    }
    if ((rc = refuse(&s))) {
        scan_free(&s);
        return rc;
    }
    struct multi m;
    memset(&m, 0, sizeof(m));
    m.json = s.json;
    m.quiet = s.quiet;
    m.cmd = s.cmd;
    for (int i = 0; i < s.nports; i++) {
        if (!strcmp(s.ports[i], "all") ? add_all(&m) : add_board(&m, s.ports[i])) {
            fprintf(stderr, "mpupload: out of memory\n");
            rc = 1;
            goto out;
        }
    }
    if (m.n == 0) {
        fprintf(stderr, "mpupload: -p all: no board found%s\n",
            getenv("MPUPLOAD_ALL") && *getenv("MPUPLOAD_ALL") ? " (matching $MPUPLOAD_ALL)"
            : " (see mpupload devs: boards are the ports marked *)");
        rc = MU_NOBOARD;
        goto out;
    }
    for (int i = 0; i < m.n; i++) {
        int w = (int)strlen(m.b[i].name);
        m.namew = w > m.namew ? w : m.namew;
    }
    m.namew = m.namew > 40 ? 40 : m.namew < 5 ? 5 : m.namew;
    m.view = m.quiet || m.json ? VIEW_NONE : isatty(2) && m.n + 2 < term_rows() ? VIEW_TTY : VIEW_PLAIN;

    int sig = run_all(&m, &s, argc, argv);
    view_erase(&m);

    /* The same usage error from every board: say it once, as for one board. */
    int same_usage = 1, failed = 0, code = 0;
    for (int i = 0; i < m.n; i++) {
        const struct board *b = &m.b[i];
        same_usage &= b->code == MU_USAGE && !b->have_result && !strcmp(b->errtext, m.b[0].errtext)
            && b->errlen > 0;
        if (b->code) {
            code = !failed++ || code == b->code ? b->code : MPU_MULTI_EXIT_MIXED;
        }
    }
    rc = sig == SIGINT ? MU_INTERRUPTED : sig ? 128 + sig : code;
    summary(&m, rc, same_usage && !sig, sig);
out:
    for (int i = 0; i < m.n; i++) {
        board_free(&m.b[i]);
    }
    free(m.b);
    scan_free(&s);
    return rc;
}
