/* Links: serial ports (libserialport, or termios for ptys), exec:CMD, tcp:HOST:PORT. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "link.h"
#include "serial.h"

enum link_kind { LINK_SERIAL, LINK_TTY, LINK_EXEC, LINK_TCP };

struct mpu_link {
    enum link_kind kind;
    int fd;
    void *sp;    /* libserialport handle for LINK_SERIAL */
    pid_t child; /* for LINK_EXEC */
    char errmsg[160];
};

static int set_err(struct mpu_link *l, const char *what) {
    snprintf(l->errmsg, sizeof(l->errmsg), "%s: %s", what, strerror(errno));
    return MPU_ERR_LINK;
}

static speed_t baud_const(int baud) {
    switch (baud) {
    case 1200: return B1200;
    case 2400: return B2400;
    case 4800: return B4800;
    case 9600: return B9600;
    case 19200: return B19200;
    case 38400: return B38400;
    case 57600: return B57600;
    case 115200: return B115200;
    case 230400: return B230400;
    case 460800: return B460800;
    case 500000: return B500000;
    case 921600: return B921600;
    case 1000000: return B1000000;
    case 2000000: return B2000000;
    case 3000000: return B3000000;
    default: return B0;
    }
}

static void set_modem_line(int fd, int bit, int on) {
    if (on >= 0) {
        ioctl(fd, on ? TIOCMBIS : TIOCMBIC, &bit);
    }
}

/* Character devices libserialport refuses (ptys, symlinks): plain termios. */
static int open_tty(const char *path, const struct mpu_link_opts *o, int *fdp,
    char *err, size_t err_len) {
    int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? MPU_ERR_NOBOARD : MPU_ERR_LINK;
    }
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        t.c_cflag |= CLOCAL | CREAD;
        t.c_cflag &= ~(CRTSCTS | HUPCL);
        t.c_cc[VMIN] = 0;
        t.c_cc[VTIME] = 0;
        speed_t s = baud_const(o->baud);
        if (s != B0) {
            cfsetispeed(&t, s);
            cfsetospeed(&t, s);
        }
        tcsetattr(fd, TCSANOW, &t);
    }
    set_modem_line(fd, TIOCM_DTR, o->dtr);
    set_modem_line(fd, TIOCM_RTS, o->rts);
    *fdp = fd;
    return MPU_OK;
}

static int open_exec(struct mpu_link *l, const char *cmd, char *err, size_t err_len) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(err, err_len, "socketpair: %s", strerror(errno));
        return MPU_ERR_LINK;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, err_len, "fork: %s", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        return MPU_ERR_LINK;
    }
    if (pid == 0) {
        dup2(sv[1], 0);
        dup2(sv[1], 1);
        signal(SIGINT, SIG_IGN); /* Ctrl-C is for us; we pass it on as \x03 */
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(sv[1]);
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    l->fd = sv[0];
    l->child = pid;
    return MPU_OK;
}

static int open_tcp(struct mpu_link *l, const char *hostport, char *err, size_t err_len) {
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof(host) || !colon[1]) {
        snprintf(err, err_len, "tcp:%s: expected tcp:HOST:PORT", hostport);
        return MPU_ERR_ARG;
    }
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = 0;
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    int r = getaddrinfo(host, colon + 1, &hints, &res);
    if (r != 0) {
        snprintf(err, err_len, "tcp:%s: %s", hostport, gai_strerror(r));
        return MPU_ERR_NOBOARD;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            continue;
        }
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
            break;
        }
        snprintf(err, err_len, "tcp:%s: %s", hostport, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        return MPU_ERR_NOBOARD;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    l->fd = fd;
    return MPU_OK;
}

