// The UART model. A reader thread plays the UART's RX interrupt: it takes
// bytes off the line (the pty master, or stdin) at most at the line's byte
// rate and pushes them into a fixed ring. When the ring is full the byte
// is dropped and counted, as on hardware that overflows. The interrupt
// char is acted on by the "ISR" and never queued, as stm32's UART IRQ does.
// Only a mutex and a condition variable are shared with the MicroPython
// thread, which runs on the main thread alone.

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "py/runtime.h"
#include "shared/runtime/interrupt_char.h"
#include "stats.h"
#include "uart.h"

// Largest read from the line in one go; paced reads take fewer bytes so
// that little sits outside the ring "on the wire".
#define UART_READ_MAX (4096)
#define UART_READ_PACED (16)
// How often the reader thread looks at its flags when the line is idle.
#define UART_IDLE_MS (50)

static int uart_fd_in = -1;
static int uart_fd_out = -1;
static bool uart_is_pty;
static bool uart_stdin_raw;
static struct termios uart_stdin_saved;
static char *uart_link;

static pthread_mutex_t uart_lock;
static pthread_cond_t uart_cond;
static pthread_t uart_thread;
static void (*uart_poll_cb)(void);

static uint8_t *uart_ring;
static size_t uart_ring_size;
static size_t uart_ring_head; // next byte to pop
static size_t uart_ring_count;
static bool uart_event; // something the MicroPython thread should look at
static bool uart_eof;

static uint64_t uart_period_ns; // time of one byte on the line, 0 = unpaced
static bool uart_flow; // full ring: leave bytes on the line (USB-CDC), don't drop
static pthread_cond_t uart_room_cond; // flow: the ring has room again
static uint64_t uart_tx_next_ns;

static uint64_t uart_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void uart_sleep_until(uint64_t t_ns) {
    struct timespec ts = { .tv_sec = t_ns / 1000000000ull, .tv_nsec = t_ns % 1000000000ull };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void uart_sleep_ms(int ms) {
    uart_sleep_until(uart_now_ns() + (uint64_t)ms * 1000000ull);
}

bool uart_open_pty(const char *link) {
    int fd = posix_openpt(O_RDWR | O_NOCTTY);
    if (fd < 0 || grantpt(fd) != 0 || unlockpt(fd) != 0) {
        fprintf(stderr, "sim-board: cannot open a pty: %s\n", strerror(errno));
        return false;
    }
    const char *slave = ptsname(fd);
    // The line discipline belongs to the slave: make it a raw 8-bit line.
    int sfd = slave == NULL ? -1 : open(slave, O_RDWR | O_NOCTTY);
    struct termios tio;
    if (sfd < 0 || tcgetattr(sfd, &tio) != 0) {
        fprintf(stderr, "sim-board: cannot set up the pty: %s\n", strerror(errno));
        return false;
    }
    cfmakeraw(&tio);
    tcsetattr(sfd, TCSANOW, &tio);
    close(sfd);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);

    unlink(link);
    if (symlink(slave, link) != 0) {
        fprintf(stderr, "sim-board: --pty %s: cannot create the link: %s\n", link, strerror(errno));
        return false;
    }
    uart_link = strdup(link);
    uart_fd_in = uart_fd_out = fd;
    uart_is_pty = true;
    return true;
}

bool uart_open_stdio(void) {
    uart_fd_in = 0;
    uart_fd_out = 1;
    if (isatty(0) && tcgetattr(0, &uart_stdin_saved) == 0) {
        struct termios tio = uart_stdin_saved;
        cfmakeraw(&tio);
        // Keep output processing off too: the board sends \r\n itself.
        tcsetattr(0, TCSANOW, &tio);
        uart_stdin_raw = true;
    }
    return true;
}

void uart_close(void) {
    if (uart_stdin_raw) {
        tcsetattr(0, TCSANOW, &uart_stdin_saved);
        uart_stdin_raw = false;
    }
    if (uart_link != NULL) {
        unlink(uart_link);
        uart_link = NULL;
    }
}

void uart_irq_disable(void) {
    pthread_mutex_lock(&uart_lock);
}

void uart_irq_enable(void) {
    pthread_mutex_unlock(&uart_lock);
}

