/* Drives host/mpupload's engine with byte scripts (tests/mpupload/scripts/NAME.bs):
 * a fake board replays what the script says it answers, checks every byte the
 * engine sends, and a fake clock jumps to the engine's deadline whenever the
 * engine waits for a board that has nothing to say. See scripts/README. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "err.h"

enum ev_kind { EV_CLIENT, EV_BOARD, EV_FOREVER, EV_STALL, EV_HANGUP, EV_INTR };

struct ev {
    enum ev_kind kind;
    uint8_t *data;
    size_t len;
    size_t pos;  /* board bytes already read */
    size_t cend; /* client stream offset where a client event ends */
};

struct buf {
    uint8_t *p;
    size_t n, cap;
};

struct fake {
    struct ev ev[4096];
    size_t nev, cur;
    struct buf client; /* the whole expected client stream */
    size_t cpos;
    int64_t now;
    char failure[600];
    struct buf out, err;
};

static const char *file;
static int line_no;

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s:%d: ", file, line_no);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static void add(struct buf *b, const void *p, size_t n) {
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p) {
            die("out of memory");
        }
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = 0;
}

/* Parse a "C-escaped" string starting at s (pointing at the quote); returns the rest. */
static char *parse_str(char *s, struct buf *b) {
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (*s != '"') {
        die("expected a quoted string");
    }
    s++;
    while (*s && *s != '"') {
        uint8_t c = (uint8_t)*s++;
        if (c == '\\') {
            c = (uint8_t)*s++;
            switch (c) {
            case 'r': c = '\r'; break;
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case '0': c = 0; break;
            case 'x': {
                char hex[3] = { s[0], s[1], 0 };
                char *end;
                c = (uint8_t)strtoul(hex, &end, 16);
                if (end != hex + 2) {
                    die("bad \\x escape");
                }
                s += 2;
                break;
            }
            case '\\': case '"': break;
            default: die("unknown escape \\%c", c);
            }
        }
        add(b, &c, 1);
    }
    if (*s != '"') {
        die("unterminated string");
    }
    return s + 1;
}

/* CRC-32 (zlib's), written independently of the engine's. */
static uint32_t crc32_ref(const uint8_t *p, size_t n) {
    static uint32_t table[256];
    if (!table[1]) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) {
                c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            }
            table[i] = c;
        }
    }
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    }
    return c ^ 0xffffffffu;
}

static struct fake F;
static struct buf code, want_out, want_err, detail_sub, want_caps;
static int have_caps;
static int want_rc = 0, have_stdout = 0, have_stderr = 0;
static long elapsed_min = -1;
static char want_mode[32];
static char ops[256];

static struct ev *new_ev(enum ev_kind k) {
    if (F.nev == sizeof(F.ev) / sizeof(F.ev[0])) {
        die("too many events");
    }
    struct ev *e = &F.ev[F.nev++];
    memset(e, 0, sizeof(*e));
    e->kind = k;
    return e;
}

