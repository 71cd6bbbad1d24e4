/* The engine's io on a real link: poll() on the board and on our stdin, with
 * SIGINT only delivered inside ppoll() so no Ctrl-C is lost between checks. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "serial.h"
#include "session.h"

static volatile sig_atomic_t got_sigint;
static sigset_t run_mask; /* the mask inside ppoll(): SIGINT deliverable */
static int catching;

static void on_sigint(int sig) {
    (void)sig;
    got_sigint = 1;
}

void mpu_session_catch_sigint(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, &run_mask);
    sigdelset(&run_mask, SIGINT);
    catching = 1;
}

int mpu_session_interrupted(void) {
    int r = got_sigint;
    got_sigint = 0;
    return r;
}

int64_t mpu_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t io_now(void *ctx) {
    (void)ctx;
    return mpu_now_ms();
}

/* Pass what the user types to the running program; \n becomes \r\n because
 * MicroPython's input() ends a line at \r. */
static int forward_stdin(struct mpu_session *s) {
    uint8_t in[512], out[1024];
    ssize_t n = read(0, in, sizeof(in));
    if (n <= 0) {
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            s->stdin_eof = 1;
        }
        return MPU_OK;
    }
    size_t o = 0;
    for (ssize_t i = 0; i < n; i++) {
        if (in[i] == '\n') {
            out[o++] = '\r';
        }
        out[o++] = in[i];
    }
    return mpu_link_write(s->link, out, o);
}

static int io_read(void *ctx, uint8_t *buf, size_t n, int64_t deadline, int flags) {
    struct mpu_session *s = ctx;
    for (;;) {
        if (got_sigint) {
            got_sigint = 0;
            return MPU_ERR_INTR;
        }
        int r = mpu_link_read(s->link, buf, n, 0);
        if (r != 0) {
            return r;
        }
        int64_t now = mpu_now_ms();
        if (deadline >= 0 && deadline <= now) {
            return 0;
        }
        struct pollfd p[2] = {
            { .fd = mpu_link_fd(s->link), .events = POLLIN },
            { .fd = 0, .events = POLLIN },
        };
        int np = (flags & MPU_IO_RUNNING) && s->forward_stdin && !s->stdin_eof ? 2 : 1;
        struct timespec ts, *tsp = NULL;
        if (deadline >= 0) {
            int64_t ms = deadline - now;
            ts.tv_sec = ms / 1000;
            ts.tv_nsec = (ms % 1000) * 1000000;
            tsp = &ts;
        }
        int pr = ppoll(p, (nfds_t)np, tsp, catching ? &run_mask : NULL);
        if (pr < 0 && errno != EINTR) {
            return MPU_ERR_LINK;
        }
        if (pr > 0 && np == 2 && (p[1].revents & (POLLIN | POLLHUP))) {
            r = forward_stdin(s);
            if (r < 0) {
                return r;
            }
        }
        if (pr > 0 && (p[0].revents & (POLLHUP | POLLERR)) && !(p[0].revents & POLLIN)) {
            /* Let the read report it with its reason. */
            return mpu_link_read(s->link, buf, n, 0) ?: MPU_ERR_LINK;
        }
    }
}

static int io_write(void *ctx, const uint8_t *buf, size_t n) {
    struct mpu_session *s = ctx;
    return mpu_link_write(s->link, buf, n);
}

static int candidates(char *out, size_t len, const struct mpu_port_info *p, int n, int likely_only) {
    size_t o = 0;
    int k = 0;
    out[0] = 0;
    for (int i = 0; i < n && o + 2 < len; i++) {
        if (likely_only && !p[i].likely) {
            continue;
        }
        o += (size_t)snprintf(out + o, len - o, "%s%s", k++ ? ", " : "", p[i].name);
    }
    return k;
}

int mpu_session_open(struct mpu_session *s, const char *port, const struct mpu_link_opts *lo,
    const struct mpu_sink *sink, const struct mpu_engine_opts *eo, char *detail, size_t detail_len) {
    s->port[0] = 0;
    s->link = NULL;
    s->stdin_eof = 0;
    char err[300] = "";
    if (!port || !strcmp(port, "auto")) {
        struct mpu_port_info *ports = NULL;
        int n = mpu_serial_list(&ports);
        char list[600];
        int k = n > 0 ? candidates(list, sizeof(list), ports, n, 1) : 0;
        if (k != 1) {
            if (k > 1) {
                snprintf(detail, detail_len, "several boards found; choose one with -p: %s", list);
            } else {
                int all = n > 0 ? candidates(list, sizeof(list), ports, n, 0) : 0;
                snprintf(detail, detail_len, "no MicroPython board found%s%s%s", all ? " (serial ports: " : "",
                    all ? list : "", all ? "); name one with -p" : "; name the port with -p");
            }
            free(ports);
            return MPU_ERR_NOBOARD;
        }
        for (int i = 0; i < n; i++) {
            if (ports[i].likely) {
                snprintf(s->port, sizeof(s->port), "%s", ports[i].name);
            }
        }
        free(ports);
    } else {
        snprintf(s->port, sizeof(s->port), "%s", port);
    }
    int r = mpu_link_open(s->port, lo, &s->link, err, sizeof(err));
    if (r == MPU_ERR_NOBOARD) {
        struct mpu_port_info *ports = NULL;
        int n = mpu_serial_list(&ports);
        char list[600] = "";
        int k = n > 0 ? candidates(list, sizeof(list), ports, n, 0) : 0;
        snprintf(detail, detail_len, "%s; %s%s", err, k ? "serial ports here: " : "no serial ports found",
            list);
        free(ports);
        return r;
    }
    if (r != MPU_OK) {
        snprintf(detail, detail_len, "%s", err);
        return r;
    }
    struct mpu_io io = { s, io_read, io_write, io_now };
    mpu_engine_init(&s->eng, &io, sink, NULL);
    if (eo) {
        s->eng.o = *eo;
    }
    return MPU_OK;
}

void mpu_session_close(struct mpu_session *s) {
    if (s->link && s->eng.in_raw) {
        mpu_engine_leave(&s->eng);
    }
    mpu_link_close(s->link);
    s->link = NULL;
}
