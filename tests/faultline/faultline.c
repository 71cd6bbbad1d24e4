/* faultline: a faulty serial line between a host and a board's pty.
 *
 * Opens a pty for the host (NEW_LINK points to its slave), opens the board's
 * pty, and forwards bytes both ways, dropping, flipping, duplicating and
 * stalling bytes from a seeded PRNG, and cutting the line after N bytes.
 * Each direction has its own PRNG advanced a fixed number of times per byte,
 * so the same seed gives the same faults for the same byte stream, whatever
 * the timing. At exit (cut, board gone, SIGTERM/SIGINT/SIGHUP) it writes a
 * report of key=value lines to --log or stderr.
 *
 * Exit status: 0 done (cut, signal, board gone), 1 system error, 2 usage. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum { UP, DOWN }; /* UP: host to board, DOWN: board to host */

struct dir {
    const char *name;
    int faulty;          /* faults apply in this direction */
    uint64_t rng;
    uint8_t buf[4096];   /* read but not yet forwarded (a stall holds it) */
    size_t head, len;
    uint8_t ob[8192];    /* to write: a reader that lags holds it, not loses it */
    size_t ohead, olen;
    int64_t stall_until; /* ms, CLOCK_MONOTONIC */
    int drawn;           /* the head byte's draws are made (it waited out a stall) */
    double r_drop, r_flip;
    uint64_t r_bits;
    uint64_t in, out, drops, flips, dups, stalls, lost;
};

static double rate_drop, rate_flip, rate_dup, rate_stall;
static long stall_ms;
static long long cut_after = -1;
static uint64_t counted; /* bytes seen in the faulty directions, for --cut-after */
static int cut;
static const char *log_path;
static const char *host_link;
static uint64_t seed = 1;
static int sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t got_signal;

static void on_signal(int sig) {
    int saved = errno;
    got_signal = sig;
    if (write(sig_pipe[1], "s", 1) < 0) {
        /* the pipe is full: a wake-up is pending anyway */
    }
    errno = saved;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* splitmix64: small, good enough, and the same everywhere. */
static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A uniform double in [0, 1). */
static double rng_unit(uint64_t *s) {
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

static void usage_error(const char *flag, const char *why) {
    fprintf(stderr, "faultline: %s: %s\n", flag, why);
    fprintf(stderr, "usage: faultline --board LINK --pty NEW_LINK [--seed N] [--drop RATE] [--flip RATE]\n"
        "       [--dup RATE] [--stall RATE:MS] [--cut-after N] [--dir up|down|both] [--log FILE]\n");
    exit(2);
}

static double parse_rate(const char *flag, const char *s, char **end) {
    errno = 0;
    double r = strtod(s, end);
    if (errno != 0 || *end == s || !(r >= 0.0 && r <= 1.0)) {
        usage_error(flag, "want a rate from 0 to 1");
    }
    return r;
}

static double parse_rate_only(const char *flag, const char *s) {
    char *end;
    double r = parse_rate(flag, s, &end);
    if (*end != '\0') {
        usage_error(flag, "want a rate from 0 to 1");
    }
    return r;
}

static unsigned long long parse_count(const char *flag, const char *s) {
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9') {
        usage_error(flag, "want a non-negative integer");
    }
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || *end != '\0') {
        usage_error(flag, "want a non-negative integer");
    }
    return v;
}

static void set_raw(int fd) {
    struct termios tio;
    if (tcgetattr(fd, &tio) == 0) {
        cfmakeraw(&tio);
        tcsetattr(fd, TCSANOW, &tio);
    }
}