static void parse(const char *path, struct mpu_engine_opts *o) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        exit(2);
    }
    char line[65536];
    file = path;
    line_no = 0;
    while (fgets(line, sizeof(line), f)) {
        line_no++;
        line[strcspn(line, "\n")] = 0;
        char *s = line;
        while (*s == ' ') {
            s++;
        }
        if (*s == '#' || *s == 0) {
            continue;
        }
        char kw[32];
        int n = 0;
        if (sscanf(s, "%31s%n", kw, &n) != 1) {
            continue;
        }
        char *rest = s + n;
        while (*rest == ' ') {
            rest++;
        }
        struct buf b = { 0 };
        int kept = 0;
        if (!strcmp(kw, "client") || !strcmp(kw, "board") || !strcmp(kw, "board-forever")) {
            parse_str(rest, &b);
            struct ev *e = new_ev(!strcmp(kw, "client") ? EV_CLIENT : !strcmp(kw, "board") ? EV_BOARD : EV_FOREVER);
            e->data = b.p;
            e->len = b.n;
            kept = 1;
            if (e->kind == EV_CLIENT) {
                add(&F.client, b.p, b.n);
                e->cend = F.client.n;
            }
        } else if (!strcmp(kw, "client-code")) {
            size_t off, len;
            char lens[32];
            if (sscanf(rest, "%zu %31s", &off, lens) != 2) {
                die("client-code OFFSET LENGTH|rest");
            }
            len = !strcmp(lens, "rest") ? code.n - off : strtoul(lens, NULL, 10);
            if (off + len > code.n) {
                die("client-code beyond the code");
            }
            struct ev *e = new_ev(EV_CLIENT);
            add(&F.client, code.p + off, len);
            e->cend = F.client.n;
        } else if (!strcmp(kw, "client-block")) {
            /* client-block D SEQ OFF LEN (a slice of the code) or client-block E SEQ LEN. */
            char type;
            unsigned seq;
            size_t off = 0, len = 0;
            uint8_t blk[70000];
            if (sscanf(rest, "%c %u %zu %zu", &type, &seq, &off, &len) < 3) {
                die("client-block TYPE SEQ [OFF] LEN");
            }
            const uint8_t *payload = code.p + off;
            uint8_t le[4];
            if (type == 'E') {
                len = off;
                le[0] = (uint8_t)len;
                le[1] = (uint8_t)(len >> 8);
                le[2] = (uint8_t)(len >> 16);
                le[3] = (uint8_t)(len >> 24);
                payload = le;
                len = 4;
            } else if (off + len > code.n) {
                die("client-block beyond the code");
            }
            blk[0] = 0xa5;
            blk[1] = (uint8_t)type;
            blk[2] = (uint8_t)seq;
            blk[3] = (uint8_t)len;
            blk[4] = (uint8_t)(len >> 8);
            memcpy(blk + 5, payload, len);
            uint32_t crc = crc32_ref(blk + 1, 4 + len);
            for (int k = 0; k < 4; k++) {
                blk[5 + len + k] = (uint8_t)(crc >> (8 * k));
            }
            struct ev *e = new_ev(EV_CLIENT);
            add(&F.client, blk, len + 9);
            e->cend = F.client.n;
        } else if (!strcmp(kw, "caps")) {
            parse_str(rest, &want_caps);
            have_caps = 1;
        } else if (!strcmp(kw, "stall")) {
            new_ev(EV_STALL);
        } else if (!strcmp(kw, "hangup")) {
            new_ev(EV_HANGUP);
        } else if (!strcmp(kw, "interrupt")) {
            new_ev(EV_INTR);
        } else if (!strcmp(kw, "code")) {
            parse_str(rest, &code);
        } else if (!strcmp(kw, "code-repeat")) {
            char *r2 = parse_str(rest, &b);
            long times = strtol(r2, NULL, 10);
            for (long i = 0; i < times; i++) {
                add(&code, b.p, b.n);
            }
        } else if (!strcmp(kw, "run")) {
            snprintf(ops, sizeof(ops), "%s", rest);
        } else if (!strcmp(kw, "rc")) {
            want_rc = mpu_errcode(rest);
            if (want_rc == 1) {
                die("unknown error name %s", rest);
            }
        } else if (!strcmp(kw, "stdout")) {
            parse_str(rest, &want_out);
            have_stdout = 1;
        } else if (!strcmp(kw, "stderr")) {
            parse_str(rest, &want_err);
            have_stderr = 1;
        } else if (!strcmp(kw, "detail")) {
            parse_str(rest, &detail_sub);
        } else if (!strcmp(kw, "mode")) {
            snprintf(want_mode, sizeof(want_mode), "%s", rest);
        } else if (!strcmp(kw, "elapsed-min")) {
            elapsed_min = strtol(rest, NULL, 10);
        } else if (!strcmp(kw, "opt")) {
            char name[32];
            int v;
            if (sscanf(rest, "%31s %d", name, &v) != 2) {
                die("opt NAME VALUE");
            }
#define OPT(x) else if (!strcmp(name, #x)) o->x = v
            if (0) {
            }
            OPT(answer_ms); OPT(quiet_ms); OPT(busy_ms); OPT(window_ms); OPT(raw_chunk);
            OPT(raw_pause_ms); OPT(baud); OPT(run_ms); OPT(no_raw_paste); OPT(raw_direct_max); OPT(enter_tries);
            else {
                die("unknown opt %s", name);
            }
        } else {
            die("unknown keyword %s", kw);
        }
        if (!kept) {
            free(b.p);
        }
    }
    fclose(f);
}

