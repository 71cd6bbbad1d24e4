// Time and console for MicroPython on the simulated board.

#define _GNU_SOURCE
#include <time.h>

#include "py/runtime.h"
#include "py/mphal.h"
#include "py/stream.h"
#include "main.h"
#include "uart.h"

static uint64_t mphal_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

mp_uint_t mp_hal_ticks_ms(void) {
    return mphal_now_ns() / 1000000;
}

mp_uint_t mp_hal_ticks_us(void) {
    return mphal_now_ns() / 1000;
}

mp_uint_t mp_hal_ticks_cpu(void) {
    return mphal_now_ns();
}

uint64_t mp_hal_time_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void mp_hal_delay_ms(mp_uint_t ms) {
    // Like a board's delay: pending events (Ctrl-C) are handled while waiting.
    uint64_t end = mphal_now_ns() + (uint64_t)ms * 1000000ull;
    for (;;) {
        uint64_t now = mphal_now_ns();
        if (now >= end) {
            break;
        }
        uint64_t left_ms = (end - now + 999999) / 1000000;
        mp_event_wait_ms(left_ms);
    }
}

void mp_hal_delay_us(mp_uint_t us) {
    if (us >= 1000) {
        mp_hal_delay_ms(us / 1000);
        us %= 1000;
    }
    uint64_t end = mphal_now_ns() + (uint64_t)us * 1000ull;
    while (mphal_now_ns() < end) {
    }
}

void sim_board_wait_event(int timeout_ms) {
    uart_wait_event(timeout_ms);
}

int mp_hal_stdin_rx_chr(void) {
    for (;;) {
        int c = uart_rx_pop();
        if (c >= 0) {
            return c;
        }
        if (uart_rx_ended()) {
            board_exit(0);
        }
        mp_event_wait_indefinite();
    }
}

mp_uint_t mp_hal_stdout_tx_strn(const char *str, size_t len) {
    uart_tx(str, len);
    return len;
}

uintptr_t mp_hal_stdio_poll(uintptr_t poll_flags) {
    uintptr_t ret = 0;
    if ((poll_flags & MP_STREAM_POLL_RD) && uart_rx_any()) {
        ret |= MP_STREAM_POLL_RD;
    }
    if (poll_flags & MP_STREAM_POLL_WR) {
        ret |= MP_STREAM_POLL_WR;
    }
    return ret;
}
