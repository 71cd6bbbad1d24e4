// Test driver for firmware/pyexec/pyexec_split.c.
//   split_run FILE          one line per boundary: offset, line, text
//   split_run -q FILE...    one line per file: name, tab, boundary offsets,
//                           and cN for a const definition that starts at N
//   split_run -r SEED SIZE  SIZE random bytes, invariants only
//   split_run -b FILE MB    feed FILE over and over for MB megabytes, print MB/s
// Every mode checks the invariants of split_check.h and aborts on a breach.
// Exit codes: 0 done, 2 bad usage or unreadable file.
#include <errno.h>
#include <string.h>
#include <time.h>

#include "split_check.h"

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "split_run: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    size_t got;
    while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    if (buf == NULL || ferror(f)) {
        fprintf(stderr, "split_run: %s: cannot read\n", path);
        exit(2);
    }
    fclose(f);
    *len = n;
    return buf;
}

typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t line; // line number at offset pos
    size_t pos;
    size_t start; // offset of the current statement
} golden_t;

static void print_const(golden_t *g, bool const_def) {
    if (const_def) {
        printf("const %zu\n", g->start);
    }
}

static void golden_boundary(void *ctx, size_t off, bool const_def) {
    golden_t *g = ctx;
    print_const(g, const_def);
    for (; g->pos < off; g->pos++) {
        uint8_t c = g->buf[g->pos];
        if (c == '\n' || (c == '\r' && (g->pos + 1 == g->len || g->buf[g->pos + 1] != '\n'))) {
            g->line++;
        }
    }
    printf("%zu L%zu: ", off, g->line);
    for (size_t i = off; i < g->len && i < off + 30; i++) {
        uint8_t c = g->buf[i];
        if (c == '\n' || c == '\r') {
            break;
        }
        if (c < 0x20 || c >= 0x7f || c == '\\') {
            printf("\\x%02x", c);
        } else {
            putchar(c);
        }
    }
    putchar('\n');
    g->start = off;
}

static void offset_boundary(void *ctx, size_t off, bool const_def) {
    size_t *start = ctx;
    if (const_def) {
        printf(" c%zu", *start);
    }
    printf(" %zu", off);
    *start = off;
}

// xorshift64*: the same bytes for the same seed on every machine
static uint64_t rng_state;
static uint32_t rng(void) {
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static int usage(void) {
    fprintf(stderr, "usage: split_run FILE | -q FILE... | -r SEED SIZE | -b FILE MB\n");
    return 2;
}

int main(int argc, char **argv) {
    size_t len;
    if (argc == 2 && argv[1][0] != '-') {
        golden_t g = {0};
        g.buf = read_file(argv[1], &len);
        g.len = len;
        g.line = 1;
        bool last_const;
        split_check(g.buf, len, golden_boundary, &g, &last_const);
        print_const(&g, last_const);
        free((void *)g.buf);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "-q") == 0) {
        for (int i = 2; i < argc; i++) {
            uint8_t *buf = read_file(argv[i], &len);
            size_t start = 0;
            bool last_const;
            printf("%s\t", argv[i]);
            split_check(buf, len, offset_boundary, &start, &last_const);
            printf(last_const ? " c%zu\n" : "\n", start);
            free(buf);
        }
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "-r") == 0) {
        // mostly short lines of Python-ish bytes, so that every state is
        // entered and left often (closers outnumber openers so that the depth
        // keeps coming back to 0), and 1 byte in 8 anything at all
        static const char alphabet[] =
            "\n\n\n\n\n\n\r\r  \t\f##\"'\\\\([{)]})]}@@elseeliffinallyexcept=:;,.0_ \x80";
        rng_state = strtoull(argv[2], NULL, 0) * 2 + 1;
        len = strtoul(argv[3], NULL, 0);
        uint8_t *buf = malloc(len ? len : 1);
        if (buf == NULL) {
            return usage();
        }
        for (size_t i = 0; i < len; i++) {
            uint32_t r = rng();
            buf[i] = (r & 7) == 0 ? (uint8_t)(r >> 8) : (uint8_t)alphabet[(r >> 8) % (sizeof(alphabet) - 1)];
        }
        size_t n = split_check(buf, len, NULL, NULL, NULL);
        printf("%zu random bytes, %zu boundaries, invariants held\n", len, n);
        free(buf);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "-b") == 0) {
        uint8_t *buf = read_file(argv[2], &len);
        size_t total = strtoul(argv[3], NULL, 0) * 1000000, fed = 0, boundaries = 0;
        if (len == 0) {
            return usage();
        }
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (fed < total) {
            pyexec_split_t sp;
            pyexec_split_init(&sp);
            for (size_t i = 0; i < len; i++) {
                boundaries += pyexec_split_feed(&sp, buf[i]) != 0;
            }
            fed += len;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("%zu bytes, %zu boundaries, %.3f s, %.1f MB/s, %.2f ns/byte\n",
            fed, boundaries, secs, fed / secs / 1e6, secs * 1e9 / fed);
        free(buf);
        return 0;
    }
    return usage();
}