static void failf(const char *fmt, ...) {
    if (F.failure[0]) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(F.failure, sizeof(F.failure), fmt, ap);
    va_end(ap);
}

static int64_t fk_now(void *ctx) {
    (void)ctx;
    return F.now;
}

/* No more board bytes until the client sends more, or ever: time passes. */
static int wait_until(int64_t deadline) {
    if (deadline < 0) {
        failf("deadlock: the engine waits forever while the board waits (event %zu)", F.cur);
        return MPU_ERR_LINK;
    }
    if (deadline > F.now) {
        F.now = deadline;
    }
    return 0;
}

static int fk_read(void *ctx, uint8_t *buf, size_t n, int64_t deadline, int flags) {
    (void)ctx;
    (void)flags;
    if (F.failure[0]) {
        return MPU_ERR_LINK;
    }
    for (;;) {
        if (F.cur == F.nev) {
            return wait_until(deadline);
        }
        struct ev *e = &F.ev[F.cur];
        switch (e->kind) {
        case EV_CLIENT:
            if (F.cpos >= e->cend) {
                F.cur++;
                continue;
            }
            return wait_until(deadline);
        case EV_BOARD: {
            if (e->pos == e->len) {
                F.cur++;
                continue;
            }
            size_t k = e->len - e->pos < n ? e->len - e->pos : n;
            memcpy(buf, e->data + e->pos, k);
            e->pos += k;
            return (int)k;
        }
        case EV_FOREVER: {
            size_t k = e->len < n ? e->len : n;
            memcpy(buf, e->data, k);
            F.now += 10;
            return (int)k;
        }
        case EV_STALL:
            return wait_until(deadline);
        case EV_HANGUP:
            return MPU_ERR_LINK;
        case EV_INTR:
            F.cur++;
            return MPU_ERR_INTR;
        }
    }
}

static int fk_write(void *ctx, const uint8_t *buf, size_t n) {
    (void)ctx;
    if (F.failure[0]) {
        return MPU_ERR_LINK;
    }
    char a[200], b[200];
    for (size_t i = 0; i < n; i++) {
        if (F.cpos + i >= F.client.n) {
            failf("client sent %zu bytes more than expected, from offset %zu: \"%s\"",
                n - i, F.cpos + i, mpu_escape(buf + i, n - i < 40 ? n - i : 40, a, sizeof(a)));
            return MPU_ERR_LINK;
        }
        if (F.client.p[F.cpos + i] != buf[i]) {
            size_t from = i >= 8 ? i - 8 : 0;
            size_t k = n - from < 24 ? n - from : 24;
            size_t want = F.client.n - (F.cpos + from) < 24 ? F.client.n - (F.cpos + from) : 24;
            failf("client byte %zu differs: sent \"%s\", expected \"%s\"", F.cpos + i,
                mpu_escape(buf + from, k, a, sizeof(a)),
                mpu_escape(F.client.p + F.cpos + from, want, b, sizeof(b)));
            return MPU_ERR_LINK;
        }
    }
    F.cpos += n;
    return MPU_OK;
}

static void on_out(void *ctx, const uint8_t *b, size_t n) {
    (void)ctx;
    add(&F.out, b, n);
}

static void on_err(void *ctx, const uint8_t *b, size_t n) {
    (void)ctx;
    add(&F.err, b, n);
}

