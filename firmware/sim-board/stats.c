// Heap statistics without touching MicroPython's sources: the linker wraps
// gc_alloc, gc_realloc and gc_free (-Wl,--wrap=...), so every allocation
// made outside gc.c passes through here. heap_used is the number of bytes
// in allocated GC blocks: it grows by the block size of each allocation,
// shrinks on explicit frees, and is recounted with gc_info() after every
// collection (a sweep frees blocks without calling gc_free). heap_peak is
// its maximum, so it is exact at block granularity.

#include <stdio.h>
#include <unistd.h>

#include "py/gc.h"
#include "py/mpstate.h"
#include "stats.h"

sim_stats_t sim_stats;

void *__real_gc_alloc(size_t n_bytes, unsigned int alloc_flags);
void *__real_gc_realloc(void *ptr, size_t n_bytes, bool allow_move);
void __real_gc_free(void *ptr);

static void stats_heap_grow(size_t n) {
    // Only the MicroPython thread allocates, so no atomics are needed here.
    sim_stats.heap_used += n;
    if (sim_stats.heap_used > sim_stats.heap_peak) {
        sim_stats.heap_peak = sim_stats.heap_used;
    }
}

static void stats_heap_shrink(size_t n) {
    sim_stats.heap_used = n > sim_stats.heap_used ? 0 : sim_stats.heap_used - n;
}

void *__wrap_gc_alloc(size_t n_bytes, unsigned int alloc_flags) {
    void *p = __real_gc_alloc(n_bytes, alloc_flags);
    if (p != NULL) {
        size_t n = gc_nbytes(p);
        stats_heap_grow(n);
        if (n > sim_stats.alloc_max) {
            sim_stats.alloc_max = n;
        }
    }
    return p;
}

void *__wrap_gc_realloc(void *ptr, size_t n_bytes, bool allow_move) {
    size_t old = ptr == NULL ? 0 : gc_nbytes(ptr);
    void *p = __real_gc_realloc(ptr, n_bytes, allow_move);
    if (p == NULL) {
        if (n_bytes == 0) {
            stats_heap_shrink(old);
        }
        return NULL;
    }
    size_t n = gc_nbytes(p);
    if (n >= old) {
        stats_heap_grow(n - old);
    } else {
        stats_heap_shrink(old - n);
    }
    if (n > sim_stats.alloc_max) {
        sim_stats.alloc_max = n;
    }
    return p;
}

void __wrap_gc_free(void *ptr) {
    size_t n = ptr == NULL ? 0 : gc_nbytes(ptr);
    __real_gc_free(ptr);
    stats_heap_shrink(n);
}

void stats_heap_resync(void) {
    gc_info_t info;
    gc_info(&info);
    sim_stats.heap_used = info.used;
    if (info.used > sim_stats.heap_peak) {
        sim_stats.heap_peak = info.used;
    }
}

#define STAT(name) { #name, &sim_stats.name }

int stats_write(const char *path) {
    static const struct {
        const char *name;
        uint64_t *value;
    } fields[] = {
        STAT(heap_total), STAT(heap_peak), STAT(alloc_max), STAT(rx_dropped),
        STAT(bytes_in), STAT(bytes_out), STAT(heap_used), STAT(soft_resets),
        STAT(hard_resets),
    };
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        unsigned long long v = __atomic_load_n(fields[i].value, __ATOMIC_RELAXED);
        fprintf(f, "%s=%llu\n", fields[i].name, v);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}