int mpu_link_open(const char *spec, const struct mpu_link_opts *opts,
    struct mpu_link **out, char *err, size_t err_len) {
    *out = NULL;
    struct mpu_link *l = calloc(1, sizeof(*l));
    if (!l) {
        return MPU_ERR_MEM;
    }
    l->fd = -1;
    int r;
    if (strncmp(spec, "exec:", 5) == 0) {
        l->kind = LINK_EXEC;
        r = open_exec(l, spec + 5, err, err_len);
    } else if (strncmp(spec, "tcp:", 4) == 0) {
        l->kind = LINK_TCP;
        r = open_tcp(l, spec + 4, err, err_len);
    } else {
        struct stat st;
        if (stat(spec, &st) != 0) {
            snprintf(err, err_len, "%s: %s", spec, strerror(errno));
            free(l);
            return MPU_ERR_NOBOARD;
        }
        if (!S_ISCHR(st.st_mode)) {
            snprintf(err, err_len, "%s: not a character device", spec);
            free(l);
            return MPU_ERR_NOBOARD;
        }
        l->kind = LINK_SERIAL;
        r = mpu_serial_open(spec, opts->baud, opts->dtr, opts->rts, &l->fd, &l->sp, err, err_len);
        if (r == MPU_ERR_ARG) {
            l->kind = LINK_TTY;
            r = open_tty(spec, opts, &l->fd, err, err_len);
        }
    }
    if (r != MPU_OK) {
        free(l);
        return r;
    }
    *out = l;
    return MPU_OK;
}

void mpu_link_close(struct mpu_link *l) {
    if (!l) {
        return;
    }
    if (l->kind == LINK_SERIAL) {
        mpu_serial_close(l->sp);
    } else if (l->fd >= 0) {
        close(l->fd);
    }
    if (l->child > 0) {
        /* Closing its stdin ends a well-behaved board; give it a moment, then insist. */
        for (int i = 0; i < 50; i++) {
            if (waitpid(l->child, NULL, WNOHANG) != 0) {
                l->child = 0;
                break;
            }
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
        if (l->child > 0) {
            kill(l->child, SIGTERM);
            waitpid(l->child, NULL, 0);
        }
    }
    free(l);
}

int mpu_link_fd(const struct mpu_link *l) {
    return l->fd;
}

int mpu_link_read(struct mpu_link *l, uint8_t *buf, size_t n, int timeout_ms) {
    /* A tty in raw mode with VMIN = VTIME = 0 reads 0 bytes when there are none
     * (and when hung up); elsewhere 0 means the other side closed. */
    int tty = l->kind == LINK_SERIAL || l->kind == LINK_TTY;
    int hup = 0;
    for (int polled = 0;; polled = 1) {
        ssize_t r = read(l->fd, buf, n);
        if (r > 0) {
            return (int)r;
        }
        if ((r == 0 && (!tty || hup)) || (r < 0 && errno == EIO)) {
            snprintf(l->errmsg, sizeof(l->errmsg), "the board closed the link");
            return MPU_ERR_LINK;
        }
        if (r < 0 && errno != EAGAIN && errno != EINTR) {
            return set_err(l, "read");
        }
        if (polled) {
            return 0;
        }
        struct pollfd p = { .fd = l->fd, .events = POLLIN };
        int pr = poll(&p, 1, timeout_ms);
        if (pr == 0 || (pr < 0 && errno == EINTR)) {
            return 0;
        }
        if (pr < 0) {
            return set_err(l, "poll");
        }
        hup = (p.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0;
    }
}

int mpu_link_write(struct mpu_link *l, const uint8_t *buf, size_t n) {
    while (n > 0) {
        ssize_t w = write(l->fd, buf, n);
        if (w > 0) {
            buf += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            return set_err(l, "write");
        }
        struct pollfd p = { .fd = l->fd, .events = POLLOUT };
        /* A board that stops reading for 10 s is gone, not slow. */
        int pr = poll(&p, 1, 10000);
        if (pr == 0) {
            snprintf(l->errmsg, sizeof(l->errmsg), "write: the board stopped reading for 10 s");
            return MPU_ERR_LINK;
        }
        if (pr > 0 && (p.revents & (POLLHUP | POLLERR))) {
            snprintf(l->errmsg, sizeof(l->errmsg), "write: the board closed the link");
            return MPU_ERR_LINK;
        }
    }
    return MPU_OK;
}

const char *mpu_link_last_error(const struct mpu_link *l) {
    return l->errmsg;
}
