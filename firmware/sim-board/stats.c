// Heap statistics without touching MicroPython's sources: the linker wraps
// gc_alloc, gc_realloc and gc_free (-Wl,--wrap=...), so every allocation
// made outside gc.c passes through here. heap_used counts the bytes in
// allocated GC blocks: it grows by the block size of each allocation and
// shrinks on explicit frees. A sweep frees blocks without calling gc_free,
// so after a collection heap_used is only an upper bound; it is recounted
// with gc_info() (which walks the whole heap, as costly as the sweep) only
// when that bound would pass heap_peak. heap_peak is thus exact at block
// granularity, at the cost of a recount per new peak, not per collection.

#include <stdio.h>
#include <unistd.h>

#include "py/gc.h"
#include "py/mpstate.h"
#include "stats.h"

sim_stats_t sim_stats;

// heap_used may be above the truth: a collection ran since the last count.
static bool stats_heap_stale;

void *__real_gc_alloc(size_t n_bytes, unsigned int alloc_flags);
void *__real_gc_realloc(void *ptr, size_t n_bytes, bool allow_move);
void __real_gc_free(void *ptr);

static void stats_heap_grow(size_t n) {
    // Only the MicroPython thread allocates, so no atomics are needed here.
    if (stats_heap_stale && sim_stats.heap_used + n > sim_stats.heap_peak) {
        stats_heap_resync();
    }
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
    stats_heap_stale = false;
    if (info.used > sim_stats.heap_peak) {
        sim_stats.heap_peak = info.used;
    }
}

void stats_heap_collected(void) {
    stats_heap_stale = true;
}

#define STAT(name) { #name, &sim_stats.name }

int stats_write(const char *path) {
    static const struct {
        const char *name;
        uint64_t *value;
    } fields[] = {
        STAT(heap_total), STAT(heap_peak), STAT(alloc_max), STAT(rx_dropped),
        STAT(bytes_in), STAT(bytes_out), STAT(soft_resets),
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
