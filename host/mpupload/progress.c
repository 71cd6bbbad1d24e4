#include <unistd.h>

#include "progress.h"
#include "session.h"

void mpu_progress_start(struct mpu_progress *p, size_t total) {
    p->start = mpu_now_ms();
    p->last = 0;
    p->sent = 0;
    p->total = total;
}

static void human(char *buf, size_t n, double bytes) {
    if (bytes >= 1e6) {
        snprintf(buf, n, "%.1f MB", bytes / 1e6);
    } else if (bytes >= 1e3) {
        snprintf(buf, n, "%.1f KB", bytes / 1e3);
    } else {
        snprintf(buf, n, "%.0f B", bytes);
    }
}

void mpu_progress_update(struct mpu_progress *p, size_t sent, size_t total) {
    if (p->mode == 0) {
        return;
    }
    int64_t now = mpu_now_ms();
    if (p->start == 0 || sent < p->sent) {
        mpu_progress_start(p, total);
    }
    p->sent = sent;
    p->total = total;
    int64_t el = now - p->start;
    int done = sent >= total;
    double secs = el / 1000.0;
    double rate = secs > 0 ? sent / secs : 0;
    if (p->json) {
        if (!done && now - p->last < 250) {
            return;
        }
        p->last = now;
        fprintf(p->json, "{\"event\":\"progress\",\"sent\":%zu,\"total\":%zu,\"elapsed\":%.3f,"
            "\"rate\":%.0f}\n", sent, total, secs, rate);
        fflush(p->json);
        return;
    }
    if (p->mode < 0 && (el < 500 || !isatty(2))) {
        return;
    }
    if (!done && now - p->last < 100) {
        return;
    }
    p->last = now;
    int pct = total ? (int)(sent * 100 / total) : 100;
    char bar[31], r[32];
    int fill = pct * 30 / 100;
    for (int i = 0; i < 30; i++) {
        bar[i] = i < fill ? '#' : '.';
    }
    bar[30] = 0;
    human(r, sizeof(r), rate);
    long eta = rate > 0 ? (long)((total - sent) / rate + 0.5) : 0;
    fprintf(stderr, "\r%3d%% [%s] %s/s ETA %ld:%02ld ", pct, bar, r, eta / 60, eta % 60);
    fflush(stderr);
    p->shown = 1;
}

void mpu_progress_clear(struct mpu_progress *p) {
    if (p->shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->shown = 0;
    }
}
