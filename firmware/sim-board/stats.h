// Counters of the simulated board, written as key=value lines by --stats.
#ifndef MICROPY_INCLUDED_SIM_BOARD_STATS_H
#define MICROPY_INCLUDED_SIM_BOARD_STATS_H

#include <stddef.h>
#include <stdint.h>

typedef struct _sim_stats_t {
    uint64_t heap_total;    // bytes given to the GC (all regions)
    uint64_t heap_used;     // GC bytes in use, or more after a collection (stats.c)
    uint64_t heap_peak;     // highest heap_used seen
    uint64_t alloc_max;     // largest single GC block allocated, in bytes
    uint64_t bytes_in;      // bytes that arrived on the RX line, dropped ones too
    uint64_t rx_dropped;    // bytes lost because the RX ring was full
    uint64_t bytes_out;     // bytes sent on the TX line
    uint64_t soft_resets;
    uint64_t hard_resets;
} sim_stats_t;

// Updated by both threads with __atomic builtins.
extern sim_stats_t sim_stats;

#define SIM_STATS_ADD(field, n) __atomic_fetch_add(&sim_stats.field, (n), __ATOMIC_RELAXED)

// Recount heap_used from the GC's own tables (walks the whole heap).
void stats_heap_resync(void);

// Note that a collection (or a sweep) freed an unknown number of blocks.
void stats_heap_collected(void);

// Write all counters to path (atomically, via a temporary file); 0 on success.
int stats_write(const char *path);

#endif // MICROPY_INCLUDED_SIM_BOARD_STATS_H