// The RX "ISR": called with the lock held for every byte off the line.
static void uart_rx_isr(uint8_t c) {
    SIM_STATS_ADD(bytes_in, 1);
    if (c == mp_interrupt_char) {
        mp_sched_keyboard_interrupt();
        uart_event = true;
        return;
    }
    if (uart_ring_count == uart_ring_size) {
        SIM_STATS_ADD(rx_dropped, 1);
        return;
    }
    uart_ring[(uart_ring_head + uart_ring_count) % uart_ring_size] = c;
    uart_ring_count++;
    uart_event = true;
}

static void uart_rx_deliver(const uint8_t *buf, size_t n) {
    pthread_mutex_lock(&uart_lock);
    for (size_t i = 0; i < n; i++) {
        uart_rx_isr(buf[i]);
    }
    if (uart_event) {
        pthread_cond_broadcast(&uart_cond);
    }
    pthread_mutex_unlock(&uart_lock);
}

// With flow control: how many of n bytes the ring can take now.
static size_t uart_rx_room(size_t n) {
    if (!uart_flow) {
        return n;
    }
    pthread_mutex_lock(&uart_lock);
    size_t room = uart_ring_size - uart_ring_count;
    pthread_mutex_unlock(&uart_lock);
    return n < room ? n : room;
}

void uart_set_flow(bool on) {
    uart_flow = on;
}

static void *uart_reader(void *arg) {
    (void)arg;
    // Signals are taken here, so that the MicroPython thread's system calls
    // are never interrupted.
    sigset_t set;
    sigemptyset(&set);
    pthread_sigmask(SIG_SETMASK, &set, NULL);

    static uint8_t buf[UART_READ_MAX];
    size_t len = 0;
    size_t pos = 0;
    uint64_t next_ns = 0;
    for (;;) {
        uart_poll_cb();
        if (pos < len) {
            if (uart_period_ns == 0) {
                size_t n = uart_rx_room(len - pos);
                if (n == 0) {
                    // Flow control: the host's bytes wait on the line until
                    // the board takes a byte (or 10 ms, to poll).
                    uint64_t t = uart_now_ns() + 10000000ull;
                    struct timespec ts = { .tv_sec = t / 1000000000ull, .tv_nsec = t % 1000000000ull };
                    pthread_mutex_lock(&uart_lock);
                    if (uart_ring_count == uart_ring_size) {
                        pthread_cond_timedwait(&uart_room_cond, &uart_lock, &ts);
                    }
                    pthread_mutex_unlock(&uart_lock);
                    continue;
                }
                uart_rx_deliver(buf + pos, n);
                pos += n;
            } else {
                // Deliver the bytes whose time on the line has passed, then
                // sleep until the next one is due.
                uint64_t now = uart_now_ns();
                size_t n = 0;
                size_t room = uart_rx_room(len - pos);
                while (pos + n < len && n < room && next_ns <= now) {
                    n++;
                    next_ns += uart_period_ns;
                }
                if (room == 0 && next_ns <= now) {
                    next_ns = now + uart_period_ns;
                }
                uart_rx_deliver(buf + pos, n);
                pos += n;
                if (pos < len) {
                    uart_sleep_until(next_ns);
                }
            }
            continue;
        }
        struct pollfd p = { .fd = uart_fd_in, .events = POLLIN };
        int r = poll(&p, 1, UART_IDLE_MS);
        if (r <= 0) {
            continue;
        }
        if (uart_is_pty && !(p.revents & POLLIN)) {
            // POLLHUP: no host has the pty open. A board does not care;
            // wait for one to come back.
            uart_sleep_ms(UART_IDLE_MS / 2);
            continue;
        }
        ssize_t n = read(uart_fd_in, buf, uart_period_ns ? UART_READ_PACED : UART_READ_MAX);
        if (n > 0) {
            len = n;
            pos = 0;
            uint64_t now = uart_now_ns();
            if (next_ns < now) {
                next_ns = now;
            }
        } else if (!uart_is_pty && (n == 0 || (errno != EAGAIN && errno != EINTR))) {
            // End of input on stdin: the MicroPython thread exits once it
            // has consumed the ring.
            pthread_mutex_lock(&uart_lock);
            uart_eof = true;
            pthread_cond_broadcast(&uart_cond);
            pthread_mutex_unlock(&uart_lock);
            for (;;) {
                uart_sleep_ms(UART_IDLE_MS);
                uart_poll_cb();
            }
        } else if (n == 0 || errno == EIO) {
            // The host closed the pty between poll and read.
            uart_sleep_ms(UART_IDLE_MS / 2);
        }
    }
    return NULL;
}

