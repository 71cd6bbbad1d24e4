#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb.h"

static const char STDIN_FILE[] = "  File \"<stdin>\"";

size_t mpu_tb_line(struct mpu_tb *tb, const char *line, size_t n, char *out, size_t out_len) {
    size_t o;
    const size_t sl = sizeof(STDIN_FILE) - 1;
    int is_stdin = n >= sl && memcmp(line, STDIN_FILE, sl) == 0;
    if (is_stdin && tb->drop_stdin) {
        return (size_t)-1;
    }
    char src[80];
    snprintf(src, sizeof(src), "  File \"%s\"", tb->src_name ? tb->src_name : "<stdin>");
    size_t srcl = strlen(src);
    if (n >= srcl && memcmp(line, src, srcl) == 0 && tb->path && !tb->keep_stdin) {
        o = (size_t)snprintf(out, out_len, "  File \"%s\"%.*s", tb->path, (int)(n - srcl), line + srcl);
    } else {
        o = (size_t)snprintf(out, out_len, "%.*s", (int)n, line);
    }
    if (o >= out_len) {
        o = out_len - 1;
    }
    /* Note the innermost frame of our file, and the exception line after the frames. */
    if (n > 8 && memcmp(line, "  File \"", 8) == 0) {
        const char *ln = strstr(out, "\", line ");
        int is_ours = (tb->path && strncmp(out + 8, tb->path, strlen(tb->path)) == 0
            && out[8 + strlen(tb->path)] == '"') || (!tb->path && strncmp(out + 8, "<stdin>\"", 8) == 0);
        if (ln && is_ours) {
            tb->line = atoi(ln + 8);
        }
        tb->after_file = 1;
        tb->exc_type[0] = 0;
        tb->exc_msg[0] = 0;
    } else if (n > 0 && line[0] != ' ' && strncmp(line, "Traceback (most recent call last):", 34) != 0
        && !tb->exc_type[0]) {
        const char *colon = memchr(line, ':', n);
        size_t tl = colon ? (size_t)(colon - line) : n;
        snprintf(tb->exc_type, sizeof(tb->exc_type), "%.*s", (int)tl, line);
        if (colon) {
            const char *m = colon + 1;
            if (m < line + n && *m == ' ') {
                m++;
            }
            snprintf(tb->exc_msg, sizeof(tb->exc_msg), "%.*s", (int)(line + n - m), m);
        }
        tb->after_file = 0;
    }
    return o;
}
