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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "multi.h"
#include "multi_int.h"
#include "serial.h"
#include "session.h"

/* ------------------------------------------------------------------ argv */

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
static int scan_argv(int argc, char **argv, const struct option *longopts, const char *shortopts,
    struct scan *s) {
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
    int ch, li = -1;
    while ((ch = getopt_long(argc, s->copy, shortopts, longopts, &li)) != -1) {
        /* Long options are known by name: their values are main.c's business. */
        const char *name = li >= 0 ? longopts[li].name : "";
        li = -1;
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
        } else if (!strcmp(name, "json")) {
            s->json = 1;
        } else if (ch == 'q') {
            s->quiet = 1;
        } else if (ch == 'h' || !strcmp(name, "version")) {
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

static void board_free(struct mu_board *b) {
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
static int add_board(struct mu_multi *m, const char *name) {
    char ra[PATH_MAX], rb[PATH_MAX];
    const char *ka = realpath(name, ra) ? ra : name;
    for (int i = 0; i < m->n; i++) {
        const char *kb = realpath(m->b[i].name, rb) ? rb : m->b[i].name;
        if (!strcmp(ka, kb)) {
            return 0;
        }
    }
    struct mu_board *nb = realloc(m->b, (m->n + 1) * sizeof(*nb));
    if (!nb) {
        return -1;
    }
    m->b = nb;
    struct mu_board *b = &m->b[m->n];
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
static int add_all(struct mu_multi *m) {
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
static int spawn(struct mu_board *b, const struct scan *s, int argc, char **argv, const char *self,
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

static void drain(struct mu_multi *m, struct mu_board *b, int i) {
    char buf[65536];
    ssize_t r = read(b->fd[i], buf, sizeof(buf));
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    struct mu_linebuf *l = &b->in[i];
    if (r > 0) {
        mu_lb_add(l, buf, (size_t)r);
    }
    int eof = r <= 0;
    size_t start = 0;
    for (size_t j = 0; j < l->len; j++) {
        if (l->buf[j] == '\n' || (j + 1 == l->len && (eof || l->len > (1 << 20)))) {
            if (i == 0) {
                mu_on_stdout_line(m, b, l->buf + start, j + 1 - start);
            } else {
                mu_on_stderr_line(b, l->buf + start, j + 1 - start);
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

static int run_all(struct mu_multi *m, const struct scan *s, int argc, char **argv) {
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
    struct mu_board **who = calloc(2 * m->n + 1, sizeof(*who));
    int *which = calloc(2 * m->n + 1, sizeof(int));
    for (;;) {
        if (got_sig) {
            interrupted = interrupted ? interrupted : got_sig;
            got_sig = 0;
            for (int i = 0; i < m->n; i++) {
                struct mu_board *b = &m->b[i];
                if (b->pid > 0 && !b->exited) {
                    /* A third signal: the child does not listen any more. */
                    kill(b->pid, b->sigs++ < 2 ? SIGINT : SIGKILL);
                }
            }
        }
        int64_t now = mpu_now_ms();
        int left = 0, lingering = 0;
        for (int i = 0; i < m->n; i++) {
            struct mu_board *b = &m->b[i];
            int st;
            if (!b->exited && b->pid > 0 && waitpid(b->pid, &st, WNOHANG) == b->pid) {
                b->exited = 1;
                b->t1 = now;
                b->code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            }
            /* Something the child started may hold its pipes after it ended. */
            if (b->exited && !mu_board_done(b) && now - b->t1 > 2000) {
                for (int k = 0; k < 2; k++) {
                    if (b->fd[k] >= 0) {
                        close(b->fd[k]);
                        b->fd[k] = -1;
                    }
                }
            }
            if (b->exited && !mu_board_done(b)) {
                lingering = 1;
            }
            if (!mu_board_done(b)) {
                left++;
            } else if (!b->finished) {
                mu_finish_board(m, b);
            }
        }
        mu_view_draw(m, 0);
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
        int r = ppoll(pf, np, m->view == MU_VIEW_TTY || lingering || np == 0 ? &ts : NULL, &inside);
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

int mpu_multi_main(int argc, char **argv, const struct option *longopts, const char *shortopts) {
    struct scan s;
    int rc;
    if (scan_argv(argc, argv, longopts, shortopts, &s)) {
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
    struct mu_multi m;
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
    m.view = m.quiet || m.json ? MU_VIEW_NONE : isatty(2) && m.n + 2 < mu_term_rows() ? MU_VIEW_TTY : MU_VIEW_PLAIN;

    int sig = run_all(&m, &s, argc, argv);
    mu_view_erase(&m);

    /* The same usage error from every board: say it once, as for one board. */
    int same_usage = 1, failed = 0, code = 0;
    for (int i = 0; i < m.n; i++) {
        const struct mu_board *b = &m.b[i];
        same_usage &= b->code == MU_USAGE && !b->have_result && !strcmp(b->errtext, m.b[0].errtext)
            && b->errlen > 0;
        if (b->code) {
            code = !failed++ || code == b->code ? b->code : MPU_MULTI_EXIT_MIXED;
        }
    }
    rc = sig == SIGINT ? MU_INTERRUPTED : sig ? 128 + sig : code;
    mu_summary(&m, rc, same_usage && !sig, sig);
out:
    for (int i = 0; i < m.n; i++) {
        board_free(&m.b[i]);
    }
    free(m.b);
    scan_free(&s);
    return rc;
}