bool uart_start(size_t rx_buf, unsigned long baud, void (*poll_cb)(void)) {
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&uart_lock, &ma);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&uart_cond, &ca);
    pthread_cond_init(&uart_room_cond, &ca);

    uart_ring = malloc(rx_buf);
    if (uart_ring == NULL) {
        fprintf(stderr, "sim-board: --rx-buf: out of memory\n");
        return false;
    }
    uart_ring_size = rx_buf;
    uart_period_ns = baud ? 10000000000ull / baud : 0;
    uart_poll_cb = poll_cb;

    // Block the signals on this (the MicroPython) thread; the reader
    // thread unblocks them.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (pthread_create(&uart_thread, NULL, uart_reader, NULL) != 0) {
        fprintf(stderr, "sim-board: cannot start the UART thread\n");
        return false;
    }
    return true;
}

int uart_rx_pop(void) {
    int c = -1;
    pthread_mutex_lock(&uart_lock);
    if (uart_ring_count > 0) {
        if (uart_flow && uart_ring_count == uart_ring_size) {
            pthread_cond_signal(&uart_room_cond);
        }
        c = uart_ring[uart_ring_head];
        uart_ring_head = (uart_ring_head + 1) % uart_ring_size;
        uart_ring_count--;
    }
    pthread_mutex_unlock(&uart_lock);
    return c;
}

size_t uart_rx_any(void) {
    pthread_mutex_lock(&uart_lock);
    size_t n = uart_ring_count;
    pthread_mutex_unlock(&uart_lock);
    return n;
}

bool uart_rx_ended(void) {
    pthread_mutex_lock(&uart_lock);
    bool ended = uart_eof && uart_ring_count == 0;
    pthread_mutex_unlock(&uart_lock);
    return ended;
}

void uart_rx_clear(void) {
    pthread_mutex_lock(&uart_lock);
    uart_ring_head = 0;
    uart_ring_count = 0;
    pthread_cond_signal(&uart_room_cond);
    pthread_mutex_unlock(&uart_lock);
}

void uart_wait_event(int timeout_ms) {
    pthread_mutex_lock(&uart_lock);
    if (!uart_event && uart_ring_count == 0 && !uart_eof) {
        if (timeout_ms < 0) {
            pthread_cond_wait(&uart_cond, &uart_lock);
        } else {
            uint64_t t = uart_now_ns() + (uint64_t)timeout_ms * 1000000ull;
            struct timespec ts = { .tv_sec = t / 1000000000ull, .tv_nsec = t % 1000000000ull };
            pthread_cond_timedwait(&uart_cond, &uart_lock, &ts);
        }
    }
    uart_event = false;
    pthread_mutex_unlock(&uart_lock);
}

// Write all of buf to the line, or give up if no host has the pty open.
static void uart_write(const char *buf, size_t len) {
    while (len > 0) {
        if (uart_is_pty) {
            struct pollfd p = { .fd = uart_fd_out, .events = POLLOUT };
            if (poll(&p, 1, 100) < 0) {
                continue;
            }
            if (p.revents & POLLHUP) {
                // No host: the bytes go nowhere.
                return;
            }
            if (!(p.revents & POLLOUT)) {
                continue;
            }
        }
        ssize_t n = write(uart_fd_out, buf, len);
        if (n > 0) {
            buf += n;
            len -= n;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return;
        }
    }
}

void uart_tx(const char *buf, size_t len) {
    SIM_STATS_ADD(bytes_out, len);
    if (uart_period_ns == 0) {
        uart_write(buf, len);
        return;
    }
    // Send about a millisecond's worth at a time, each chunk when the line
    // is free, and block until the last byte is out, as a UART driver
    // without a deep TX FIFO does.
    size_t chunk = 1000000 / uart_period_ns + 1;
    uint64_t now = uart_now_ns();
    if (uart_tx_next_ns < now) {
        uart_tx_next_ns = now;
    }
    while (len > 0) {
        size_t n = len < chunk ? len : chunk;
        uart_sleep_until(uart_tx_next_ns);
        uart_write(buf, n);
        uart_tx_next_ns += n * uart_period_ns;
        buf += n;
        len -= n;
    }
    uart_sleep_until(uart_tx_next_ns);
}