static void set_nonblock(int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* The host's pty. We keep its slave open ourselves, so the master never hangs
 * up while the host has it closed: the host may close and reopen at will. */
static int open_host_pty(const char *link, int *slave_fd) {
    int fd = posix_openpt(O_RDWR | O_NOCTTY);
    if (fd < 0 || grantpt(fd) != 0 || unlockpt(fd) != 0) {
        fprintf(stderr, "faultline: cannot open a pty: %s\n", strerror(errno));
        exit(1);
    }
    const char *slave = ptsname(fd);
    int sfd = slave == NULL ? -1 : open(slave, O_RDWR | O_NOCTTY);
    if (sfd < 0) {
        fprintf(stderr, "faultline: cannot open the pty's slave: %s\n", strerror(errno));
        exit(1);
    }
    set_raw(sfd);
    set_nonblock(fd);
    set_nonblock(sfd);
    unlink(link);
    if (symlink(slave, link) != 0) {
        fprintf(stderr, "faultline: --pty %s: cannot create the link: %s\n", link, strerror(errno));
        exit(1);
    }
    *slave_fd = sfd;
    return fd;
}

static void report(const struct dir *d) {
    FILE *f = stderr;
    if (log_path != NULL) {
        f = fopen(log_path, "w");
        if (f == NULL) {
            fprintf(stderr, "faultline: --log %s: %s\n", log_path, strerror(errno));
            f = stderr;
        }
    }
    fprintf(f, "seed=%" PRIu64 "\n", seed);
    for (int i = 0; i < 2; i++) {
        fprintf(f, "%s_in=%" PRIu64 "\n%s_out=%" PRIu64 "\n", d[i].name, d[i].in, d[i].name, d[i].out);
        fprintf(f, "%s_drops=%" PRIu64 "\n%s_flips=%" PRIu64 "\n", d[i].name, d[i].drops, d[i].name, d[i].flips);
        fprintf(f, "%s_dups=%" PRIu64 "\n%s_stalls=%" PRIu64 "\n", d[i].name, d[i].dups, d[i].name, d[i].stalls);
        fprintf(f, "%s_lost=%" PRIu64 "\n", d[i].name, d[i].lost);
    }
    fprintf(f, "faults=%" PRIu64 "\n", d[0].drops + d[0].flips + d[0].dups + d[0].stalls
        + d[1].drops + d[1].flips + d[1].dups + d[1].stalls);
    fprintf(f, "cut=%d\n", cut);
    fprintf(f, "signal=%d\n", (int)got_signal);
    if (f != stderr) {
        fclose(f);
    }
}

/* Write what d->ob holds to dst; @return 1 when all of it went. What the
 * destination does not take yet waits for POLLOUT (back-pressure, as a pty
 * gives); a destination that fails (gone) loses it, counted. */
static int flush(struct dir *d, int dst) {
    while (d->olen > 0) {
        ssize_t n = write(dst, d->ob + d->ohead, d->olen);
        if (n > 0) {
            d->ohead += (size_t)n;
            d->olen -= (size_t)n;
            d->out += (uint64_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && errno == EAGAIN) {
            return 0;
        } else {
            d->lost += d->olen;
            d->olen = 0;
        }
    }
    d->ohead = 0;
    return 1;
}

static void emit(struct dir *d, uint8_t b) {
    d->ob[d->ohead + d->olen++] = b;
}

/* Forward what d holds to dst, applying the faults, until a stall or a cut. */
static void pump(struct dir *d, int dst) {
    if (!flush(d, dst)) {
        return;
    }
    while (d->len > 0 && !cut) {
        if (d->stall_until > now_ms()) {
            break;
        }
        uint8_t b = d->buf[d->head];
        if (d->faulty) {
            if (cut_after >= 0 && counted >= (unsigned long long)cut_after) {
                cut = 1; /* --cut-after 0 */
                break;
            }
            /* Four draws per byte whatever the rates: reproducible streams. */
            if (!d->drawn) {
                double r_stall = rng_unit(&d->rng);
                d->r_drop = rng_unit(&d->rng);
                d->r_flip = rng_unit(&d->rng);
                d->r_bits = rng_next(&d->rng);
                if (r_stall < rate_stall) {
                    d->stalls++;
                    d->drawn = 1;
                    d->stall_until = now_ms() + stall_ms;
                    break; /* this byte goes after the stall, with these draws */
                }
            }
            d->drawn = 0;
            counted++;
            d->head++;
            d->len--;
            if (d->r_drop < rate_drop) {
                d->drops++;
            } else {
                if (d->r_flip < rate_flip) {
                    d->flips++;
                    b ^= (uint8_t)(1u << (d->r_bits & 7));
                }
                emit(d, b);
                if ((double)(d->r_bits >> 11) * (1.0 / 9007199254740992.0) < rate_dup) {
                    d->dups++;
                    emit(d, b);
                }
            }
            if (cut_after >= 0 && counted >= (unsigned long long)cut_after) {
                cut = 1; /* exactly N bytes passed */
            }
        } else {
            d->head++;
            d->len--;
            emit(d, b);
        }
    }
    if (d->len == 0) {
        d->head = 0;
    }
    flush(d, dst);
}

int main(int argc, char **argv) {
    const char *board_link = NULL;
    int dir_mask = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            printf("usage: faultline --board LINK --pty NEW_LINK [--seed N] [--drop RATE] [--flip RATE]\n"
                "       [--dup RATE] [--stall RATE:MS] [--cut-after N] [--dir up|down|both] [--log FILE]\n");
            return 0;
        }
        if (a[0] != '-' || a[1] != '-') {
            usage_error(a, "unknown argument");
        }
        if (i + 1 >= argc) {
            usage_error(a, "missing value");
        }
        const char *v = argv[++i];
        if (strcmp(a, "--board") == 0) {
            board_link = v;
        } else if (strcmp(a, "--pty") == 0) {
            host_link = v;
        } else if (strcmp(a, "--seed") == 0) {
            seed = parse_count(a, v);
        } else if (strcmp(a, "--drop") == 0) {
            rate_drop = parse_rate_only(a, v);
        } else if (strcmp(a, "--flip") == 0) {
            rate_flip = parse_rate_only(a, v);
        } else if (strcmp(a, "--dup") == 0) {
            rate_dup = parse_rate_only(a, v);
        } else if (strcmp(a, "--stall") == 0) {
            char *end;
            rate_stall = parse_rate(a, v, &end);
            if (*end != ':' || end[1] < '0' || end[1] > '9') {
                usage_error(a, "want RATE:MS");
            }
            char *end2;
            errno = 0;
            stall_ms = strtol(end + 1, &end2, 10);
            if (errno != 0 || *end2 != '\0' || stall_ms > 600000) {
                usage_error(a, "want RATE:MS, MS up to 600000");
            }
        } else if (strcmp(a, "--cut-after") == 0) {
            cut_after = (long long)parse_count(a, v);
        } else if (strcmp(a, "--dir") == 0) {
            if (strcmp(v, "up") == 0) {
                dir_mask = 1;
            } else if (strcmp(v, "down") == 0) {
                dir_mask = 2;
            } else if (strcmp(v, "both") == 0) {
                dir_mask = 3;
            } else {
                usage_error(a, "want up, down or both");
            }
        } else if (strcmp(a, "--log") == 0) {
            log_path = v;
        } else {
            usage_error(a, "unknown option");
        }
    }
    if (board_link == NULL) {
        usage_error("--board", "required");
    }
    if (host_link == NULL) {
        usage_error("--pty", "required");
    }

    if (pipe(sig_pipe) != 0) {
        fprintf(stderr, "faultline: pipe: %s\n", strerror(errno));
        return 1;
    }
    set_nonblock(sig_pipe[0]);
    set_nonblock(sig_pipe[1]);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int board = open(board_link, O_RDWR | O_NOCTTY);
    if (board < 0) {
        fprintf(stderr, "faultline: --board %s: %s\n", board_link, strerror(errno));
        return 1;
    }
    set_raw(board);
    set_nonblock(board);
    int host_slave;
    int host = open_host_pty(host_link, &host_slave);

    static struct dir d[2];
    d[UP].name = "up";
    d[DOWN].name = "down";
    d[UP].faulty = dir_mask & 1;
    d[DOWN].faulty = (dir_mask & 2) != 0;
    d[UP].rng = seed ^ 0x7570757075707570ull;
    d[DOWN].rng = seed ^ 0x646f776e646f776eull;
    int src[2] = { host, board }, dst[2] = { board, host };

    int status = 0;
    /* After a cut, what already passed is still delivered, then both close. */
    while (!(cut && d[UP].olen == 0 && d[DOWN].olen == 0) && !got_signal) {
        struct pollfd p[5];
        int timeout = -1;
        int64_t t = now_ms();
        for (int i = 0; i < 2; i++) {
            p[i].fd = src[i];
            /* Read a direction only once its bytes are forwarded. */
            p[i].events = d[i].len == 0 && d[i].olen == 0 && !cut ? POLLIN : 0;
            p[i].revents = 0;
            p[2 + i].fd = dst[i];
            p[2 + i].events = d[i].olen > 0 ? POLLOUT : 0;
            p[2 + i].revents = 0;
            if (d[i].len > 0 && d[i].olen == 0 && d[i].stall_until > t) {
                int64_t w = d[i].stall_until - t;
                if (timeout < 0 || w < timeout) {
                    timeout = (int)w;
                }
            }
        }
        p[4].fd = sig_pipe[0];
        p[4].events = POLLIN;
        p[4].revents = 0;
        if (poll(p, 5, timeout) < 0) {
            if (errno == EINTR) {
                continue;
            }
            fprintf(stderr, "faultline: poll: %s\n", strerror(errno));
            status = 1;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t n = read(src[i], d[i].buf, sizeof(d[i].buf));
                if (n > 0) {
                    d[i].head = 0;
                    d[i].len = (size_t)n;
                    d[i].in += (uint64_t)n;
                } else if (i == DOWN && (n == 0 || (errno != EAGAIN && errno != EINTR))) {
                    /* The board went away: nothing left to do. */
                    got_signal = -1;
                }
            }
            pump(&d[i], dst[i]);
        }
    }
    if (got_signal == -1) {
        got_signal = 0;
    }
    unlink(host_link);
    close(host);
    close(host_slave);
    close(board);
    report(d);
    return status;
}