static int run_script(const char *path) {
    struct mpu_engine e;
    struct mpu_io io = { NULL, fk_read, fk_write, fk_now };
    struct mpu_sink sink = { NULL, on_out, on_err, NULL, NULL };
    /* Defaults, then the script's opts. */
    mpu_engine_init(&e, &io, &sink, NULL);
    struct mpu_engine_opts o = e.o;
    parse(path, &o);
    mpu_engine_init(&e, &io, &sink, &o);
    F.now = 1000;
    add(&F.out, "", 0);
    add(&F.err, "", 0);
    add(&code, "", 0);
    add(&want_out, "", 0);
    add(&want_err, "", 0);
    add(&want_caps, "", 0);

    int rc = MPU_OK;
    char *save = NULL;
    for (char *op = strtok_r(ops, " ", &save); op; op = strtok_r(NULL, " ", &save)) {
        if (!strcmp(op, "enter")) {
            rc = mpu_engine_enter(&e, 0);
        } else if (!strcmp(op, "enter-soft")) {
            rc = mpu_engine_enter(&e, 1);
        } else if (!strcmp(op, "exec")) {
            rc = mpu_engine_exec(&e, code.p, code.n);
        } else if (!strcmp(op, "caps")) {
            uint8_t rec[16];
            rc = mpu_engine_caps(&e, rec, sizeof(rec));
            if (rc >= 0) {
                char a[100], b[100];
                size_t k = rc > 16 ? 16 : (size_t)rc;
                if (have_caps && (k != want_caps.n || memcmp(rec, want_caps.p, k))) {
                    failf("caps \"%s\", expected \"%s\"", mpu_escape(rec, k, a, sizeof(a)),
                        mpu_escape(want_caps.p, want_caps.n, b, sizeof(b)));
                }
                rc = MPU_OK;
            }
        } else if (!strcmp(op, "exec-stream")) {
            rc = mpu_engine_exec_stream(&e, code.p, code.n);
        } else if (!strcmp(op, "exec-checked")) {
            rc = mpu_engine_exec_checked(&e, code.p, code.n);
        } else if (!strcmp(op, "exec-mpy")) {
            rc = mpu_engine_exec_mpy(&e, code.p, code.n);
        } else if (!strcmp(op, "soft-reset")) {
            rc = mpu_engine_soft_reset(&e);
        } else if (!strcmp(op, "leave")) {
            rc = mpu_engine_leave(&e);
        } else {
            fprintf(stderr, "%s: unknown op %s\n", path, op);
            return 2;
        }
        if (rc != MPU_OK) {
            break;
        }
    }
    char a[400], b[400];
    if (!F.failure[0] && rc != want_rc) {
        failf("result %s, expected %s (detail: %s)", mpu_errname(rc), mpu_errname(want_rc), e.detail);
    }
    if (!F.failure[0] && F.cpos != F.client.n) {
        failf("client sent %zu of the %zu expected bytes; missing \"%s\"", F.cpos, F.client.n,
            mpu_escape(F.client.p + F.cpos, F.client.n - F.cpos < 60 ? F.client.n - F.cpos : 60, a, sizeof(a)));
    }
    if (!F.failure[0] && have_stdout && (F.out.n != want_out.n || memcmp(F.out.p, want_out.p, F.out.n))) {
        failf("stdout \"%s\", expected \"%s\"", mpu_escape(F.out.p, F.out.n, a, sizeof(a)),
            mpu_escape(want_out.p, want_out.n, b, sizeof(b)));
    }
    if (!F.failure[0] && have_stderr && (F.err.n != want_err.n || memcmp(F.err.p, want_err.p, F.err.n))) {
        failf("stderr \"%s\", expected \"%s\"", mpu_escape(F.err.p, F.err.n, a, sizeof(a)),
            mpu_escape(want_err.p, want_err.n, b, sizeof(b)));
    }
    if (!F.failure[0] && detail_sub.n && !strstr(e.detail, (char *)detail_sub.p)) {
        failf("detail \"%s\" does not contain \"%s\"", e.detail, detail_sub.p);
    }
    static const char *modes[] = { "none", "raw-paste", "raw", "stream", "mpy-stream", "raw-loader",
        "stream-checked" };
    if (!F.failure[0] && want_mode[0] && strcmp(want_mode, modes[e.mode])) {
        failf("mode %s, expected %s", modes[e.mode], want_mode);
    }
    if (!F.failure[0] && elapsed_min >= 0 && F.now - 1000 < elapsed_min) {
        failf("fake clock advanced %lld ms, expected at least %ld", (long long)(F.now - 1000), elapsed_min);
    }
    if (F.failure[0]) {
        printf("FAIL %s: %s\n", path, F.failure);
        return 1;
    }
    printf("ok %s (%s%s%s)\n", path, mpu_errname(rc), e.detail[0] ? ": " : "", e.detail);
    return 0;
}

int main(int argc, char **argv) {
    /* Both CRC-32s against the standard check value first. */
    if (crc32_ref((const uint8_t *)"123456789", 9) != 0xcbf43926u
        || mpu_crc32(0, (const uint8_t *)"123456789", 9) != 0xcbf43926u) {
        printf("FAIL: CRC-32 check value\n");
        return 1;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s SCRIPT.bs\n", argv[0]);
        return 2;
    }
    return run_script(argv[1]);
}
