// A C-speed B.5 host for measuring the native device end: puts a file and
// gets it back on a pty, K blocks in flight, no damage handling (any NAK or
// CAN ends the run). Not a product: host/mpupload is the real host.
//
//   filebench PORT LOCAL REMOTE    prints put and get rates in MB/s
//
// Exit status: 0 done (the file came back identical), 1 failure.

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "mpu_proto.h"
#include "sha256.h"

static int fd;

static void die(const char *what) {
    fprintf(stderr, "filebench: %s\n", what);
    exit(1);
}

static void wr(const void *p, size_t n) {
    const uint8_t *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0 && errno != EINTR) {
            die("write failed");
        }
        if (k > 0) {
            b += k;
            n -= k;
        }
    }
}

static void rd(void *p, size_t n) {
    uint8_t *b = p;
    while (n) {
        ssize_t k = read(fd, b, n);
        if (k == 0) {
            die("board silent for 10 s");
        }
        if (k < 0 && errno != EINTR) {
            die("read failed");
        }
        if (k > 0) {
            b += k;
            n -= k;
        }
    }
}

static void rd_until(const char *end) {
    size_t n = strlen(end), got = 0;
    char c;
    while (got < n) {
        rd(&c, 1);
        got = c == end[got] ? got + 1 : (c == end[0] ? 1 : 0);
    }
}

static uint32_t crc_table[256];

static uint32_t crc32(uint32_t crc, const uint8_t *p, size_t n) {
    while (n--) {
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    }
    return crc;
}

// SHA-256 (FIPS 180-4), enough for one whole buffer.
// SHA-256 of the whole file: host/mpupload's implementation.
static void sha256(const uint8_t *p, size_t n, uint8_t out[32]) {
    struct mpu_sha256 h;
    mpu_sha256_init(&h);
    mpu_sha256_update(&h, p, n);
    mpu_sha256_final(&h, out);
}

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = v;
    p[1] = v >> 8;
    p[2] = v >> 16;
    p[3] = v >> 24;
}

static uint32_t get_u32(const uint8_t *p) {
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

// Writes block seq with payload p[0..n).
static void send_block(uint8_t *buf, int type, unsigned seq, const uint8_t *p, size_t n) {
    buf[0] = MPU_PROTO_BLK_SYNC;
    buf[1] = type;
    buf[2] = seq;
    buf[3] = n;
    buf[4] = n >> 8;
    memcpy(buf + 5, p, n);
    put_u32(buf + 5 + n, crc32(MPU_PROTO_CRC32_INIT, buf + 1, n + 4) ^ MPU_PROTO_CRC32_XOROUT);
    wr(buf, n + 9);
}

static void reply(int want, unsigned seq) {
    uint8_t r[2];
    rd(r, 2);
    if (r[0] != want || r[1] != (seq & 0xff)) {
        fprintf(stderr, "filebench: reply %02x %02x, wanted %02x %02x\n", r[0], r[1], want, seq & 0xff);
        exit(1);
    }
}

// \x05F\x01: returns B, sets *k.
static unsigned start(unsigned *k) {
    wr("\x05" "F\x01", 3);
    uint8_t r[5];
    rd(r, 5);
    if (r[0] != 'R' || r[1] != 1) {
        die("the board refuses F");
    }
    *k = r[4];
    return r[2] | r[3] << 8;
}

static void request(uint8_t *buf, int op, uint32_t n, const char *path) {
    uint8_t req[6 + 256];
    size_t pl = strlen(path);
    req[0] = op;
    req[1] = 0;
    put_u32(req + 2, n);
    memcpy(req + 6, path, pl);
    send_block(buf, 'D', 0, req, 6 + pl);
    reply(MPU_PROTO_BLK_ACK, 0);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: filebench PORT LOCAL REMOTE\n");
        return 1;
    }
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ (MPU_PROTO_CRC32_POLY & (0u - (c & 1)));
        }
        crc_table[i] = c;
    }
    FILE *f = fopen(argv[2], "rb");
    if (!f) {
        die("cannot open LOCAL");
    }
    fseek(f, 0, SEEK_END);
    size_t size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc(size + 1), *back = malloc(size + 1);
    if (!data || !back || fread(data, 1, size, f) != size) {
        die("cannot read LOCAL");
    }
    fclose(f);
    fd = open(argv[1], O_RDWR | O_NOCTTY);
    if (fd < 0) {
        die("cannot open PORT");
    }
    struct termios t;
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        t.c_cc[VMIN] = 0;
        t.c_cc[VTIME] = 100;
        tcsetattr(fd, TCSANOW, &t);
    }
    wr("\r\x03", 2);
    usleep(100000);
    tcflush(fd, TCIFLUSH);
    wr("\r\x01", 2);
    rd_until("raw REPL; CTRL-B to exit\r\n>");
    uint8_t sha[32], rec[37];
    sha256(data, size, sha);
    uint8_t *buf = malloc(65536 + 9);

    // Put: request, reply record, start offset 0, data, E.
    double t0 = now();
    unsigned k, b = start(&k);
    request(buf, 'P', size, argv[3]);
    rd(rec, 37);
    uint8_t zero[4] = { 0 };
    size_t nblk = (size + b - 1) / b + 2; // start block, data, E
    size_t sent = 0, acked = 0;
    while (acked < nblk) {
        while (sent < nblk && sent - acked < k) {
            if (sent == 0) {
                send_block(buf, 'D', 1, zero, 4);
            } else if (sent + 1 < nblk) {
                size_t at = (sent - 1) * b, n = size - at < b ? size - at : b;
                send_block(buf, 'D', sent + 1, data + at, n);
            } else {
                send_block(buf, 'E', sent + 1, sha, 32);
            }
            sent++;
        }
        reply(MPU_PROTO_BLK_ACK, acked + 1);
        acked++;
    }
    rd_until(">");
    double t1 = now();

    // Get: request, reply record, D blocks, E.
    start(&k);
    request(buf, 'G', 0, argv[3]);
    rd(rec, 37);
    if (rec[0] != 'G' || get_u32(rec + 1) != size || memcmp(rec + 5, sha, 32) != 0) {
        die("get: the reply record does not match the file");
    }
    size_t got = 0;
    for (unsigned seq = 1;; seq++) {
        uint8_t h[5];
        rd(h, 5);
        size_t n = h[3] | h[4] << 8;
        if (h[0] != MPU_PROTO_BLK_SYNC || h[2] != (seq & 0xff) || got + n > size) {
            die("get: bad block");
        }
        rd(back + got, n);
        uint8_t c[4];
        rd(c, 4);
        uint32_t crc = crc32(crc32(MPU_PROTO_CRC32_INIT, h + 1, 4), back + got, n) ^ MPU_PROTO_CRC32_XOROUT;
        if (crc != get_u32(c)) {
            die("get: bad CRC");
        }
        uint8_t ack[2] = { MPU_PROTO_BLK_ACK, seq };
        wr(ack, 2);
        got += n;
        if (h[1] == 'E') {
            break;
        }
    }
    rd_until(">");
    double t2 = now();
    if (got != size || memcmp(back, data, size) != 0) {
        die("get: the file came back different");
    }
    printf("put %zu bytes: %.2f MB/s; get: %.2f MB/s\n", size, size / (t1 - t0) / 1e6, size / (t2 - t1) / 1e6);
    return 0;
}
