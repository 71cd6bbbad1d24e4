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
static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64], a[8];
    for (int i = 0; i < 16; i++) {
        w[i] = (uint32_t)p[4 * i] << 24 | p[4 * i + 1] << 16 | p[4 * i + 2] << 8 | p[4 * i + 3];
    }
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(a, h, sizeof(a));
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = a[7] + (ROR(a[4], 6) ^ ROR(a[4], 11) ^ ROR(a[4], 25)) + ((a[4] & a[5]) ^ (~a[4] & a[6])) + K256[i] + w[i];
        uint32_t t2 = (ROR(a[0], 2) ^ ROR(a[0], 13) ^ ROR(a[0], 22)) + ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]));
        memmove(a + 1, a, 7 * sizeof(uint32_t));
        a[4] += t1;
        a[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++) {
        h[i] += a[i];
    }
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[32]) {
    uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        sha_block(h, p + i);
    }
    uint8_t t[128] = { 0 };
    size_t r = n - i;
    memcpy(t, p + i, r);
    t[r] = 0x80;
    size_t tl = r + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int k = 0; k < 8; k++) {
        t[tl - 1 - k] = bits >> (8 * k);
    }
    sha_block(h, t);
    if (tl == 128) {
        sha_block(h, t + 64);
    }
    for (int k = 0; k < 8; k++) {
        out[4 * k] = h[k] >> 24;
        out[4 * k + 1] = h[k] >> 16;
        out[4 * k + 2] = h[k] >> 8;
        out[4 * k + 3] = h[k];
    }
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
