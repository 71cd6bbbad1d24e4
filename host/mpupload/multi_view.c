/* mpupload multi: what the children's lines become: live status lines on a
 * terminal, program output prefixed with its board, --json events with
 * "port", the summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "json.h"
#include "multi_int.h"
#include "multi_json.h"
#include "session.h"

int mu_lb_add(struct mu_linebuf *l, const char *p, size_t n) {
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

/* ------------------------------------------------------------------ view */

static int term_cols(void) {
    struct winsize ws;
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) {
        return ws.ws_col;
    }
    return 80;
}

int mu_term_rows(void) {
    struct winsize ws;
    if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) {
        return ws.ws_row;
    }
    return 24;
}

/* What went wrong, for a line and the summary ("" when it went well). */
static const char *board_detail(const struct mu_board *b) {
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

static size_t board_bytes(const struct mu_board *b) {
    return b->sent ? b->sent : b->result_bytes;
}

static void status_line(const struct mu_multi *m, const struct mu_board *b, char *line, size_t n) {
    int64_t now = b->exited ? b->t1 : mpu_now_ms();
    double secs = (now - b->t0) / 1000.0;
    if (mu_board_done(b)) {
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
void mu_view_erase(struct mu_multi *m) {
    if (m->view == MU_VIEW_TTY && m->drawn) {
        fprintf(stderr, "\r\033[%dA\033[J", m->drawn);
        fflush(stderr);
        m->drawn = 0;
        m->dirty = 1;
    }
}

void mu_view_draw(struct mu_multi *m, int force) {
    int64_t now = mpu_now_ms();
    if (m->view != MU_VIEW_TTY || (!force && (!m->dirty || now - m->last_draw < 100))) {
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
static void out_text(struct mu_multi *m, struct mu_board *b, int s, const char *p, size_t n, int flush) {
    if (m->json) {
        return;
    }
    struct mu_linebuf *l = &b->pend[s];
    if (mu_lb_add(l, p, n)) {
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
        mu_view_erase(m);
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
static void forward(const struct mu_board *b, const char *line, const struct mu_js_member *mm, int n) {
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
static void forward_text(const struct mu_board *b, const char *p, size_t n) {
    fputs("{\"event\":\"output\",\"port\":", stdout);
    mpu_json_cstr(stdout, b->name);
    fputs(",\"stream\":\"stdout\",\"data\":", stdout);
    mpu_json_str(stdout, p, n);
    fputs("}\n", stdout);
    fflush(stdout);
}

static void on_event(struct mu_multi *m, struct mu_board *b, const char *line, size_t len,
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
            struct mu_linebuf t = { 0 };
            mu_lb_add(&t, mm[i].k + 1, mm[i].k_end - mm[i].k - 2);
            mu_lb_add(&t, ": ", 2);
            mu_lb_add(&t, k >= 0 ? v : mm[i].v, k >= 0 ? (size_t)k : (size_t)(mm[i].v_end - mm[i].v));
            mu_lb_add(&t, "\n", 1);
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
void mu_on_stdout_line(struct mu_multi *m, struct mu_board *b, const char *line, size_t len) {
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
            mu_on_stdout_line(m, b, line, e - line);
            mu_on_stdout_line(m, b, e, line + len - e);
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

void mu_on_stderr_line(struct mu_board *b, const char *line, size_t len) {
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
void mu_finish_board(struct mu_multi *m, struct mu_board *b) {
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
    if (m->view == MU_VIEW_PLAIN && (b->have_result || b->code != MU_USAGE)) {
        char line[512];
        status_line(m, b, line, sizeof(line));
        fprintf(stderr, "%s\n", line);
        fflush(stderr);
    }
}

void mu_summary(struct mu_multi *m, int rc, int same_usage, int sig) {
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
            const struct mu_board *b = &m->b[i];
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
            const struct mu_board *b = &m->b[i];
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
